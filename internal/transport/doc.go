// Package transport owns the one UDP socket of a member and the encrypted
// links to its peers.
//
// Every link starts with a DTLS 1.2 handshake (pion/dtls) with mutual
// certificate authentication against the group CA. The DTLS session then
// carries control messages (package wire) only. Ethernet frames travel in a
// lean data channel keyed from the session with RFC 5705 exported keying
// material, as DTLS-SRTP does (RFC 5764): a fixed 13-byte header, an AEAD
// (the cipher the handshake negotiated: ChaCha20-Poly1305 or AES-GCM), a
// 2048-record replay window, and nothing allocated per record.
//
// A data channel key lives at most Config.RekeyInterval (120 s by
// default) and seals at most 2^24 records: then a fresh handshake on the
// link's path replaces the session, both keys overlap for a moment, and
// the old ones are dropped (rekey.go).
//
// # Datagram kinds
//
// The first byte of a datagram tells its kind (RFC 7983 ranges; see
// Classify): STUN 0-3, DTLS 20-63, TURN ChannelData 64-79, and ours, data
// 0xD0 and relay 0xD1, from the range no other protocol on the socket uses.
//
// # Data record
//
//	 0      1               5                               13
//	+------+---------------+-------------------------------+------------------+
//	| 0xD0 | receiver index| counter (big endian)          | AEAD(payload)+tag|
//	+------+---------------+-------------------------------+------------------+
//
// The receiver index (chosen by the receiver, sent in its Hello) finds the
// session without looking at the source address, so a peer whose NAT moves
// its port keeps its session. The header is the AEAD's additional data; the
// nonce is four zero bytes and the counter. The payload's first byte is its
// kind: a whole Ethernet frame, a fragment of one (id, offset, flags), a
// keepalive, or a flood through a lighthouse: reflect (a frame for the
// lighthouse to reflect) or reflected (origin node number, 8 bytes, then
// the frame). Fragments of a flood carry its kind in their flags, and the
// reassembled bytes of a reflected one begin with the origin (flood.go).
//
// # Send path (one copy: the TAP reader goroutine)
//
//  1. the switch hands a frame to SendFrame for one peer;
//  2. the frame is copied behind a header into a pooled buffer, split in
//     fragments if it does not fit the underlay MTU;
//  3. each record is sealed in place with the next counter;
//  4. written to the peer's current endpoint. SendFrames takes a run of
//     frames (the segments of one TSO frame, or a burst of small ones):
//     their records are sealed one after another into one buffer and,
//     when they are the same size and the path is direct, leave in one
//     sendmsg with UDP_SEGMENT (udpgso.go).
//
// # Receive path (one copy: the socket reader goroutine)
//
//  1. read a datagram, or with UDP GRO a run of them glued by the
//     kernel, each handled on its own; Classify;
//  2. DTLS records go to the session's virtual PacketConn, routed by
//     Connection ID once established, by source address during a handshake;
//  3. data records: index -> session, open in place, replay check,
//     reassemble fragments, hand the frame to Config.OnFrame;
//  4. after each read, Config.OnFlush (the switch writes what it glued).
//
// Each DTLS session has one goroutine reading its control messages; one
// timer goroutine sends keepalives and pings, starts rekeys (one goroutine
// per rekey in progress) and closes silent sessions;
// one goroutine per configured endpoint keeps a link to it.
package transport
