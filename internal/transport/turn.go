package transport

import (
	"net/netip"
	"time"
)

// TURN. With Config.TURN set, the member keeps an allocation on a standard
// TURN server (coturn): a relayed address there that others can send to
// when no member can relay and hole punching cannot work. What arrives on
// it comes to us in Data indications; we answer through the allocation in
// Send indications (package relay builds both). Sessions over it are
// ordinary sessions on a "turn" path.

// turnOverhead is what a Send indication adds: header (20), XOR-PEER-
// ADDRESS for IPv6 (24), the DATA attribute header (4) and its padding (3).
const turnOverhead = 20 + 24 + 4 + 3

// turnTick sends what the TURN client has due (allocation, refreshes,
// permissions, retransmissions). Called by the timer goroutine.
func (t *Transport) turnTick() {
	if t.turn == nil {
		return
	}
	t.turnMu.Lock()
	msgs := t.turn.Tick(time.Now())
	t.turnMu.Unlock()
	for _, m := range msgs {
		if _, err := t.conn.WriteToUDPAddrPort(m, t.turnServer); err != nil {
			t.stSendErrors.Add(1)
		}
	}
}

// receiveTURN takes a message from the TURN server: a response for the
// client, or a Data indication carrying a peer's datagram.
func (t *Transport) receiveTURN(b []byte, nonce *[nonceLen]byte) {
	t.turnMu.Lock()
	had, _ := t.turn.Relayed()
	peer, data, send, err := t.turn.Handle(b, time.Now())
	now, _ := t.turn.Relayed()
	t.turnMu.Unlock()
	for _, m := range send {
		_, _ = t.conn.WriteToUDPAddrPort(m, t.turnServer)
	}
	if err != nil {
		t.log.Debug("TURN", "server", t.turnServer.String(), "err", err)
		return
	}
	if now != had && now.IsValid() {
		t.log.Info("TURN relayed address allocated", "server", t.turnServer.String(), "relayed", now.String())
	}
	if data == nil {
		return
	}
	p := path{addr: peer, turn: true}
	switch Classify(data) {
	case KindData:
		t.receiveData(data, p, nonce)
	case KindDTLS:
		t.receiveDTLS(data, p)
	default:
		t.stNotDTLS.Add(1)
	}
}

// writeTURN sends a datagram to peer through our allocation. It copies:
// TURN is the path of last resort, not the fast path.
func (t *Transport) writeTURN(b []byte, peer netip.AddrPort) error {
	if t.turn == nil {
		return ErrNotReady
	}
	t.turnMu.Lock()
	m := t.turn.Send(peer, b)
	t.turnMu.Unlock()
	_, err := t.conn.WriteToUDPAddrPort(m, t.turnServer)
	return err
}

// TURNRelayed returns the member's relayed address on its TURN server.
func (t *Transport) TURNRelayed() (netip.AddrPort, bool) {
	if t.turn == nil {
		return netip.AddrPort{}, false
	}
	t.turnMu.Lock()
	defer t.turnMu.Unlock()
	return t.turn.Relayed()
}

// PermitTURN lets these peer addresses send to our relayed address.
func (t *Transport) PermitTURN(ips []netip.Addr) {
	if t.turn == nil {
		return
	}
	t.turnMu.Lock()
	defer t.turnMu.Unlock()
	for _, ip := range ips {
		t.turn.Permit(ip)
	}
}
