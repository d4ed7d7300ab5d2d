package transport

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/ipopd/ipopd/internal/wire"
)

// A peer that restarts without a Bye (a crash, a power cut, SIGKILL) comes
// back as a new instance that knows nothing of our session: it drops our
// records as unknown, and it may not be able to dial us (we are behind a
// NAT, or it has no endpoint for us). Waiting for dead-peer detection (four
// keepalives, 20 s by default) to notice costs the link that long. Instead
// a session that stops answering is asked at once: frames went out and
// nothing came back for quietProbe -> a Ping; two Pings unanswered -> a new
// handshake on the same path (or through the relay the session began on,
// if it has one and the direct path is what went silent). A new instance
// answers it, and its Hello
// replaces the old session at once (onHello: the newer instance wins). A
// peer that was only slow answers the Pings and nothing happens; if the
// handshake completes with the same instance, the new session takes over
// like a rekey.
const (
	// quietProbe: how long a peer that we sent frames to may stay silent
	// before we ping it, and the spacing of those pings. Replies to
	// traffic (TCP ACKs, echo replies) and pongs come within a round trip.
	quietProbe = 300 * time.Millisecond
	// quietRedial: silence after which, with two probe pings unanswered
	// for pongWait (or two round trips, if longer), a new handshake starts.
	quietRedial = 600 * time.Millisecond
	pongWait    = 250 * time.Millisecond
	// redialTimeout bounds one such handshake: a restarted peer answers
	// within a round trip or two; a gone one should not hold the next try.
	redialTimeout = 2 * time.Second
	// directRedial bounds the direct attempt when a relay is there to try
	// next: a round trip or a few; the relay reaches a restarted peer too.
	directRedial = 400 * time.Millisecond
	// simultaneousWindow: two sessions with one peer instance whose
	// handshakes ended this close together were dialled at once by both
	// ends (onHello's tie-break); a session made later replaces the other.
	simultaneousWindow = 2 * time.Second
)

// quietState is the timer goroutine's view of one session's silence.
type quietState struct {
	lastRecv  int64  // the session's lastRecv when counting began
	framesOut uint64 // the peer's frames out at that moment
	pings     int    // probe pings since
	// calmUntil: a probe was just answered; frames sent count as
	// expecting an answer again only after it (a one-way stream would
	// otherwise be probed every quietProbe).
	calmUntil int64
	nextDial  int64 // nanotime before which no redial starts
	dialing   atomic.Bool
}

// checkQuiet runs on the timer goroutine for every ready session: it pings
// a session that went silent while we sent it frames, and makes a new
// handshake when the pings go unanswered.
func (t *Transport) checkQuiet(s *session, now int64) {
	q := &s.quiet
	lr := s.lastRecv.Load()
	out := s.peer.framesOut.Load()
	if lr != q.lastRecv {
		if q.pings > 0 {
			q.calmUntil = now + int64(t.keepalive)
		}
		q.lastRecv, q.framesOut, q.pings = lr, out, 0
	}
	silent := now - lr
	// Something should have come back: we sent frames, or pinged.
	expecting := (out != q.framesOut && now >= q.calmUntil) || q.pings > 0 || s.lastPing.Load() > lr
	if !expecting || silent < int64(quietProbe) {
		return
	}
	sincePing := now - s.lastPing.Load()
	if q.pings >= 2 && silent >= int64(quietRedial) && sincePing >= max(int64(pongWait), 2*s.peer.rtt.Load()) {
		p := s.vc.path()
		var via path // the relay to try when the direct path does not answer
		if fb, ok := t.relayFor(s); ok && !p.relayed() {
			// Nothing at all arrives on the direct path: the peer's
			// address moved, or a NAT on the way lost our mapping and
			// filters the peer's records. A relay still reaches it.
			t.moveToRelay(s, fb, now, "direct path silent, back to the relay")
			via = fb
		}
		if now >= q.nextDial && q.dialing.CompareAndSwap(false, true) {
			q.nextDial = now + int64(directRedial+redialTimeout)
			t.mu.Lock()
			if t.closed {
				t.mu.Unlock()
				q.dialing.Store(false)
				return
			}
			t.wg.Add(1)
			t.mu.Unlock()
			go t.redial(s, q, p, via)
		}
	}
	if sincePing >= int64(quietProbe) {
		if q.pings == 0 {
			t.nudgeRelays(s, now)
		}
		s.ping(now)
		q.pings++
	}
}

// nudgeRelays sends a keepalive to every up relay (lighthouse) but s's
// peer, at most once per quietProbe. A peer going quiet may mean that our
// own address moved (a new public address, a NAT that remapped us): a
// relay learns the new address only from our next record to it, and until
// then it relays the peer's traffic for us to the old one. On an idle
// link that record would be up to a keepalive away.
func (t *Transport) nudgeRelays(s *session, now int64) {
	if now-t.lastNudge < int64(quietProbe) {
		return
	}
	t.lastNudge = now
	for _, p := range t.UpPeers() {
		if p == s.peer || p.Roles()&wire.RoleRelay == 0 {
			continue
		}
		if rs := p.active.Load(); rs != nil && rs.ready.Load() {
			t.sendKeepalive(rs)
		}
	}
}

// redial makes a new handshake with a silent session's peer on path p
// (the direct path the session was on, or its relayed one), and if that
// does not answer within directRedial, through relay via (when set). The
// new session replaces the silent one on both ends (onHello), whichever of
// the two reasons made it silent: a new instance of the peer, or a direct
// path that died one way (the peer keeps sending into it until its own
// session moves). Direct first: a restarted peer answers there, and a
// session made through the relay would stay relayed until the next punch.
// One at a time per session.
func (t *Transport) redial(s *session, q *quietState, p, via path) {
	defer t.wg.Done()
	defer q.dialing.Store(false)
	t.log.Debug("peer silent, new handshake", append(s.logAttrs(), "silent", time.Duration(t.now()-s.lastRecv.Load()).Round(time.Millisecond).String())...)
	limit := redialTimeout
	if via.relayed() {
		// A DTLS handshake is three round trips or so.
		limit = max(directRedial, 4*time.Duration(s.peer.rtt.Load()))
	}
	ctx, cancel := context.WithTimeout(t.ctx, limit)
	var fb path
	if f := s.fallback.Load(); f != nil {
		fb = *f
	}
	_, err := t.connectFallback(ctx, p, fb)
	cancel()
	if err != nil && via.relayed() && t.ctx.Err() == nil {
		ctx, cancel := context.WithTimeout(t.ctx, redialTimeout)
		_, err = t.connect(ctx, via)
		cancel()
	}
	if err != nil {
		t.log.Debug("new handshake with a silent peer failed", append(s.logAttrs(), "err", err)...)
	}
}

// AddressesChanged tells the transport that this machine's addresses
// changed: every ready session sends a keepalive at once, so that each
// peer (a relay first of all) learns our new address from it now rather
// than at the next keepalive, and follows it (see follow).
func (t *Transport) AddressesChanged() {
	t.mu.Lock()
	ss := make([]*session, 0, len(t.sessions))
	for s := range t.sessions {
		ss = append(ss, s)
	}
	t.mu.Unlock()
	for _, s := range ss {
		if s.ready.Load() {
			t.sendKeepalive(s)
		}
	}
}
