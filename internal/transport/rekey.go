package transport

import (
	"context"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net/netip"
	"sync/atomic"
	"time"
)

// Rekeying. A data channel key lives at most Config.RekeyInterval, and
// seals at most recordLimit records. A rekey is a fresh DTLS handshake
// (ECDHE, both certificates checked by Config.Verify, no resumption) on
// the path the session uses now, direct or relayed, made in the
// background. When the peer's Hello for it arrives, onHello makes the new
// session active and gives the old one retireGrace to live: both sessions,
// each with its own receiver index, keys and replay window, stay in
// byIndex, so records in flight or reordered under the old key still
// open, and nothing is lost in the switch. Then the old session closes and
// its keys go (session.keys); a record under them is dropped as unknown.
// The peer never goes down for it: OnPeerUp and OnPeerDown do not fire.
//
// The client of a session starts its rekey; the server starts one itself
// only rekeyMargin later, for a client that does not (an older version, a
// silent one). A rekey that the peer's certificate check refuses ends the
// session at once; one lost on the network is tried again every
// rekeyRetry, and a key older than rekeyHard intervals ends its session
// (the daemon's dialling makes a new one). At every rekey the peer's
// certificate is also checked again as a handshake would check it now, so
// an expired or revoked one ends the session there, whether or not the
// handshake happens.

// DefaultRekeyInterval is Config.RekeyInterval's default, WireGuard's.
const DefaultRekeyInterval = 120 * time.Second

const (
	// rekeyJitter: a client starts its rekey up to 1/rekeyJitter of the
	// interval early, so that a lighthouse's sessions, most made at its
	// start, do not all rekey in the same second.
	rekeyJitter = 20
	// rekeyRetry bounds one rekey handshake and spaces the attempts after
	// one failed on the network: a handshake with a retransmission or two,
	// and three or four tries before the key gets too old (at the 10 s
	// minimum interval, two).
	rekeyRetry = 5 * time.Second
	// rekeyHard: a key older than this many intervals ends its session.
	rekeyHard = 2
)

// rekeyMargin is how long past the interval a session's server waits for
// its client's rekey before starting one itself: longer than the client's
// jitter and a handshake on a slow path (2.5 s at the 10 s minimum), and
// short of the hard limit. The server's rekey swaps the roles; it must
// come later than simultaneousWindow after the session began, or onHello
// would take it for both ends dialling at once (intervals of 10 s and
// more make sure).
func rekeyMargin(iv time.Duration) time.Duration { return iv / 4 }

// rekeyWait is rekeyRetry, shorter for intervals below the UCI minimum
// (tests).
func rekeyWait(iv time.Duration) time.Duration { return min(rekeyRetry, iv/2) }

// rekeyState is the timer goroutine's account of one session's rekey.
type rekeyState struct {
	running atomic.Bool
	failed  atomic.Bool  // the last attempt failed on the network
	worn    atomic.Bool  // the peer's records passed 7/8 of the record limit
	nextTry atomic.Int64 // nanotime before which no attempt starts
}

// rekeyAfter is the key age at which a new session's client starts its
// rekey.
func (t *Transport) rekeyAfter() int64 {
	iv := int64(t.cfg.RekeyInterval)
	return iv - rand.Int64N(iv/rekeyJitter+1)
}

// checkRekey runs on the timer goroutine for every ready session that is
// not being replaced. It ends a session whose key is too old or used up,
// and starts a rekey when one is due. It reports whether s closed.
func (t *Transport) checkRekey(s *session, now int64) bool {
	iv := t.cfg.RekeyInterval
	age := time.Duration(now - s.created)
	r := &s.rekey
	running := r.running.Load()
	sent := s.sendCounter.Load()
	switch {
	case age >= rekeyHard*iv:
		s.close("key expired: no rekey for " + age.Round(time.Second).String())
		return true
	case sent >= recordLimit && !running && r.failed.Load():
		s.close("key used up and its rekey failed")
		return true
	}
	due := age >= time.Duration(s.rekeyAfter)
	if !s.client {
		due = age >= iv+rekeyMargin(iv)
	}
	if sent >= recordLimit/4*3 || r.worn.Load() {
		due = true // a busy link: well before the AEAD's limit
	}
	if !due || running || now < r.nextTry.Load() {
		return false
	}
	return t.startRekey(s, now)
}

// startRekey checks the peer's certificate again and starts a rekey of s.
// It reports whether s closed.
func (t *Transport) startRekey(s *session, now int64) bool {
	r := &s.rekey
	// The peer's certificate as a handshake would check it now: an
	// expired or revoked one ends the session here even if the peer does
	// not take part in a new handshake.
	if len(s.id.CertDER) > 0 {
		if _, err := t.cfg.Verify([][]byte{s.id.CertDER}); err != nil {
			s.close("peer certificate no longer valid: " + err.Error())
			return true
		}
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return false
	}
	if !r.running.CompareAndSwap(false, true) {
		t.mu.Unlock()
		return false
	}
	t.wg.Add(1)
	t.mu.Unlock()
	r.nextTry.Store(now + int64(rekeyWait(t.cfg.RekeyInterval)))
	go t.rekey(s)
	return false
}

// rekey makes the new handshake for s on its current path. The new
// session takes over in onHello; this only judges a failure.
func (t *Transport) rekey(s *session) {
	defer t.wg.Done()
	defer s.rekey.running.Store(false)
	p := s.vc.path()
	var fb path
	if f := s.fallback.Load(); f != nil {
		fb = *f
	}
	ctx, cancel := context.WithTimeout(t.ctx, rekeyWait(t.cfg.RekeyInterval))
	// A session that closes meanwhile (dead peer, too old a key) needs no
	// new keys: the daemon's dialling makes a new session.
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	ns, err := t.dialSession(ctx, p, fb)
	cancel()
	if err != nil && t.ctx.Err() == nil && !errors.Is(err, errBusy) && (authFailure(err) || !t.ownCertValid()) {
		// Refused: the peer's certificate, or ours, is no longer good.
		// (The peer may have ended the session already.)
		t.stRekeyFailures.Add(1)
		s.close("rekey refused: " + err.Error())
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	switch {
	case err == nil && ns.id.NodeID != s.id.NodeID:
		// Another member holds the path now (an address reused).
		s.close("rekey reached another member: " + ns.id.Name)
	case err == nil:
		s.rekey.failed.Store(false)
		t.log.Debug("rekey done", append(ns.logAttrs(), "cipher", ns.cipher)...)
	case t.ctx.Err() != nil:
	case errors.Is(err, errBusy):
		// A handshake on that path is under way already (the peer's own
		// rekey, or a redial): it makes the new session.
	default:
		t.stRekeyFailures.Add(1)
		s.rekey.failed.Store(true)
		t.log.Debug("rekey failed, trying again", append(s.logAttrs(), "err", err, "in", rekeyWait(t.cfg.RekeyInterval))...)
	}
}

// authFailure reports whether a handshake failed on a certificate, ours
// or the peer's, rather than on the network: our check of the peer's
// refused it, or the peer ended the handshake with a fatal alert.
func authFailure(err error) bool {
	if errors.Is(err, errPeerCertificate) || errors.Is(err, ErrSelf) {
		return true
	}
	var a interface{ IsFatalOrCloseNotify() bool }
	return errors.As(err, &a) && a.IsFatalOrCloseNotify()
}

// ownCertValid reports whether this node's certificate is valid now. A
// peer refuses a handshake with one that is not; pion does not always
// tell the refusal (a fatal alert) from a lost flight.
func (t *Transport) ownCertValid() bool {
	c := t.cert.Load()
	leaf := c.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return false
		}
	}
	now := time.Now()
	return !now.Before(leaf.NotBefore) && !now.After(leaf.NotAfter)
}

// refused ends the session on path p, if there is one, after a handshake
// on that path failed on the peer's certificate: the peer's rekey, which
// our check of its certificate refused (expired, revoked). Its old
// session must not live on until our own rekey point. Only a handshake
// that passed the cookie exchange gets this far, so a spoofed source
// address cannot end a session.
func (t *Transport) refused(p path, err error) {
	if !errors.Is(err, errPeerCertificate) {
		return
	}
	k := p.key()
	t.mu.Lock()
	var victims []*session
	for s := range t.sessions {
		if s.vc.path().key() == k && s.ready.Load() {
			victims = append(victims, s)
		}
	}
	t.mu.Unlock()
	for _, s := range victims {
		s.close("rekey refused: " + err.Error())
	}
}

// errPeerCertificate wraps what Config.Verify said of a peer's
// certificate in a handshake.
var errPeerCertificate = errors.New("peer certificate refused")

// inheritLocked gives a session that replaces old with the same peer what
// old learned since its handshake: the relayed fallback and the candidate
// addresses to punch. Called with t.mu held.
func (s *session) inheritLocked(old *session) {
	if s.fallback.Load() == nil {
		if fb := old.fallback.Load(); fb != nil {
			s.fallback.Store(fb)
		}
	}
	old.mu.Lock()
	cands := old.candidates
	old.mu.Unlock()
	s.mu.Lock()
	if len(s.candidates) == 0 && len(cands) > 0 {
		s.candidates = append([]netip.AddrPort(nil), cands...)
	}
	s.mu.Unlock()
}
