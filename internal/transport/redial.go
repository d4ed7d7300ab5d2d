package transport

import (
	"context"
	"sync/atomic"
	"time"
)

// A peer that restarts without a Bye (a crash, a power cut, SIGKILL) comes
// back as a new instance that knows nothing of our session: it drops our
// records as unknown, and it may not be able to dial us (we are behind a
// NAT, or it has no endpoint for us). Waiting for dead-peer detection (four
// keepalives, 20 s by default) to notice costs the link that long. Instead
// a session that stops answering is asked at once: frames went out and
// nothing came back for quietProbe -> a Ping; two Pings unanswered -> a new
// handshake on the same path. A new instance answers it, and its Hello
// replaces the old session at once (onHello: the newer instance wins). A
// peer that was only slow answers the Pings and nothing happens; if the
// handshake completes with the same instance, the new session takes over
// like a rekey.
const (
	// quietProbe: how long a peer that we sent frames to may stay silent
	// before we ping it, and the spacing of those pings. Replies to
	// traffic (TCP ACKs, echo replies) and pongs come within a round trip.
	quietProbe = 500 * time.Millisecond
	// quietRedial: silence after which, with two probe pings unanswered,
	// a new handshake starts.
	quietRedial = 1500 * time.Millisecond
	// redialTimeout bounds one such handshake: a restarted peer answers
	// within a round trip or two; a gone one should not hold the next try.
	redialTimeout = 2 * time.Second
)

// quietState is the timer goroutine's view of one session's silence.
type quietState struct {
	lastRecv  int64  // the session's lastRecv when counting began
	framesOut uint64 // the peer's frames out at that moment
	pings     int    // probe pings since
	nextDial  int64  // nanotime before which no redial starts
	dialing   atomic.Bool
}

// checkQuiet runs on the timer goroutine for every ready session: it pings
// a session that went silent while we sent it frames, and makes a new
// handshake when the pings go unanswered.
func (t *Transport) checkQuiet(s *session, q *quietState, now int64) {
	lr := s.lastRecv.Load()
	out := s.peer.framesOut.Load()
	if lr != q.lastRecv {
		q.lastRecv, q.framesOut, q.pings = lr, out, 0
	}
	silent := now - lr
	// Something should have come back: we sent frames, or pinged.
	expecting := out != q.framesOut || q.pings > 0 || s.lastPing.Load() > lr
	if !expecting || silent < int64(quietProbe) || now-s.lastPing.Load() < int64(quietProbe) {
		return
	}
	if q.pings >= 2 && silent >= int64(quietRedial) {
		if now >= q.nextDial && q.dialing.CompareAndSwap(false, true) {
			q.nextDial = now + int64(redialTimeout)
			t.mu.Lock()
			if t.closed {
				t.mu.Unlock()
				q.dialing.Store(false)
				return
			}
			t.wg.Add(1)
			t.mu.Unlock()
			go t.redial(s, q)
		}
	}
	s.ping(now)
	q.pings++
}

// redial makes a new handshake with a silent session's peer on the
// session's own path. One at a time per session.
func (t *Transport) redial(s *session, q *quietState) {
	defer t.wg.Done()
	defer q.dialing.Store(false)
	p := s.vc.path()
	t.log.Debug("peer silent, new handshake", append(s.logAttrs(), "silent", time.Duration(t.now()-s.lastRecv.Load()).Round(time.Millisecond).String())...)
	ctx, cancel := context.WithTimeout(t.ctx, redialTimeout)
	defer cancel()
	if _, err := t.connect(ctx, p); err != nil {
		t.log.Debug("new handshake with a silent peer failed", append(s.logAttrs(), "err", err)...)
	}
}
