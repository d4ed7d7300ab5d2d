#!/usr/bin/env bash
# make demo: a GroupVPN of four routers in network namespaces on this
# machine. r1 (the group owner and lighthouse) and r2 are on a simulated
# internet; r3 sits behind a port-restricted NAT (Linux MASQUERADE) and r4
# behind a symmetric one. Each router has a LAN bridge with one LAN host
# (h1..h4) in the shared subnet 10.77.0.0/16. r1 creates the group and
# invites the others, which join with their tokens; they find each other
# through the lighthouse, punch holes where the NATs allow it and are
# relayed by the lighthouse where they do not (r3 <-> r4).
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
LAB=demo
# shellcheck source=nslab.sh
. "$(dirname "$0")/nslab.sh"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "building the lab: an internet, a lighthouse, three sites (public, behind a port-restricted NAT, behind a symmetric NAT)"
ns inet
x inet ip link add br-inet type bridge
x inet ip link set br-inet up
site() { # site N: router rN with LAN bridge and LAN host hN
	ns "r$1"; ns "h$1"
	x "r$1" sysctl -qw net.ipv4.ip_forward=1
	link "h$1" eth0 "r$1" lan0
	x "r$1" ip link add br-lan type bridge
	x "r$1" ip link set lan0 master br-lan
	x "r$1" ip link set br-lan up
	x "h$1" ip addr add "10.77.$1.10/16" dev eth0
}
public() { # public N: router on the internet at 172.31.0.N
	link "r$1" wan0 inet "p$1"; x inet ip link set "p$1" master br-inet
	x "r$1" ip addr add "172.31.0.$1/24" dev wan0
}
natted() { # natted N RULE: router behind NAT box nN (public 172.31.0.N)
	ns "n$1"
	x "n$1" sysctl -qw net.ipv4.ip_forward=1
	link "n$1" wan0 inet "p$1"; x inet ip link set "p$1" master br-inet
	x "n$1" ip addr add "172.31.0.$1/24" dev wan0
	link "r$1" wan0 "n$1" lan0
	x "n$1" ip addr add "192.168.$1.1/24" dev lan0
	x "r$1" ip addr add "192.168.$1.2/24" dev wan0
	x "r$1" ip route add default via "192.168.$1.1"
	x "n$1" nft add table ip nat
	x "n$1" nft add chain ip nat post '{ type nat hook postrouting priority 100; }'
	x "n$1" nft add rule ip nat post oifname wan0 $2
	x "n$1" nft add table ip filter
	x "n$1" nft add chain ip filter forward_wan '{ type filter hook forward priority 0; }'
	x "n$1" nft add rule ip filter forward_wan iifname wan0 ct state established,related accept
	x "n$1" nft add rule ip filter forward_wan iifname wan0 drop
}
command -v nft >/dev/null || { echo "make demo needs nftables (nft)"; exit 1; }
for i in 1 2 3 4; do site $i; done
public 1          # the lighthouse and group owner
public 2          # a site with a public address
natted 3 masquerade                # Linux MASQUERADE: port-restricted cone
natted 4 "masquerade fully-random" # symmetric: a new port for every destination

for i in 1 2 3 4; do
	mkdir -p "$WORK/r$i"
	{
		echo "config ipopd 'main'"
		echo "	option listen_port '6464'"
		echo "	option interface 'ipop0'"
		echo "	option bridge 'br-lan'"
		echo "	option control_socket '$WORK/r$i/ipopd.sock'"
		echo "	option ubus_socket ''"
		[ "$i" = 1 ] && echo "	option lighthouse '1'"
	} >"$WORK/r$i/ipop"
done
run() { # run N: start ipopd on rN (ip netns exec execs it: $! is the daemon)
	ip netns exec "$P-r$1" "$BIN" run -c "$WORK/r$1/ipop" --state "$WORK/r$1/state" >"$WORK/r$1/log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 1 50); do [ -S "$WORK/r$1/ipopd.sock" ] && return 0; sleep 0.1; done
	echo "ipopd on r$1 did not start:"; cat "$WORK/r$1/log"; return 1
}

say "r1 creates the group 'demo' and runs as its lighthouse"
x r1 "$BIN" group create --name demo --subnet 10.77.0.0/16 --node-name r1 --state "$WORK/r1/state"
run 1
for i in 2 3 4; do
	say "r1 invites r$i; r$i joins with the token"
	tok=$(x r1 "$BIN" invite -c "$WORK/r1/ipop" --state "$WORK/r1/state" --endpoint 172.31.0.1:6464 --name "r$i")
	echo "token: $tok"
	run $i
	x "r$i" "$BIN" join "$tok" --name "r$i" -c "$WORK/r$i/ipop" --state "$WORK/r$i/state"
done

reach() { # reach FROM TO
	for _ in $(seq 1 60); do
		x "h$1" ping -c1 -W1 "$2" >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	echo "h$1 cannot reach $2; logs:"; tail -n 20 "$WORK"/r*/log; return 1
}
for a in 1 2 3 4; do for b in 1 2 3 4; do [ $a -lt $b ] && reach $a "10.77.$b.10"; done; done
sleep 3 # let the hole punching settle

say "h3 (behind a port-restricted NAT) pings h2 (public) and h4 (behind a symmetric NAT)"
x h3 ping -c 3 10.77.2.10
x h3 ping -c 3 10.77.4.10
say "h2 pings h4 with full 1500-byte packets, don't-fragment set"
x h2 ping -c 3 -M do -s 1472 10.77.4.10
if command -v iperf3 >/dev/null; then
	say "h4 sends 100 MB to h2 over TCP (iperf3)"
	ip netns exec "$P-h2" iperf3 -s -1 >/dev/null 2>&1 &
	sleep 0.5
	x h4 iperf3 -c 10.77.2.10 -n 100M | tail -n 4
fi
for i in 1 2 3 4; do
	say "ipopd peers on r$i"
	x "r$i" "$BIN" peers -c "$WORK/r$i/ipop"
done
say "ipopd status on r3"
x r3 "$BIN" status -c "$WORK/r3/ipop"
say "stopping the daemons (SIGTERM): each tells its peers and removes its TAP"
for p in "${PIDS[@]}"; do kill -TERM "$p"; done
for p in "${PIDS[@]}"; do wait "$p" || echo "a daemon exited with status $?"; done
PIDS=()
tail -n 2 "$WORK"/r*/log
