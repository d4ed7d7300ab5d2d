#!/bin/sh
# Runs every native fuzz target in the module for the given time each.
# Usage: fuzz.sh 60s
# Minimisation is limited: a new input found near the end of a short run
# would otherwise be reported as "context deadline exceeded" (go test
# stops minimising it when the fuzz time is up).
set -eu
t=${1:-60s}
cd "$(dirname "$0")/../.."
fail=0
for f in $(grep -rl --include='*_test.go' '^func Fuzz' .); do
	dir=$(dirname "$f")
	for name in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //'); do
		echo "fuzz $dir $name ($t)"
		if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$t" -fuzzminimizetime "${FUZZMINIMIZE:-0s}" "$dir" >/tmp/ipop-fuzz.log 2>&1; then
			# go test sometimes ends a short run with "context deadline
			# exceeded" while it still handles a new input: not a finding.
			# A real one says "Failing input written".
			if grep -q "context deadline exceeded" /tmp/ipop-fuzz.log &&
				! grep -q "Failing input written\|panic:" /tmp/ipop-fuzz.log; then
				echo "  (run ended while go test was still handling a new input: no failure found)"
				continue
			fi
			cat /tmp/ipop-fuzz.log
			fail=1
		fi
	done
done
exit $fail
