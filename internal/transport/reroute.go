package transport

import "github.com/ipopd/ipopd/internal/wire"

// Rerouting. A session relayed through a member (a lighthouse) must not
// die with that member: when a relay goes down or silent, every session
// whose path or fallback runs through it moves to another up relay,
// without a new handshake, as on any path change. Both ends of such a
// session pick the same relay (the up relay with the lowest node id), and
// if they do not (their sets of up relays differ), each end follows the
// relay the other's records arrive by once its own went quiet (see
// follow). A session is never routed through its own peer.

// relaySilentKeepalives is how long (in keepalives) a relay's own session
// may stay silent before the sessions through it move to another relay:
// as long as a direct path gets before falling back to its relay. The
// relay notices the same silence long after (deadAfter), too late for the
// sessions through it, which would go silent at the same moment and die
// with it.
const relaySilentKeepalives = 2

// relayVia returns the path to session s's peer through the up relay with
// the lowest node id that is neither the peer nor not; ok is false when
// there is none.
func (t *Transport) relayVia(s *session, not *Peer) (path, bool) {
	num, ok := NodeNumber(s.peer.NodeID)
	if !ok {
		return path{}, false
	}
	var best *Peer
	for _, q := range t.UpPeers() {
		if q == s.peer || q == not || q.Roles()&wire.RoleRelay == 0 {
			continue
		}
		if best == nil || q.NodeID < best.NodeID {
			best = q
		}
	}
	if best == nil {
		return path{}, false
	}
	return best.relayPath(num), true
}

// relayFor is the relayed path to reach session s's peer when its direct
// path went silent: the session's fallback if that relay is up (or it is
// TURN), else another up relay, which reaches every member registered
// with it.
func (t *Transport) relayFor(s *session) (path, bool) {
	if fb := s.fallback.Load(); fb != nil && (fb.turn || fb.relay != nil && fb.relay != s.peer && fb.relay.active.Load() != nil) {
		return *fb, true
	}
	return t.relayVia(s, nil)
}

// moveToRelay puts session s on relayed path p, which becomes its
// fallback too, and punches again from there.
func (t *Transport) moveToRelay(s *session, p path, now int64, why string) {
	was := s.vc.path()
	s.changePath(p, now)
	s.fallback.Store(&p)
	s.mu.Lock()
	s.probeUntil = now + int64(probeBurst)
	s.mu.Unlock()
	t.log.Info(why, append(s.logAttrs(), "was", was.String())...)
}

// leaveSilentRelay moves session s off its relay if the relay went silent
// and another, not silent, is up. The silence so far was the relay's, not
// the peer's: the session gets a full deadAfter on the new path. Called
// by the timer goroutine.
func (t *Transport) leaveSilentRelay(s *session, now int64) {
	cur := s.vc.path()
	if cur.relay == nil || !t.relaySilent(cur.relay, now) {
		return
	}
	np, ok := t.relayVia(s, cur.relay)
	if !ok || t.relaySilent(np.relay, now) {
		return
	}
	t.moveToRelay(s, np, now, "relay silent, session moved to another")
	s.lastRecv.Store(now)
}

// relaySilent reports whether relay r's own session went silent.
func (t *Transport) relaySilent(r *Peer, now int64) bool {
	rs := r.active.Load()
	return rs == nil || now-rs.lastRecv.Load() > relaySilentKeepalives*int64(t.keepalive)
}

// rerouteFrom moves the sessions relayed through dead, which went down,
// to another relay, and drops dead as their fallback.
func (t *Transport) rerouteFrom(dead *Peer) {
	if dead.Roles()&wire.RoleRelay == 0 {
		return
	}
	now := t.now()
	t.mu.Lock()
	var through []*session
	for s := range t.sessions {
		if s.peer == dead {
			continue
		}
		if fb := s.fallback.Load(); fb != nil && fb.relay == dead || s.vc.path().relay == dead {
			through = append(through, s)
		}
	}
	t.mu.Unlock()
	for _, s := range through {
		np, ok := t.relayVia(s, dead)
		switch {
		case ok && s.vc.path().relay == dead:
			t.moveToRelay(s, np, now, "relay went down, session moved to another")
		case ok:
			s.fallback.Store(&np)
		default:
			s.fallback.Store(nil)
		}
	}
}

// relayPath is the path to member node through relay p.
func (p *Peer) relayPath(node uint64) path {
	pt := path{relay: p, peer: node}
	if s := p.active.Load(); s != nil {
		pt.addr = s.vc.endpoint()
	}
	return pt
}
