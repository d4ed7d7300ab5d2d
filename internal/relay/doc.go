// Package relay is the protocol logic of relaying through a standard TURN
// server (RFC 8656): a client that allocates a relayed address with
// long-term credentials, keeps it and its permissions alive, and wraps and
// unwraps datagrams in Send and Data indications. It opens no sockets and
// reads no clock: the transport feeds it the TURN server's messages and
// the time, and sends what it returns on the member's one UDP socket.
//
// Relaying through member lighthouses needs no logic of its own beyond the
// envelope in package transport.
package relay
