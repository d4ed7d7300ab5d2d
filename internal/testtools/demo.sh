#!/usr/bin/env bash
# make demo: a GroupVPN of three routers in network namespaces on this
# machine. r1 and r3 are on the simulated internet; r2 sits behind a NAT
# (Linux MASQUERADE) and dials out to both. Each router has a LAN bridge
# with one LAN host (h1, h2, h3) in the shared subnet 10.77.0.0/16. r1
# creates the group and issues bundles for r2 and r3; all three run ipopd;
# the LAN hosts then reach each other through the overlay.
#
# Safety: every namespace and veth is this script's own (unique names, veths
# created in the root namespace and renamed only inside their namespace);
# nothing of the host is touched; everything is removed on exit.
set -euo pipefail
BIN=$(readlink -f "${1:-bin/ipopd}")
[ "$(id -u)" = 0 ] || { echo "make demo needs root (network namespaces)"; exit 1; }
command -v ip >/dev/null || { echo "make demo needs iproute2"; exit 1; }
command -v nft >/dev/null || command -v iptables >/dev/null || { echo "make demo needs nftables or iptables"; exit 1; }

P="ipd$$"             # prefix for namespaces and veths
WORK=$(mktemp -d /tmp/ipopd-demo.XXXXXX)
NS=()
PIDS=()

cleanup() {
	set +e
	# Stop the daemons (SIGTERM: they say goodbye and remove their TAP),
	# then anything else still running in the demo's namespaces.
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	for n in "${NS[@]}"; do
		pids=$(ip netns pids "$n" 2>/dev/null)
		[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
	done
	for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$WORK"
	echo "demo: cleaned up (namespaces, daemons, $WORK)"
}
trap cleanup EXIT INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
ns() { local n="$P-$1"; ip netns add "$n"; NS+=("$n"); ip -n "$n" link set lo up; }
x() { local n="$P-$1"; shift; ip netns exec "$n" "$@"; }
n=0
# link A IFA B IFB: a veth pair made in the root namespace under unique
# names, moved at once, renamed only inside the target namespaces.
link() {
	n=$((n + 1))
	local a="${P}a$n" b="${P}b$n"
	ip link add "$a" type veth peer name "$b"
	ip link set "$a" netns "$P-$1"
	ip link set "$b" netns "$P-$3"
	x "$1" ip link set "$a" name "$2"
	x "$3" ip link set "$b" name "$4"
	x "$1" ip link set "$2" up
	x "$3" ip link set "$4" up
}

say "building the lab: internet, a NAT, three routers, three LAN hosts"
ns inet
x inet ip link add br-inet type bridge
x inet ip link set br-inet up
site() { # site N WANNS
	ns "r$1"; ns "h$1"
	x "r$1" sysctl -qw net.ipv4.ip_forward=1
	link "h$1" eth0 "r$1" lan0
	x "r$1" ip link add br-lan type bridge
	x "r$1" ip link set lan0 master br-lan
	x "r$1" ip link set br-lan up
	x "h$1" ip addr add "10.77.$1.10/16" dev eth0
}
site 1; site 2; site 3
link r1 wan0 inet p1; x inet ip link set p1 master br-inet; x r1 ip addr add 172.31.0.1/24 dev wan0
link r3 wan0 inet p3; x inet ip link set p3 master br-inet; x r3 ip addr add 172.31.0.3/24 dev wan0
# r2 behind a NAT box: home network 192.168.50.0/24, NAT's public side 172.31.0.2.
ns nat2
x nat2 sysctl -qw net.ipv4.ip_forward=1
link nat2 wan0 inet p2; x inet ip link set p2 master br-inet; x nat2 ip addr add 172.31.0.2/24 dev wan0
link r2 wan0 nat2 lan0
x nat2 ip addr add 192.168.50.1/24 dev lan0
x r2 ip addr add 192.168.50.2/24 dev wan0
x r2 ip route add default via 192.168.50.1
if command -v nft >/dev/null; then
	x nat2 nft add table ip nat
	x nat2 nft add chain ip nat post '{ type nat hook postrouting priority 100; }'
	x nat2 nft add rule ip nat post oifname wan0 masquerade
else
	x nat2 iptables -t nat -A POSTROUTING -o wan0 -j MASQUERADE
fi

say "r1 creates the group 'demo' and issues bundles for r2 and r3"
for i in 1 2 3; do mkdir -p "$WORK/r$i"; done
x r1 "$BIN" group create --name demo --subnet 10.77.0.0/16 --node-name r1 --state "$WORK/r1/state"
for i in 2 3; do
	x r1 "$BIN" group issue --name "r$i" --out "$WORK/r$i.bundle" --state "$WORK/r1/state"
	x "r$i" "$BIN" group install "$WORK/r$i.bundle" --state "$WORK/r$i/state"
	rm -f "$WORK/r$i.bundle"
done

config() { # config N ENDPOINT...
	local i=$1; shift
	{
		echo "config ipopd 'main'"
		echo "	option listen_port '6464'"
		echo "	option interface 'ipop0'"
		echo "	option bridge 'br-lan'"
		echo "	option control_socket '$WORK/r$i/ipopd.sock'"
		for e in "$@"; do echo "	list endpoint '$e'"; done
	} >"$WORK/r$i/ipop"
}
config 1
config 2 172.31.0.1:6464 172.31.0.3:6464
config 3 172.31.0.1:6464

say "starting ipopd on the three routers"
for i in 1 2 3; do
	# ip netns exec execs the daemon, so $! is the daemon itself.
	ip netns exec "$P-r$i" "$BIN" run -c "$WORK/r$i/ipop" --state "$WORK/r$i/state" >"$WORK/r$i/log" 2>&1 &
	PIDS+=($!)
done

reach() { # reach FROM TO
	for _ in $(seq 1 40); do
		x "h$1" ping -c1 -W1 "$2" >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	echo "h$1 cannot reach $2; logs:"; tail -n 20 "$WORK"/r*/log; return 1
}
reach 2 10.77.1.10; reach 2 10.77.3.10; reach 1 10.77.3.10

say "h2 (behind a NAT) pings h1 and h3 on the other LANs"
x h2 ping -c 3 10.77.1.10
x h2 ping -c 3 10.77.3.10
say "h1 pings h3 with full 1500-byte packets, don't-fragment set"
x h1 ping -c 3 -M do -s 1472 10.77.3.10
if command -v iperf3 >/dev/null; then
	say "h2 sends 100 MB to h1 over TCP (iperf3)"
	ip netns exec "$P-h1" iperf3 -s -1 >/dev/null 2>&1 &
	sleep 0.5
	x h2 iperf3 -c 10.77.1.10 -n 100M | tail -n 4
fi
for i in 1 2 3; do
	say "ipopd peers on r$i"
	x "r$i" "$BIN" peers -c "$WORK/r$i/ipop"
done
say "ipopd status on r2"
x r2 "$BIN" status -c "$WORK/r2/ipop"
say "stopping the daemons (SIGTERM): each tells its peers and removes its TAP"
for p in "${PIDS[@]}"; do kill -TERM "$p"; done
for p in "${PIDS[@]}"; do wait "$p" || echo "a daemon exited with status $?"; done
PIDS=()
tail -n 2 "$WORK"/r*/log
