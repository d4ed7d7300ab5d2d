#!/bin/sh
# aeadcount.sh: what the data channel's AEADs cost on a mipsel router CPU,
# in guest instructions counted under qemu-user (make bench-mips).
#
#   arm-build/aeadcount.sh            the table, ~15 s on a warm build cache
#   arm-build/aeadcount.sh --check    cross-check the block count against
#                                     one block per instruction (~30 s)
#
# Each count runs arm-build/cmd/aeadbench for GOARCH=mipsle GOMIPS=softfloat
# under qemu-mipsel-static with -d in_asm,exec,nochain, streams the log
# through a fifo into arm-build/cmd/aeadbench/insncount (nothing lands on
# disk) and counts the main thread's instructions from main.sealOpen's entry
# to its return. Two record counts N1 < N2 per AEAD and size, divided by
# their difference, give instructions per record with start-up taken out.
# Seconds under an emulator say nothing about a router; instruction counts
# do (relative ones: a 24Kc runs about one instruction per cycle, less on
# cache misses).
#
# Environment: GO (go), QEMU_MIPSEL (qemu-mipsel-static),
# AEADCOUNT_N1 / AEADCOUNT_N2 (1 / 11 records).
set -eu

cd "$(dirname "$0")/.."
GO=${GO:-go}
QEMU=${QEMU_MIPSEL:-qemu-mipsel-static}
N1=${AEADCOUNT_N1:-1}
N2=${AEADCOUNT_N2:-11}
AEADS="AES-128-GCM ChaCha20-Poly1305"

die() {
	echo "aeadcount: $*" >&2
	exit 1
}

check=0
case "${1:-}" in
"") ;;
--check) check=1 ;;
*) die "unknown argument '$1' (usage: aeadcount.sh [--check])" ;;
esac
case "$N1$N2" in
*[!0-9]*) die "AEADCOUNT_N1='$N1' and AEADCOUNT_N2='$N2' must be whole numbers" ;;
esac
[ "$N1" -ge 1 ] && [ "$N2" -gt "$N1" ] || die "need 1 <= AEADCOUNT_N1 < AEADCOUNT_N2, got $N1 and $N2"

command -v "$QEMU" >/dev/null 2>&1 ||
	die "$QEMU not found: install qemu-user-static (apt-get install qemu-user-static)"
for item in in_asm exec nochain; do
	"$QEMU" -d help 2>&1 | grep -q "^$item " || die "$QEMU -d help does not list '$item'"
done
# One instruction per block, for --check: the flag was renamed in qemu 8.1.
if "$QEMU" -h 2>&1 | grep -q -- '-one-insn-per-tb'; then
	ONE_INSN=-one-insn-per-tb
else
	ONE_INSN=-singlestep
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# The mipsle binary keeps its symbol table: qemu names each block's function
# from it, and the counting window is found by function name.
GOOS=linux GOARCH=mipsle GOMIPS=softfloat CGO_ENABLED=0 \
	"$GO" build -trimpath -o "$tmp/aeadbench-mipsle" ./arm-build/cmd/aeadbench
CGO_ENABLED=0 "$GO" build -trimpath -o "$tmp/aeadbench" ./arm-build/cmd/aeadbench
"$GO" build -o "$tmp/insncount" ./arm-build/cmd/aeadbench/insncount

# count AEAD RECORDS SIZE [QEMU FLAG]: prints the instructions of one run;
# the run's own output is left in $tmp/out.
#
# GOMAXPROCS=1 and GOGC=off keep the runtime's other threads and the
# collector out of the way; asyncpreemptoff stops preemption signals, whose
# handlers would run on the counted thread as often as wall time allows.
# Cooperative preemption still happens; insncount leaves those detours out.
count() {
	fifo="$tmp/log"
	rm -f "$fifo"
	mkfifo "$fifo"
	"$tmp/insncount" -from main.sealOpen -to main.run "$fifo" >"$tmp/count" 2>"$tmp/count.err" &
	counter=$!
	status=0
	env GOMAXPROCS=1 GOGC=off GODEBUG=asyncpreemptoff=1 \
		"$QEMU" ${4:-} -d in_asm,exec,nochain -D "$fifo" \
		"$tmp/aeadbench-mipsle" -aead "$1" -n "$2" -size "$3" >"$tmp/out" 2>"$tmp/err" || status=$?
	# Should qemu have failed before opening the log, open it once so that
	# the counter sees end of file instead of waiting forever (O_RDWR on a
	# fifo never blocks).
	: 3<>"$fifo"
	wait "$counter" || {
		cat "$tmp/count.err" >&2
		[ "$status" -eq 0 ] || cat "$tmp/err" >&2
		die "counting $1 -n $2 -size $3 failed"
	}
	[ "$status" -eq 0 ] || {
		cat "$tmp/err" >&2
		die "aeadbench -aead $1 -n $2 -size $3 under $QEMU exited with $status"
	}
	cut -d' ' -f1 "$tmp/count"
}

# picks: the AEAD named by the last run's "daemon picks: NAME (os/arch)".
picks() {
	sed -n 's/^daemon picks: \(.*\) ([^)]*)$/\1/p' "$1"
}

if [ "$check" = 1 ]; then
	blocks=$(count ChaCha20-Poly1305 "$N1" 64)
	single=$(count ChaCha20-Poly1305 "$N1" 64 "$ONE_INSN")
	echo "ChaCha20-Poly1305, $N1 record(s) of 64 B, main.sealOpen to its return:"
	echo "  whole blocks (in_asm counts):  $blocks instructions"
	echo "  $ONE_INSN:  $single instructions"
	echo "  difference: $((single - blocks)) (each preemption leaves its function's first blocks counted twice)"
	exit 0
fi

# per AEAD SIZE: instructions per record, the start-up subtracted.
per() {
	c1=$(count "$1" "$N1" "$2")
	c2=$(count "$1" "$N2" "$2")
	[ "$c2" -gt "$c1" ] || die "$1 -size $2: $N2 records counted $c2 instructions, $N1 counted $c1"
	echo $(((c2 - c1) / (N2 - N1)))
}

results=
mips_pick=
for aead in $AEADS; do
	big=$(per "$aead" 1400)
	small=$(per "$aead" 64)
	pick=$(picks "$tmp/out")
	[ -n "$pick" ] || die "aeadbench printed no 'daemon picks:' line under $QEMU"
	[ -z "$mips_pick" ] || [ "$mips_pick" = "$pick" ] || die "runs disagree on the pick: $mips_pick, $pick"
	mips_pick=$pick
	results="$results$aead $big $small
"
done
"$tmp/aeadbench" -n 1 -size 64 >"$tmp/native"
native_pick=$(picks "$tmp/native")
native_arch=$(sed -n 's/^daemon picks: .* (\([^)]*\))$/\1/p' "$tmp/native")

echo "Data channel AEADs on mipsle (GOMIPS=softfloat), guest instructions under $QEMU:"
echo "one record = seal + open in place, 13-byte header as additional data;"
echo "per record = (count at $N2 records - count at $N1) / $((N2 - N1))."
echo
printf '%s\n' "$results" | awk '
BEGIN { n = 0 }
NF == 3 { name[n] = $1; big[n] = $2; small[n] = $3; n++ }
END {
	minb = big[0]; mins = small[0]
	for (i = 1; i < n; i++) { if (big[i] < minb) minb = big[i]; if (small[i] < mins) mins = small[i] }
	print "| AEAD | instr/record (1400 B) | instr/byte (1400 B) | instr/record (64 B) | relative cost 1400 B | relative cost 64 B |"
	print "|---|---:|---:|---:|---:|---:|"
	for (i = 0; i < n; i++)
		printf "| %s | %d | %.1f | %d | %.2fx | %.2fx |\n", name[i], big[i], big[i] / 1400, small[i], big[i] / minb, small[i] / mins
	for (i = 0; i < n; i++) if (big[i] == minb) cheaper = name[i]
	print ""
	print "cheaper on mipsle for full-size frames: " cheaper
}'
echo "daemon picks on mipsle: $mips_pick"
echo "daemon picks on $native_arch (native, this host): $native_pick"
