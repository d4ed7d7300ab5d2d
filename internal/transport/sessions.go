package transport

import (
	"time"

	"github.com/ipopd/ipopd/internal/wire"
)

var byeShutdown = &wire.Bye{Reason: "shutdown"}

// onHello activates a session once the peer told how to address data to
// it, and settles which session wins when there are two with one peer.
func (t *Transport) onHello(s *session, h *wire.Hello) {
	s.remoteIndex.Store(h.Index)
	s.peer.roles.Store(uint32(h.Roles))
	s.mu.Lock()
	s.peerInstance = h.Instance
	s.mu.Unlock()
	s.ready.Store(true)
	// Whoever waits for the session (Connect) is told only once the peer's
	// state says so too.
	defer s.markReady()

	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	if _, live := t.sessions[s]; !live {
		t.mu.Unlock()
		return
	}
	p := s.peer
	old := p.active.Load()
	keep := true
	if old != nil && old != s && old.instance() == h.Instance && old.client != s.client && s.created-old.created < int64(simultaneousWindow) {
		// Both ends dialled each other at once and both handshakes
		// finished. Both ends keep the session whose client has the
		// smaller node id, so they agree without talking. An older
		// session is replaced whoever dialled: the peer made a new
		// handshake on purpose (a silent session, redial.go).
		weAreClient := s.client
		keep = weAreClient == (t.cfg.Self.NodeID < p.NodeID)
	}
	// Otherwise the newer session wins: the peer restarted (new instance)
	// or made a new handshake on purpose (rekey, path change).
	wasDown := old == nil
	// A rekey: the same peer instance, a new handshake (redial.go's new
	// handshakes with a silent peer that was only slow count too).
	rekeyed := false
	if keep {
		p.active.Store(s)
		if old != nil && old != s {
			old.retireAt.Store(t.now() + int64(retireGrace))
			s.inheritLocked(old)
			if old.instance() == h.Instance {
				rekeyed = true
				t.stRekeys.Add(1)
			}
		}
		p.mu.Lock()
		if wasDown {
			p.upSince = time.Now()
		}
		p.mu.Unlock()
		t.rebuildUpLocked()
	} else {
		s.retireAt.Store(t.now() + int64(retireGrace))
	}
	t.mu.Unlock()

	switch {
	case rekeyed:
		// Every rekey interval for every session: not for the log.
		t.log.Debug("session rekeyed", append(s.logAttrs(), "cipher", s.cipher, "client", s.client)...)
	case keep:
		t.log.Info("peer session up", append(s.logAttrs(), "cipher", s.cipher, "client", s.client)...)
	}
	if keep {
		if wasDown && t.cfg.OnPeerUp != nil {
			t.cfg.OnPeerUp(p)
		}
	}
}

func (s *session) instance() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peerInstance
}

// removeSession takes a closed session out of every table.
func (t *Transport) removeSession(s *session, reason string) {
	t.idxMu.Lock()
	if t.byIndex[s.localIndex] == s {
		delete(t.byIndex, s.localIndex)
	}
	t.idxMu.Unlock()

	t.mu.Lock()
	delete(t.sessions, s)
	t.forgetVconnLocked(s.vc)
	p := s.peer
	wentDown := p.active.CompareAndSwap(s, nil)
	if wentDown {
		p.mu.Lock()
		p.downSince = time.Now()
		p.mu.Unlock()
		p.rtt.Store(0)
		t.rebuildUpLocked()
	}
	closed := t.closed
	t.mu.Unlock()

	if wentDown {
		lvl := t.log.Info
		if closed {
			lvl = t.log.Debug
		}
		lvl("peer session down", append(s.logAttrs(), "reason", reason)...)
		t.rerouteFrom(p)
		if t.cfg.OnPeerDown != nil {
			t.cfg.OnPeerDown(p)
		}
	} else {
		t.log.Debug("session closed", append(s.logAttrs(), "reason", reason)...)
	}
}

// forgetVconnLocked drops a vconn's CIDs and address entry.
func (t *Transport) forgetVconnLocked(vc *vconn) {
	vc.mu.Lock()
	cids := vc.cids
	vc.mu.Unlock()
	for _, cid := range cids {
		if t.byCID[cid] == vc {
			delete(t.byCID, cid)
		}
	}
	if k := vc.path().key(); t.byAddr[k] == vc {
		delete(t.byAddr, k)
	}
}

// dropVconn forgets a vconn whose handshake failed.
func (t *Transport) dropVconn(vc *vconn) {
	t.mu.Lock()
	t.forgetVconnLocked(vc)
	t.mu.Unlock()
	_ = vc.Close()
}

// rebuildUpLocked republishes the list of up peers for the send path.
func (t *Transport) rebuildUpLocked() {
	up := make([]*Peer, 0, len(t.peers))
	for _, p := range t.peers {
		if p.active.Load() != nil {
			up = append(up, p)
		}
	}
	t.upPeers.Store(&up)
}

// timerLoop sends keepalives and pings, and closes sessions that went
// silent, never said Hello, or were replaced. One goroutine.
func (t *Transport) timerLoop() {
	defer t.wg.Done()
	tk := time.NewTicker(tick)
	defer tk.Stop()
	keepalive := int64(t.keepalive)
	// deadAfter: four keepalives missed in a row. Loss of one or two is
	// common on a busy uplink; after two a lost direct path falls back to
	// its relay (above); four means the peer or every path is gone.
	deadAfter := 4 * keepalive
	var live []*session
	for {
		select {
		case <-t.ctx.Done():
			return
		case <-tk.C:
		}
		now := t.now()
		t.turnTick()
		live = live[:0]
		t.mu.Lock()
		for s := range t.sessions {
			live = append(live, s)
		}
		t.mu.Unlock()
		for _, s := range live {
			t.leaveSilentRelay(s, now)
			switch r := s.retireAt.Load(); {
			case r != 0 && now > r:
				s.close("replaced by a newer session")
				continue
			case !s.ready.Load() && now-s.created > int64(helloTimeout):
				s.close("no hello from peer")
				continue
			case now-s.lastRecv.Load() > deadAfter:
				s.close("peer silent for " + time.Duration(now-s.lastRecv.Load()).Round(time.Second).String())
				continue
			}
			if !s.ready.Load() {
				continue
			}
			if s.fallback.Load() != nil && !s.vc.path().relayed() && now-s.lastDirect.Load() > 2*keepalive {
				// The direct path went quiet (a NAT lost its mapping):
				// back to a relay, and punch again.
				if fb, ok := t.relayFor(s); ok {
					t.moveToRelay(s, fb, now, "direct path lost, back to the relay")
				}
			}
			if s.retireAt.Load() == 0 {
				if t.checkRekey(s, now) {
					continue
				}
				t.checkQuiet(s, now)
			}
			if now-s.lastSend.Load() >= keepalive {
				t.sendKeepalive(s)
			}
			t.probe(s, now)
			if now-s.lastPing.Load() >= keepalive {
				s.ping(now)
			}
		}
	}
}
