package transport

import (
	"encoding/binary"
	"encoding/hex"
	"net/netip"
)

// path is where a session's datagrams go: straight to the peer's address,
// or through a relay (a member that forwards them; see package relay's
// envelope in relay.go). The session above it does not change when the
// path does: data records are found by receiver index and DTLS records by
// Connection ID, whatever way they came.
type path struct {
	addr  netip.AddrPort // the peer's address (as a TURN server sees it, for turn), or the relay's
	relay *Peer          // a member relay, nil otherwise
	peer  uint64         // relayed: the far peer's node id, as the relay knows it
	turn  bool           // through our allocation on the TURN server
}

func directPath(a netip.AddrPort) path { return path{addr: a} }

func (p path) relayed() bool { return p.relay != nil || p.turn }

// key identifies a path for routing handshakes before a session exists.
type pathKey struct {
	addr netip.AddrPort
	peer uint64 // 0 for a direct path
	turn bool
}

func (p path) key() pathKey { return pathKey{addr: p.addr, peer: p.peer, turn: p.turn} }

// bytes spells the key out for the cookie MAC (see package dtlscookie).
func (k pathKey) bytes() [16 + 2 + 8 + 1]byte {
	var b [16 + 2 + 8 + 1]byte
	a := k.addr.Addr().As16()
	copy(b[:], a[:])
	binary.BigEndian.PutUint16(b[16:], k.addr.Port())
	binary.BigEndian.PutUint64(b[18:], k.peer)
	if k.turn {
		b[26] = 1
	}
	return b
}

func (p path) String() string {
	switch {
	case p.relay != nil:
		return "relay via " + p.relay.DisplayName()
	case p.turn:
		return "TURN"
	}
	return p.addr.String()
}

// NodeNumber turns a 16-hex-digit node id into the 8 bytes relays route
// by (and reflected floods name their origin by).
func NodeNumber(id string) (uint64, bool) {
	if len(id) != 16 {
		return 0, false
	}
	var b [8]byte
	if _, err := hex.Decode(b[:], []byte(id)); err != nil {
		return 0, false
	}
	return binary.BigEndian.Uint64(b[:]), true
}

// NodeIDString is NodeNumber's inverse.
func NodeIDString(n uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return hex.EncodeToString(b[:])
}
