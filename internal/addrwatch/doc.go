// Package addrwatch tells when this machine's addresses change, from the
// kernel's netlink notifications, so that the daemon can announce a new
// public address at once instead of at the next keepalive.
package addrwatch
