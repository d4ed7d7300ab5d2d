package transport

import (
	"net/netip"

	"github.com/ipopd/ipopd/internal/nat"
)

// receiveSTUN answers STUN binding requests when this member is a
// lighthouse: each member (and any STUN client) learns the address its
// NAT gives it towards us. Answers to this node's own QuerySTUN go to it;
// everything else STUN is dropped.
func (t *Transport) receiveSTUN(b []byte, from netip.AddrPort) {
	if stunAnswer(b, from) { // an answer to our own QuerySTUN
		return
	}
	if !t.cfg.Lighthouse {
		t.stNotDTLS.Add(1)
		return
	}
	resp, ok := nat.BindingResponse(b, from)
	if !ok {
		t.stNotDTLS.Add(1)
		return
	}
	if _, err := t.conn.WriteToUDPAddrPort(resp, from); err != nil {
		t.stSendErrors.Add(1)
	}
}
