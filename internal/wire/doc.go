// Package wire defines the control messages that members exchange inside
// their DTLS sessions, and their CBOR encoding.
//
// A control message is one DTLS application-data record:
//
//	+--------+---------------------------------------+
//	| type   | body: CBOR (Core Deterministic), a map |
//	| 1 byte | with small integer keys                |
//	+--------+---------------------------------------+
//
// Unknown types are reported as ErrUnknownType so that a newer peer can
// send messages an older one skips. Bodies are decoded with size and depth
// limits: a peer is authenticated, but a bug on its side must not cost us
// memory.
package wire
