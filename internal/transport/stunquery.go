package transport

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/ipopd/ipopd/internal/nat"
)

// QuerySTUN asks the STUN server at server (a lighthouse answers STUN on
// its port) which address this node's socket has towards it: the public
// address and port its NAT maps the socket to, or its own address when
// there is no NAT. The request leaves from the transport's one socket, so
// the answer is the mapping other members see. It retransmits until ctx
// ends.
func (t *Transport) QuerySTUN(ctx context.Context, server netip.AddrPort) (netip.AddrPort, error) {
	server = netip.AddrPortFrom(server.Addr().Unmap(), server.Port())
	if !t.pathOK(server) {
		return netip.AddrPort{}, fmt.Errorf("stun %s: %w", server, ErrOverlayAddress)
	}
	req, id := nat.BindingRequest()
	q := &stunQuery{server: server, answer: make(chan netip.AddrPort, 1)}
	stunPending.Store(id, q)
	defer stunPending.Delete(id)
	tick := time.NewTicker(stunRetransmit)
	defer tick.Stop()
	for {
		if _, err := t.conn.WriteToUDPAddrPort(req, server); err != nil {
			t.stSendErrors.Add(1)
		}
		select {
		case ap := <-q.answer:
			return ap, nil
		case <-ctx.Done():
			return netip.AddrPort{}, fmt.Errorf("stun %s: no answer: %w", server, ctx.Err())
		case <-t.ctx.Done():
			return netip.AddrPort{}, ErrClosed
		case <-tick.C:
		}
	}
}

// stunRetransmit is the pause before a binding request is sent again:
// a round trip to a lighthouse, with room.
const stunRetransmit = 500 * time.Millisecond

// stunQuery is one QuerySTUN in flight.
type stunQuery struct {
	server netip.AddrPort
	answer chan netip.AddrPort // buffered: one answer
}

// stunPending holds the queries in flight by transaction id (random, so
// the transports of one process may share the table).
var stunPending sync.Map // [nat.TransactionIDSize]byte -> *stunQuery

// stunAnswer hands a binding response to the query it answers; it reports
// whether b was one (from the server asked).
func stunAnswer(b []byte, from netip.AddrPort) bool {
	const headerLen = 20
	if len(b) < headerLen {
		return false
	}
	id := [nat.TransactionIDSize]byte(b[8:headerLen])
	v, ok := stunPending.Load(id)
	if !ok {
		return false
	}
	q := v.(*stunQuery)
	if netip.AddrPortFrom(from.Addr().Unmap(), from.Port()) != q.server {
		return false
	}
	ap, err := nat.MappedAddress(b, id)
	if err != nil {
		return false
	}
	select {
	case q.answer <- ap:
	default:
	}
	return true
}
