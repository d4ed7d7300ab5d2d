package transport

import (
	"encoding/binary"
	"net/netip"
)

// Relaying. A member that relays (a lighthouse) forwards datagrams
// between two members that cannot reach each other directly. It forwards
// them as they are: the two members' own DTLS session and data records run
// end to end through it, so it sees only ciphertext.
//
//	 0      1      2                    10
//	+------+------+--------------------+-------------------------------+
//	| 0xD1 | kind | node id (8 bytes)  | the datagram (DTLS or data)    |
//	+------+------+--------------------+-------------------------------+
//
// kind relayTo: member -> relay, node id = the destination;
// kind relayFrom: relay -> member, node id = the source.
//
// A relay forwards only between members it has up sessions with, and only
// what arrives from such a member's current address, so unauthenticated
// senders cannot use it; the far member authenticates the inner datagram
// itself.

const (
	relayHeaderLen = 10
	relayTo        = 1
	relayFrom      = 2
)

// putRelayHeader writes an envelope header into b[:relayHeaderLen].
func putRelayHeader(b []byte, kind byte, node uint64) {
	b[0] = markerRelay
	b[1] = kind
	binary.BigEndian.PutUint64(b[2:], node)
}

// parseRelay splits an envelope. It never panics.
func parseRelay(b []byte) (kind byte, node uint64, inner []byte, ok bool) {
	if len(b) <= relayHeaderLen || b[0] != markerRelay || (b[1] != relayTo && b[1] != relayFrom) {
		return 0, 0, nil, false
	}
	return b[1], binary.BigEndian.Uint64(b[2:relayHeaderLen]), b[relayHeaderLen:], true
}

// writeRecord sends a record built at b[relayHeaderLen:] on path p, using
// the headroom in front for the envelope when p is relayed.
func (t *Transport) writeRecord(b []byte, p path) error {
	if p.turn {
		return t.writeTURN(b[relayHeaderLen:], p.addr)
	}
	if !p.relayed() {
		_, err := t.conn.WriteToUDPAddrPort(b[relayHeaderLen:], p.addr)
		return err
	}
	rs := p.relay.active.Load()
	if rs == nil {
		return ErrNotReady
	}
	putRelayHeader(b, relayTo, p.peer)
	_, err := t.conn.WriteToUDPAddrPort(b, rs.vc.endpoint())
	return err
}

// writeTo sends a datagram without headroom (DTLS records from pion) on
// path p. It copies for relayed paths: the control path, not per frame.
func (t *Transport) writeTo(b []byte, p path) (int, error) {
	if p.turn {
		if err := t.writeTURN(b, p.addr); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	if !p.relayed() {
		return t.conn.WriteToUDPAddrPort(b, p.addr)
	}
	buf := make([]byte, relayHeaderLen+len(b))
	copy(buf[relayHeaderLen:], b)
	if err := t.writeRecord(buf, p); err != nil {
		return 0, err
	}
	return len(b), nil
}

// peerAtAddr finds the up peer whose session runs directly to addr.
func (t *Transport) peerAtAddr(addr netip.AddrPort) *Peer {
	for _, p := range t.UpPeers() {
		if s := p.active.Load(); s != nil {
			if pa := s.vc.path(); !pa.relayed() && pa.addr == addr {
				return p
			}
		}
	}
	return nil
}

// receiveRelay handles an envelope: forward it (we are the relay) or
// unwrap it (it was relayed to us).
func (t *Transport) receiveRelay(b []byte, from netip.AddrPort, nonce *[nonceLen]byte) {
	kind, node, inner, ok := parseRelay(b)
	if !ok {
		t.stNotDTLS.Add(1)
		return
	}
	sender := t.peerAtAddr(from)
	if sender == nil {
		t.stRelayDropped.Add(1) // not from a member we have a session with
		return
	}
	switch kind {
	case relayTo:
		if !t.cfg.Relay {
			t.stRelayDropped.Add(1)
			return
		}
		dst := t.peerByNum(node)
		if dst == nil {
			t.stRelayDropped.Add(1)
			return
		}
		ds := dst.active.Load()
		if ds == nil || ds.vc.path().relayed() {
			t.stRelayDropped.Add(1) // no chains of relays
			return
		}
		src, ok := NodeNumber(sender.NodeID)
		if !ok {
			return
		}
		// Rewrite the header in place: the envelope keeps its size.
		putRelayHeader(b, relayFrom, src)
		if _, err := t.conn.WriteToUDPAddrPort(b, ds.vc.endpoint()); err != nil {
			t.stSendErrors.Add(1)
			return
		}
		t.stRelayed.Add(1)
	case relayFrom:
		p := path{addr: from, relay: sender, peer: node}
		switch Classify(inner) {
		case KindData:
			t.receiveData(inner, p, nonce)
		case KindDTLS:
			t.receiveDTLS(inner, p)
		default:
			t.stNotDTLS.Add(1)
		}
	}
}

// peerByNum finds a peer by the numeric form of its node id.
func (t *Transport) peerByNum(n uint64) *Peer { return t.Peer(NodeIDString(n)) }
