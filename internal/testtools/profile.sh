#!/usr/bin/env bash
# make profile: CPU and allocation profiles of two ipopd daemons carrying
# iperf3 TCP between their LAN hosts (one stream each way, then four).
# Two sites on a simulated internet, as in make demo (r1 the owner and
# lighthouse, r2 invited), with a binary built with -tags profile, which
# writes <IPOPD_PROFILE>.<pid>.cpu/.heap. Prints the top of each profile.
#
# Safety as in demo.sh: only this script's own namespaces and veths
# (created in the root namespace, renamed only inside theirs), all removed
# on exit.
set -euo pipefail
BIN=$(readlink -f "${1:?usage: profile.sh IPOPD-PROFILE-BINARY [OUTDIR]}")
OUT=$(readlink -f "${2:-bin/profile}")
SECS=${PROFILE_SECONDS:-10}
[ "$(id -u)" = 0 ] || { echo "make profile needs root (network namespaces)"; exit 1; }
command -v iperf3 >/dev/null || { echo "make profile needs iperf3"; exit 1; }
mkdir -p "$OUT"
P="ipp$$"
WORK=$(mktemp -d /tmp/ipopd-profile.XXXXXX)
LAB=profile
# shellcheck source=nslab.sh
. "$(dirname "$0")/nslab.sh"
ns inet
x inet ip link add br-inet type bridge
x inet ip link set br-inet up
for i in 1 2; do
	ns "r$i"; ns "h$i"
	link "h$i" eth0 "r$i" lan0
	x "r$i" ip link add br-lan type bridge
	x "r$i" ip link set lan0 master br-lan
	x "r$i" ip link set br-lan up
	x "h$i" ip addr add "10.77.$i.10/16" dev eth0
	link "r$i" wan0 inet "p$i"; x inet ip link set "p$i" master br-inet
	x "r$i" ip addr add "172.31.0.$i/24" dev wan0
	mkdir -p "$WORK/r$i"
	printf "config ipopd 'main'\n\toption listen_port '6464'\n\toption interface 'ipop0'\n\toption bridge 'br-lan'\n\toption control_socket '%s'\n\toption ubus_socket ''\n" "$WORK/r$i/ipopd.sock" >"$WORK/r$i/ipop"
done
echo "	option lighthouse '1'" >>"$WORK/r1/ipop"
run() {
	rm -f "$OUT"/r$1.*; IPOPD_PROFILE="$OUT/r$1" ip netns exec "$P-r$1" "$BIN" run -c "$WORK/r$1/ipop" --state "$WORK/r$1/state" >"$WORK/r$1/log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 1 50); do [ -S "$WORK/r$1/ipopd.sock" ] && return 0; sleep 0.1; done
	cat "$WORK/r$1/log"; return 1
}
x r1 "$BIN" group create --name prof --subnet 10.77.0.0/16 --node-name r1 --state "$WORK/r1/state" >/dev/null
run 1
tok=$(x r1 "$BIN" invite -c "$WORK/r1/ipop" --state "$WORK/r1/state" --endpoint 172.31.0.1:6464 --name r2)
run 2
x r2 "$BIN" join "$tok" --name r2 -c "$WORK/r2/ipop" --state "$WORK/r2/state" >/dev/null
for _ in $(seq 1 60); do x h1 ping -c1 -W1 10.77.2.10 >/dev/null 2>&1 && break; sleep 0.5; done
sleep 3
for i in 1 2; do
	echo "== r$i idle: $(grep -E '^(Rss|Anonymous|Private_Dirty|Private_Clean|Shared_Clean|Shared_Dirty):' "/proc/${PIDS[$((i - 1))]}/smaps_rollup" | tr -s ' ' | tr '\n' ' ')"
done
for p in "${PIDS[@]}"; do kill -USR1 "$p"; done # live heap snapshots
ip netns exec "$P-h2" iperf3 -s -D -I "$WORK/iperf.pid"
sleep 0.5
# PROFILE_RUNS: iperf3 argument sets separated by ';' (default: one TCP
# stream each way, then four; e.g. '-u -l 64 -b 0' for small packets).
IFS=';' read -r -a RUNS <<<"${PROFILE_RUNS:-;-R;-P 4}"
for args in "${RUNS[@]}"; do
	echo "== iperf3 h1 -> h2 $args, $SECS s"
	x h1 iperf3 -c 10.77.2.10 -t "$SECS" $args | grep -E "sender|receiver" | tail -n 2
done
for i in 1 2; do
	echo "== r$i: where frames went (ipopd counters, TAP and UDP statistics)"
	x "r$i" "$BIN" status --json -c "$WORK/r$i/ipop" | tr ',{}' '\n\n\n' | grep -E '"(dropped|send_errors|tap_write|offload|tso|gro|delivered|unicast|flood)' | grep -v ': 0$' | tr '\n' ' '; echo
	x "r$i" ip -s link show ipop0 | sed -n '3,6p'
	x "r$i" nstat -az 2>/dev/null | grep -E "UdpRcvbufErrors|UdpSndbufErrors|UdpInErrors" | tr -s ' ' | tr '\n' ' '; echo
done
for i in 1 2; do
	echo "== r$i: peak RSS $(awk '/VmHWM/ {print $2, $3}' "/proc/${PIDS[$((i - 1))]}/status")"
done
for p in "${PIDS[@]}"; do kill -TERM "$p"; done
for p in "${PIDS[@]}"; do wait "$p" || true; done
PIDS=()
for i in 1 2; do
	echo "== r$i CPU profile (top 25)"
	go tool pprof -top -nodecount=25 "$BIN" "$OUT"/r$i.*.cpu 2>/dev/null | tail -n +5
	echo "== r$i Go runtime memory at exit: $(tr '\n' ' ' <"$(ls "$OUT"/r$i.*.mem | head -n 1)")"
	echo "== r$i live heap when idle (top 15)"
	go tool pprof -top -nodecount=15 -sample_index=inuse_space "$BIN" "$OUT"/r$i.*.live.heap 2>/dev/null | tail -n +5
	echo "== r$i allocations (top 10 by space)"
	go tool pprof -top -nodecount=10 -sample_index=alloc_space "$BIN" "$OUT"/r$i.*.heap 2>/dev/null | tail -n +5
done
