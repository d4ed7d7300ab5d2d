#!/bin/sh
# aeadcount.sh: what the data channel's AEADs cost on the router CPUs
# (mipsle, mips big-endian, arm), in guest instructions counted under
# qemu-user (make bench-mips).
#
#   arm-build/aeadcount.sh            the tables, ~3 min on a warm build cache
#   arm-build/aeadcount.sh --check    cross-check the block count against
#                                     one block per instruction (mipsle, ~30 s)
#
# Each count runs arm-build/cmd/aeadbench cross-built for the architecture
# (mipsle and mips with GOMIPS=softfloat, arm with GOARM=7) under
# qemu-ARCH-static with -d in_asm,exec,nochain, streams the log through a
# fifo into arm-build/cmd/aeadbench/insncount (nothing lands on disk) and
# counts the main thread's instructions from main.sealOpen's entry to its
# return. Two record counts N1 < N2 per AEAD and size, divided by their
# difference, give instructions per record with start-up taken out.
# Seconds under an emulator say nothing about a router; instruction counts
# do (relative ones: a 24Kc runs about one instruction per cycle, less on
# cache misses).
#
# Per architecture the table has AES-128-GCM and both ChaCha20-Poly1305
# implementations, x/crypto's and internal/chachapoly's, whatever the
# daemon uses there; the lines under it say which AEAD the daemon picks
# and which ChaCha20-Poly1305 it runs, and what one frame costs through the
# whole of the transport's data path with that AEAD (aeadbench -frame:
# sent, written to an in-memory socket, classified, opened, checked against
# the replay window and delivered; system calls left out).
#
# Environment: GO (go), QEMU_MIPSEL (qemu-mipsel-static), QEMU_MIPS
# (qemu-mips-static), QEMU_ARM (qemu-arm-static), AEADCOUNT_ARCHS
# ("mipsle mips arm"), AEADCOUNT_N1 / AEADCOUNT_N2 (1 / 11 records).
set -eu

cd "$(dirname "$0")/.."
GO=${GO:-go}
N1=${AEADCOUNT_N1:-1}
N2=${AEADCOUNT_N2:-11}
ARCHS=${AEADCOUNT_ARCHS:-mipsle mips arm}
AEADS="AES-128-GCM ChaCha20-Poly1305:x/crypto ChaCha20-Poly1305:chachapoly"

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

# goenv ARCH / qemu ARCH: how to build for and run on each architecture.
goenv() {
	case "$1" in
	mipsle) echo "GOARCH=mipsle GOMIPS=softfloat" ;;
	mips) echo "GOARCH=mips GOMIPS=softfloat" ;;
	arm) echo "GOARCH=arm GOARM=7" ;;
	*) die "unknown architecture '$1' in AEADCOUNT_ARCHS (want mipsle, mips, arm)" ;;
	esac
}
qemu() {
	case "$1" in
	mipsle) echo "${QEMU_MIPSEL:-qemu-mipsel-static}" ;;
	mips) echo "${QEMU_MIPS:-qemu-mips-static}" ;;
	arm) echo "${QEMU_ARM:-qemu-arm-static}" ;;
	esac
}
[ "$check" = 0 ] || ARCHS=mipsle
for arch in $ARCHS; do
	goenv "$arch" >/dev/null
	q=$(qemu "$arch")
	command -v "$q" >/dev/null 2>&1 ||
		die "$q not found: install qemu-user-static (apt-get install qemu-user-static)"
	for item in in_asm exec nochain; do
		"$q" -d help 2>&1 | grep -q "^$item " || die "$q -d help does not list '$item'"
	done
done
# One instruction per block, for --check: the flag was renamed in qemu 8.1.
if "$(qemu mipsle)" -h 2>&1 | grep -q -- '-one-insn-per-tb'; then
	ONE_INSN=-one-insn-per-tb
else
	ONE_INSN=-singlestep
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# The cross-built binaries keep their symbol tables: qemu names each
# block's function from it, and the counting window is found by function
# name.
for arch in $ARCHS; do
	# shellcheck disable=SC2046 # goenv's words are separate assignments
	env GOOS=linux CGO_ENABLED=0 $(goenv "$arch") \
		"$GO" build -trimpath -o "$tmp/aeadbench-$arch" ./arm-build/cmd/aeadbench
done
CGO_ENABLED=0 "$GO" build -trimpath -o "$tmp/aeadbench" ./arm-build/cmd/aeadbench
"$GO" build -o "$tmp/insncount" ./arm-build/cmd/aeadbench/insncount

# count ARCH AEAD RECORDS SIZE [QEMU FLAG]: prints the instructions of one
# run; the run's own output is left in $tmp/out. With mode=-frame and
# from=main.frames it counts frames through the transport instead of
# records (see frame below).
#
# GOMAXPROCS=1 and GOGC=off keep the runtime's other threads and the
# collector out of the way; asyncpreemptoff stops preemption signals, whose
# handlers would run on the counted thread as often as wall time allows.
# Cooperative preemption still happens; insncount leaves those detours out.
count() {
	fifo="$tmp/log"
	rm -f "$fifo"
	mkfifo "$fifo"
	"$tmp/insncount" -from "$from" -to main.run "$fifo" >"$tmp/count" 2>"$tmp/count.err" &
	counter=$!
	status=0
	env GOMAXPROCS=1 GOGC=off GODEBUG=asyncpreemptoff=1 \
		"$(qemu "$1")" ${5:-} -d in_asm,exec,nochain -D "$fifo" \
		"$tmp/aeadbench-$1" $mode -aead "$2" -n "$3" -size "$4" >"$tmp/out" 2>"$tmp/err" || status=$?
	# Should qemu have failed before opening the log, open it once so that
	# the counter sees end of file instead of waiting forever (O_RDWR on a
	# fifo never blocks).
	: 3<>"$fifo"
	wait "$counter" || {
		cat "$tmp/count.err" >&2
		[ "$status" -eq 0 ] || cat "$tmp/err" >&2
		die "counting $2 -n $3 -size $4 on $1 failed"
	}
	[ "$status" -eq 0 ] || {
		cat "$tmp/err" >&2
		die "aeadbench -aead $2 -n $3 -size $4 under $(qemu "$1") exited with $status"
	}
	cut -d' ' -f1 "$tmp/count"
}

# picks FILE: the AEAD named by a run's "daemon picks: NAME (os/arch)";
# impl FILE: its "daemon's ChaCha20-Poly1305: IMPL".
picks() {
	sed -n 's/^daemon picks: \(.*\) ([^)]*)$/\1/p' "$1"
}
impl() {
	sed -n "s/^daemon's ChaCha20-Poly1305: //p" "$1"
}

from=main.sealOpen
mode=
if [ "$check" = 1 ]; then
	blocks=$(count mipsle ChaCha20-Poly1305 "$N1" 64)
	single=$(count mipsle ChaCha20-Poly1305 "$N1" 64 "$ONE_INSN")
	echo "ChaCha20-Poly1305 on mipsle, $N1 record(s) of 64 B, main.sealOpen to its return:"
	echo "  whole blocks (in_asm counts):  $blocks instructions"
	echo "  $ONE_INSN:  $single instructions"
	echo "  difference: $((single - blocks)) (each preemption leaves its function's first blocks counted twice)"
	exit 0
fi

# per ARCH AEAD SIZE: instructions per record, the start-up subtracted.
per() {
	c1=$(count "$1" "$2" "$N1" "$3")
	c2=$(count "$1" "$2" "$N2" "$3")
	[ "$c2" -gt "$c1" ] || die "$2 -size $3 on $1: $N2 records counted $c2 instructions, $N1 counted $c1"
	echo $(((c2 - c1) / (N2 - N1)))
}

echo "Data channel AEADs on the router CPUs, guest instructions under qemu-user:"
echo "one record = seal + open in place, 13-byte header as additional data;"
echo "per record = (count at $N2 records - count at $N1) / $((N2 - N1))."
for arch in $ARCHS; do
	results=
	for aead in $AEADS; do
		big=$(per "$arch" "$aead" 1400)
		small=$(per "$arch" "$aead" 64)
		results="$results$aead $big $small
"
	done
	pick=$(picks "$tmp/out")
	chacha=$(impl "$tmp/out")
	[ -n "$pick" ] && [ -n "$chacha" ] || die "aeadbench printed no 'daemon picks:' or 'daemon's ChaCha20-Poly1305:' line on $arch"
	echo
	echo "$arch ($(goenv "$arch"), $(qemu "$arch")):"
	echo
	printf '%s\n' "$results" | awk -v arch="$arch" '
	BEGIN { n = 0 }
	NF == 3 { name[n] = $1; big[n] = $2; small[n] = $3; n++ }
	END {
		minb = big[0]; mins = small[0]
		for (i = 1; i < n; i++) { if (big[i] < minb) minb = big[i]; if (small[i] < mins) mins = small[i] }
		print "| AEAD | instr/record (1400 B) | instr/byte (1400 B) | instr/record (64 B) | relative cost 1400 B | relative cost 64 B |"
		print "|---|---:|---:|---:|---:|---:|"
		for (i = 0; i < n; i++) {
			printf "| %s | %d | %.1f | %d | %.2fx | %.2fx |\n", name[i], big[i], big[i] / 1400, small[i], big[i] / minb, small[i] / mins
			if (name[i] ~ /x\/crypto/) { xb = big[i]; xs = small[i] }
			if (name[i] ~ /chachapoly/) { cb = big[i]; cs = small[i] }
		}
		for (i = 0; i < n; i++) if (big[i] == minb) cheaper = name[i]
		print ""
		print "cheaper on " arch " for full-size frames: " cheaper
		if (cb > 0 && cs > 0)
			printf "chachapoly against x/crypto on %s: %.2fx fewer instructions at 1400 B, %.2fx at 64 B\n", arch, xb / cb, xs / cs
	}'
	echo "daemon picks on $arch: $pick, ChaCha20-Poly1305 from $chacha"
	# The whole frame path with the daemon's pick: one frame from
	# SendFrame to OnFrame through transport.FramePath (framing, seal, the
	# socket write into memory, classification, session lookup, open,
	# replay window, delivery), system calls left out.
	from=main.frames mode=-frame
	fbig=$(per "$arch" "$pick" 1400)
	fsmall=$(per "$arch" "$pick" 64)
	from=main.sealOpen mode=
	echo "whole frame path on $arch ($pick, transport.FramePath): $fbig instructions per 1400-byte frame, $fsmall per 64-byte frame"
done
"$tmp/aeadbench" -n 1 -size 64 >"$tmp/native"
native_arch=$(sed -n 's/^daemon picks: .* (\([^)]*\))$/\1/p' "$tmp/native")
echo
echo "daemon picks on $native_arch (native, this host): $(picks "$tmp/native"), ChaCha20-Poly1305 from $(impl "$tmp/native")"
