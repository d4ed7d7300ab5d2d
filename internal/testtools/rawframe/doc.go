// Command rawframe sends and captures raw Ethernet frames, for tests that
// check what crosses an L2 overlay: router advertisements must not, a
// broadcast must arrive exactly once.
//
//	rawframe -i eth0 -hex 'ffffffffffff 020000000001 88b5 ...'
//	rawframe -i eth0 -kind ra [-prefix fd00:5::/64]
//	rawframe -i eth0 -kind bcast [-msg TEXT]
//	rawframe -i eth0 -listen -kind ra|bcast [-timeout 3s]
//
// -hex sends the frame as given (hex digits; spaces, ':' and '-' are
// ignored). -kind ra sends an ICMPv6 router advertisement (RFC 4861 4.2)
// from the interface's MAC and IPv6 link-local address (EUI-64 of the MAC
// when the interface has none) to ff02::1 / 33:33:00:00:00:01, hop limit
// 255, correct checksum, router lifetime 1800 s, with a source link-layer
// address option and, unless -prefix is empty, an on-link autonomous prefix
// option. -kind bcast sends to ff:ff:ff:ff:ff:ff with the IEEE local
// experimental EtherType 0x88B5 and this payload:
//
//	+--------+--------+-----------------+---------------+
//	| length (2 bytes, big endian) | TEXT | zero padding |
//	+--------+--------+-----------------+---------------+
//
// padded to the 60-byte Ethernet minimum. -listen prints one line per
// received frame of that kind ("ra from fe80::1 mac 02:00:00:00:00:01",
// "bcast TEXT from 02:00:00:00:00:01"; TEXT is Go-quoted when it holds
// unprintable characters), ignores frames the interface sent, and after the
// timeout prints "count N" and exits 0. It reports "listening on IF" on
// stderr once the socket is bound.
package main
