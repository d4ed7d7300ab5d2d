// Package nat holds the pure pieces of NAT traversal: the STUN binding
// responder every lighthouse runs on its one port, the STUN client query
// used to learn a mapped address, and local candidate gathering. It opens
// no sockets: the transport feeds it datagrams and sends what it returns.
package nat
