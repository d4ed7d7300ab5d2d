package transport

import (
	"net/netip"
	"time"
)

// Path choice and hole punching.
//
// A relayed session keeps trying to go direct: it sends keepalive records
// straight to the peer's candidate addresses (what the lighthouse saw of
// it, and its own interface addresses). Both ends do so at once when a
// lighthouse tells them to (Punch), which opens each NAT for the other.
// The first authenticated record that arrives directly moves the receiving
// end to the direct path (receiveData); its next records go direct, and
// the other end follows the same way. Nothing is torn down: the session,
// its keys and counters stay.

const (
	// probeBurst is how long a punch keeps probing quickly; NAT bindings
	// open within a round trip or two, so a few seconds is plenty.
	probeBurst = 5 * time.Second
	// probeEvery is the probing period during a burst.
	probeEvery = 250 * time.Millisecond
)

// Path damping: a session moves between two working paths at most once
// per pathHold. Without it, two paths that both carry the peer's records
// (a NAT that keeps the old mapping open a while, a peer with two
// addresses) would make the session flip on every record.
const (
	pathHold = 3 * time.Second
	// pathQuiet: the current path counts as dead once it carried no
	// authenticated record for this long while another path did (a NAT
	// rebinding moves every record at once); then the hold does not apply.
	pathQuiet = time.Second
)

// follow decides whether a session moves from path cur to path next on an
// authenticated record that arrived by next: the record proves that next
// carries the peer's packets. Direct beats relayed; a relayed path
// replaces a direct one only once the direct one went quiet; a move
// between two paths of the same kind waits out pathHold unless the current
// path went quiet. An address on the overlay itself is never followed.
func (t *Transport) follow(s *session, cur, next path, now int64) bool {
	if !next.relayed() && !t.pathOK(next.addr) {
		t.stPathRefused.Add(1)
		return false
	}
	since := s.pathSince.Load() // 0: the path the session began on
	settled := since == 0 || now-since >= int64(pathHold) || now-s.lastOnPath.Load() > int64(pathQuiet)
	switch {
	case !next.relayed() && cur.relayed():
		return true // a punched hole opened, or the direct path is back
	case !next.relayed():
		return settled // the NAT rebound to a new port, or another address of the peer
	case !cur.relayed():
		// The peer went back to a relay because our records stopped
		// reaching it; if nothing came direct from it for pathQuiet
		// either, the direct path is broken both ways (an address that
		// moved, a NAT that lost its mapping): follow it at once.
		return now-s.lastDirect.Load() > int64(pathQuiet)
	default:
		return settled // another relay
	}
}

// pathOK reports whether a peer may be reached directly at ap.
func (t *Transport) pathOK(ap netip.AddrPort) bool {
	return t.cfg.PathOK == nil || t.cfg.PathOK(ap.Addr())
}

// Probe sends hole-punching probes from the session with p to each
// candidate address, every probeEvery for probeBurst, unless the session
// is already direct. It returns at once; the probing runs in the timer
// goroutine's schedule.
func (t *Transport) Probe(p *Peer, candidates []netip.AddrPort) {
	s := p.active.Load()
	if s == nil {
		return
	}
	var ok []netip.AddrPort
	for _, c := range candidates {
		if t.pathOK(c) {
			ok = append(ok, c)
		} else {
			t.stPathRefused.Add(1)
		}
	}
	if len(ok) == 0 {
		return
	}
	now := t.now()
	s.mu.Lock()
	s.candidates = append(s.candidates[:0], ok...)
	s.probeUntil = now + int64(probeBurst)
	s.mu.Unlock()
	// The first round goes out now, not on the next timer tick: both ends
	// start when the lighthouse's Punch arrives, and their first probes
	// must cross on the wire (a probe that reaches a NAT before that NAT
	// sent anything spoils a port-restricted punch).
	t.probe(s, now)
}

// probeLocked sends one round of probes if a burst is on. Called by the
// timer loop for relayed sessions.
func (t *Transport) probe(s *session, now int64) {
	if !s.vc.path().relayed() {
		return
	}
	s.mu.Lock()
	cands := s.candidates
	until := s.probeUntil
	last := s.lastProbe
	// Only in bursts: a lone probe between them could reach the far NAT
	// before it opened, and spoil the next coordinated punch.
	due := now <= until && now-last >= int64(probeEvery)
	if due {
		s.lastProbe = now
	}
	s.mu.Unlock()
	if !due {
		return
	}
	for _, c := range cands {
		t.sendKeepaliveOn(s, directPath(c))
	}
}
