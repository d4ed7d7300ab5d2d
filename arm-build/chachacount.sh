#!/bin/sh
# chachacount.sh: what the ChaCha20 keystream alone costs on the router
# CPUs, internal/chachapoly against golang.org/x/crypto/chacha20, in guest
# instructions counted under qemu-user the way aeadcount.sh counts the AEADs
# (-d in_asm,exec,nochain into arm-build/cmd/aeadbench/insncount).
#
#   arm-build/chachacount.sh                 mipsle mips arm6 arm7, ~1 min
#   arm-build/chachacount.sh mipsle arm7     just those
#
# For each target it builds arm-build/cmd/chachabench, counts main.keystream
# (entry to return into main.run) at N1 and N2 records of SIZE bytes and
# prints (count N2 - count N1) / (N2 - N1) / SIZE, the instructions per
# byte with start-up taken out.
#
# Environment: GO (go), CHACHACOUNT_SIZE (1400), CHACHACOUNT_OFFSET (0: the
# record's offset in its buffer, 0..63), CHACHACOUNT_N1 / _N2 (1 / 6).
set -eu

cd "$(dirname "$0")/.."
GO=${GO:-go}
SIZE=${CHACHACOUNT_SIZE:-1400}
OFFSET=${CHACHACOUNT_OFFSET:-0}
N1=${CHACHACOUNT_N1:-1}
N2=${CHACHACOUNT_N2:-6}
TARGETS=${*:-mipsle mips arm6 arm7}

die() {
	echo "chachacount: $*" >&2
	exit 1
}

case "$N1$N2$SIZE$OFFSET" in
*[!0-9]*) die "CHACHACOUNT_N1, _N2, _SIZE and _OFFSET must be whole numbers" ;;
esac
[ "$N1" -ge 1 ] && [ "$N2" -gt "$N1" ] && [ "$SIZE" -ge 1 ] ||
	die "need 1 <= CHACHACOUNT_N1 < CHACHACOUNT_N2 and CHACHACOUNT_SIZE >= 1"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
"$GO" build -o "$tmp/insncount" ./arm-build/cmd/aeadbench/insncount

# count QEMU BINARY IMPL RECORDS: the instructions of main.keystream.
count() {
	fifo="$tmp/log"
	rm -f "$fifo"
	mkfifo "$fifo"
	"$tmp/insncount" -from main.keystream -to main.run "$fifo" >"$tmp/count" 2>"$tmp/count.err" &
	counter=$!
	status=0
	env GOMAXPROCS=1 GOGC=off GODEBUG=asyncpreemptoff=1 \
		"$1" -d in_asm,exec,nochain -D "$fifo" \
		"$2" -impl "$3" -n "$4" -size "$SIZE" -offset "$OFFSET" >"$tmp/out" 2>"$tmp/err" || status=$?
	: 3<>"$fifo"
	wait "$counter" || {
		cat "$tmp/count.err" >&2
		die "counting $2 -impl $3 -n $4 failed"
	}
	[ "$status" -eq 0 ] || {
		cat "$tmp/err" >&2
		die "$2 -impl $3 -n $4 under $1 exited with $status"
	}
	cut -d' ' -f1 "$tmp/count"
}

echo "ChaCha20 keystream, guest instructions per byte (records of $SIZE B at offset $OFFSET, XORed in place;"
echo "(count at $N2 records - count at $N1) / $((N2 - N1)) / $SIZE):"
echo
echo "| target | x/crypto chacha20 | internal/chachapoly | ratio |"
echo "|---|---:|---:|---:|"
for target in $TARGETS; do
	case $target in
	mipsle) env="GOARCH=mipsle GOMIPS=softfloat" qemu=${QEMU_MIPSEL:-qemu-mipsel-static} ;;
	mips) env="GOARCH=mips GOMIPS=softfloat" qemu=${QEMU_MIPS:-qemu-mips-static} ;;
	arm6) env="GOARCH=arm GOARM=6" qemu=${QEMU_ARM:-qemu-arm-static} ;;
	arm7) env="GOARCH=arm GOARM=7" qemu=${QEMU_ARM:-qemu-arm-static} ;;
	*) die "unknown target '$target' (want mipsle, mips, arm6 or arm7)" ;;
	esac
	command -v "$qemu" >/dev/null 2>&1 ||
		die "$qemu not found: install qemu-user-static (apt-get install qemu-user-static)"
	# shellcheck disable=SC2086 # $env is several assignments
	env GOOS=linux $env CGO_ENABLED=0 "$GO" build -trimpath -o "$tmp/chachabench-$target" ./arm-build/cmd/chachabench
	row="| $target"
	for impl in xcrypto ipopd; do
		c1=$(count "$qemu" "$tmp/chachabench-$target" $impl "$N1")
		c2=$(count "$qemu" "$tmp/chachabench-$target" $impl "$N2")
		[ "$c2" -gt "$c1" ] || die "$target $impl: $N2 records counted $c2, $N1 counted $c1"
		eval "per_$impl=$(((c2 - c1) / (N2 - N1)))"
	done
	# shellcheck disable=SC2154 # per_xcrypto and per_ipopd come from eval
	echo "| $target | $(awk "BEGIN{printf \"%.1f\", $per_xcrypto/$SIZE}") | $(awk "BEGIN{printf \"%.1f\", $per_ipopd/$SIZE}") | $(awk "BEGIN{printf \"%.2fx\", $per_xcrypto/$per_ipopd}") |"
done
