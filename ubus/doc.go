// Package ubus is a pure-Go client for OpenWrt's ubus: it encodes and decodes
// blob/blobmsg data, calls methods of other objects, serves its own objects
// (with method signatures, so that `ubus -v list` documents the arguments),
// sends and listens for events, and publishes or subscribes to notifications.
// It needs no cgo and no libubus, and imports only the standard library.
//
// Use Dial for one connection, or NewClient for a connection that is kept up:
// it retries while ubusd is absent and registers its objects again after
// ubusd restarts. Package ubustest holds a fake ubusd for tests.
//
// # Wire layout
//
// Every message on the unix stream socket is an 8-byte header followed by one
// blob attribute, the message blob (all integers big-endian):
//
//	 0      1      2             4                           8
//	+------+------+-------------+---------------------------+
//	| ver=0| type |  seq (u16)  |        peer (u32)         |
//	+------+------+-------------+---------------------------+
//	| 0 | id=0 |  blob length (24 bits, incl. these 4)      |  message blob
//	+---------------------------------------------------------+
//	| attributes (STATUS, OBJPATH, OBJID, METHOD, DATA ...) |
//	+---------------------------------------------------------+
//
// A blob attribute is a 4-byte header, its payload, and zero padding to a
// multiple of 4. The length counts header and payload but not the padding;
// a container's payload is its children, each padded.
//
//	 31  30      24 23                                      0
//	+---+----------+-----------------------------------------+
//	|ext|  id (7)  |     length (24) = 4 + payload length     |
//	+---+----------+-----------------------------------------+
//	| payload ...                          | pad to 4 (zeros) |
//
// A blobmsg attribute sets ext, uses the blobmsg type as id (0 unspec,
// 1 array, 2 table, 3 string, 4 int64, 5 int32, 6 int16, 7 int8/bool,
// 8 double) and starts its payload with a name:
//
//	+-------------+----------------+-----+----------+------------------+
//	| namelen u16 | name (namelen) | NUL | pad to 4 | value            |
//	+-------------+----------------+-----+----------+------------------+
//
// e.g. {"name":"wire"}: 83 00 00 11 | 00 04 'n' 'a' 'm' 'e' 00 00 |
// 'w' 'i' 'r' 'e' 00 | 00 00 00. Array elements carry an empty name
// (00 00 00 00). The ubus DATA attribute holds the contents of a table.
//
// # Requests
//
// A request carries a fresh seq and a peer (0, or the target object id for
// INVOKE, 1 for events); ubusd answers with zero or more DATA messages and
// one STATUS, both with the request's seq and peer. An object owner receives
// INVOKE with peer = the caller's client id and answers DATA {OBJID, DATA}
// and STATUS {STATUS, OBJID} with the same seq and peer.
//
// # Concurrency
//
// A Conn has one reader goroutine that never blocks on user code, a bounded
// set of handler goroutines, and one delivery goroutine per event listener or
// subscription. All methods are safe for concurrent use.
package ubus
