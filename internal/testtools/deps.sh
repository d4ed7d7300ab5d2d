#!/bin/sh
# deps.sh: installs the Debian packages `make demo`, `make test` and CI need,
# only those whose command is missing, so a warm machine never needs the
# mirror and a fresh one needs no reading of docs. The one list of tools is
# below; make demo, make test and .ci/run all call this script.
#
# Usage: deps.sh demo|test
#   as root:      apt-get update once, then apt-get install what is missing
#   not root:     prints the one command to run and fails at once
#   DEPS_DRY_RUN=1  only reports what it would run (tests use it)
#   DEPS_SKIP=1     checks nothing (a machine set up some other way)
set -eu

purpose=${1:-test}
case $purpose in
demo | test) ;;
*)
	echo "usage: deps.sh demo|test" >&2
	exit 2
	;;
esac
[ "${DEPS_SKIP:-0}" = 1 ] && exit 0

# command           Debian package     needed by
tools='
ip                  iproute2           demo test
nft                 nftables           demo test
iptables            iptables           test
iperf3              iperf3             demo test
ping                iputils-ping       demo test
make                make               demo test
dnsmasq             dnsmasq-base       test
busybox             busybox            test
qemu-mipsel-static  qemu-user-static   test
node                nodejs             test
turnserver          coturn             test
dpkg-deb            dpkg               test
lintian             lintian            test
'
# What each is for: iproute2, nftables, iptables, iperf3 and ping build and
# measure the network-namespace labs (internal/netlab, make demo); dnsmasq
# and busybox (udhcpc) the DHCP tests; qemu-user-static the cross-built
# binaries' smoke tests (arm-build); nodejs the LuCI view checks; coturn the
# TURN tests against a real server; dpkg and lintian the .deb checks.

# Pure sh with builtins only: the script must work on a machine that lacks
# everything in the list (and the tests run it with an almost empty PATH).
missing=$(printf '%s\n' "$tools" | while read -r cmd pkg uses; do
	[ -n "$cmd" ] || continue
	case " $uses " in
	*" $purpose "*) command -v "$cmd" >/dev/null 2>&1 || printf '%s ' "$pkg" ;;
	esac
done)
missing=${missing% }
[ -z "$missing" ] && exit 0

install="apt-get install -y -qq --no-install-recommends $missing"
if [ "${DEPS_DRY_RUN:-0}" = 1 ]; then
	echo "would run: apt-get update -qq && $install"
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "make $purpose needs these Debian packages (or your system's equivalent): $missing" >&2
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "make $purpose needs: $missing. Install them with:" >&2
	echo "  sudo apt-get update && sudo $install" >&2
	exit 1
fi
echo "installing for make $purpose: $missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # one word per package
apt-get install -y -qq --no-install-recommends $missing
