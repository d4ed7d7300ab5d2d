#!/bin/sh
# Runtime smoke test used by the OpenWRT package CI: test.sh PKG_NAME VERSION.
case "$1" in
ipopd)
	ipopd version | grep -F "$2"
	;;
esac
