package transport

import (
	"bytes"

	"github.com/ipopd/ipopd/internal/wire"
)

// Rerouting. A session relayed through a member (a lighthouse) must not
// die with that member: when a relay goes down, every session whose path
// or fallback runs through it moves to another up relay, without a new
// handshake, as on any path change. Both ends of such a session pick the
// same relay (the up relay with the lowest node id), and if they do not
// (their sets of up relays differ), each end follows the relay the
// other's records arrive by once its own went quiet (see follow).

// relaySilent is how long a relay's own session may stay silent before
// the sessions through it move to another relay: as long as a direct path
// gets before falling back to its relay. The relay notices the same
// silence long after (deadAfter), too late for the sessions through it,
// which would go silent at the same moment and die with it.
const relaySilentKeepalives = 2

// leaveSilentRelay moves session s off its relay if the relay went silent
// and another is up. The silence so far was the relay's, not the peer's:
// the session gets a full deadAfter on the new path. Called by the timer
// goroutine.
func (t *Transport) leaveSilentRelay(s *session, now int64) {
	cur := s.vc.path()
	if cur.relay == nil {
		return
	}
	rs := cur.relay.active.Load()
	if rs != nil && now-rs.lastRecv.Load() <= relaySilentKeepalives*int64(t.keepalive) {
		return
	}
	alt := t.relayOtherThan(cur.relay)
	if alt == nil {
		return
	}
	if ars := alt.active.Load(); ars == nil || now-ars.lastRecv.Load() > relaySilentKeepalives*int64(t.keepalive) {
		return
	}
	np := alt.relayPath(cur.peer)
	s.changePath(np, now)
	s.fallback.Store(&np)
	s.lastRecv.Store(now)
	t.log.Info("relay silent, session moved to another", append(s.logAttrs(), "was", cur.String())...)
}

// rerouteFrom moves the sessions relayed through dead to another relay.
func (t *Transport) rerouteFrom(dead *Peer) {
	if dead.Roles()&wire.RoleRelay == 0 {
		return
	}
	alt := t.relayOtherThan(dead)
	now := t.now()
	t.mu.Lock()
	var moved []*session
	for s := range t.sessions {
		if s.peer == dead {
			continue
		}
		if fb := s.fallback.Load(); fb != nil && fb.relay == dead {
			if alt == nil {
				s.fallback.Store(nil)
			} else {
				np := alt.relayPath(fb.peer)
				s.fallback.Store(&np)
			}
		}
		if cur := s.vc.path(); cur.relay == dead && alt != nil {
			moved = append(moved, s)
		}
	}
	t.mu.Unlock()
	for _, s := range moved {
		cur := s.vc.path()
		s.changePath(alt.relayPath(cur.peer), now)
		t.log.Info("relay went down, session moved to another", append(s.logAttrs(), "was", cur.String())...)
	}
}

// relayOtherThan returns the up relay with the lowest node id, not p.
func (t *Transport) relayOtherThan(p *Peer) *Peer {
	var best *Peer
	for _, q := range t.UpPeers() {
		if q == p || q.Roles()&wire.RoleRelay == 0 || q.active.Load() == nil {
			continue
		}
		if best == nil || bytes.Compare([]byte(q.NodeID), []byte(best.NodeID)) < 0 {
			best = q
		}
	}
	return best
}

// relayPath is the path to member node through relay p.
func (p *Peer) relayPath(node uint64) path {
	var addr = p.active.Load()
	pt := path{relay: p, peer: node}
	if addr != nil {
		pt.addr = addr.vc.endpoint()
	}
	return pt
}
