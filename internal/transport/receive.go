package transport

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/ipopd/ipopd/internal/dtlscookie"
	"github.com/ipopd/ipopd/internal/wire"
)

// readLoop is the only reader of the socket. One goroutine. With UDP GRO
// one read may return a run of same-size datagrams glued together (see
// udpgso.go); each is handled on its own, then OnFlush lets the switch
// write what it gathered.
func (t *Transport) readLoop() {
	defer t.wg.Done()
	buf := make([]byte, 65536)
	var oob [64]byte
	var nonce [nonceLen]byte
	for {
		var n, oobn int
		var from netip.AddrPort
		var err error
		if t.udp != nil && t.udp.gro {
			n, oobn, _, from, err = t.udp.conn.ReadMsgUDPAddrPort(buf, oob[:])
		} else {
			n, from, err = t.conn.ReadFromUDPAddrPort(buf)
		}
		if err != nil {
			if t.ctx.Err() != nil {
				return
			}
			t.log.Warn("socket read failed", "err", err)
			time.Sleep(10 * time.Millisecond) // do not spin on a persistent error
			continue
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		size := n
		if oobn > 0 {
			if g := groSize(oob[:oobn]); g > 0 {
				size = g
			}
		}
		for off := 0; off < n; off += size {
			t.handleDatagram(buf[off:min(off+size, n)], from, &nonce)
		}
		t.cfg.OnFlush()
	}
}

// handleDatagram sorts one datagram by its first byte and hands it on.
// Unauthenticated junk costs a classification and, at most, one map
// lookup: nothing is allocated for it.
func (t *Transport) handleDatagram(b []byte, from netip.AddrPort, nonce *[nonceLen]byte) {
	switch Classify(b) {
	case KindData:
		t.receiveData(b, directPath(from), nonce)
	case KindDTLS:
		t.receiveDTLS(b, directPath(from))
	case KindRelay:
		t.receiveRelay(b, from, nonce)
	case KindSTUN:
		if t.turn != nil && from == t.turnServer {
			t.receiveTURN(b, nonce)
			return
		}
		t.receiveSTUN(b, from)
	default:
		t.stNotDTLS.Add(1)
	}
}

// receiveData opens one data record and hands its frame on.
func (t *Transport) receiveData(b []byte, from path, nonce *[nonceLen]byte) {
	t.idxMu.RLock()
	s := t.byIndex[recordIndex(b)]
	t.idxMu.RUnlock()
	if s == nil {
		t.stUnknownIndex.Add(1)
		return
	}
	counter := recordCounter(b)
	k := s.keys.Load()
	if k == nil || counter >= recordLimit/8*7 {
		if k == nil || counter >= recordLimit {
			// A session closed a moment ago, or a counter no key may reach.
			t.stKeyLimit.Add(1)
			return
		}
		// The peer's key is wearing out and the peer did not rekey at
		// three quarters (an older version): the timer goroutine rekeys.
		s.rekey.worn.Store(true)
	}
	pl, err := open(k.recv, b, nonce)
	if err != nil {
		t.stAuthFailed.Add(1)
		return
	}
	if !s.replay.accept(counter) {
		t.stReplayed.Add(1)
		return
	}
	now := t.now()
	s.lastRecv.Store(now)
	if !from.relayed() {
		s.lastDirect.Store(now)
	}
	if cur := s.vc.path(); from == cur {
		s.lastOnPath.Store(now)
	} else if t.follow(s, cur, from, now) {
		// An authenticated record by another path: the peer's NAT moved it,
		// or a punched hole opened. The receiver index found the session
		// whatever the path, so the session follows without a handshake.
		s.changePath(from, now)
		t.log.Info("peer path changed", append(s.logAttrs(), "was", cur.String())...)
	}
	p, err := parsePayload(pl)
	if err != nil {
		t.stBadPayload.Add(1)
		return
	}
	var frame []byte
	via := p.via
	switch p.kind {
	case payloadKeepalive:
		return
	case payloadFrame:
		frame = p.body
	case payloadFragment:
		if s.reasm == nil {
			// Made on the first fragment: most sessions never see one.
			s.reasm = newReassembler(t.maxFrame + originLen) // a reflected frame's bytes carry its origin
		}
		frame, err = s.reasm.add(p, now)
		if err == nil && frame != nil {
			frame, via, err = reassembled(frame, p.via.Kind)
		}
		if err != nil {
			t.stBadPayload.Add(1)
			return
		}
		if frame == nil {
			return
		}
	}
	if len(frame) > t.maxFrame {
		t.stBadPayload.Add(1)
		return
	}
	s.peer.bytesIn.Add(uint64(len(frame)))
	s.peer.framesIn.Add(1)
	if via.Kind == FrameReflected && s.peer.Roles()&wire.RoleLighthouse == 0 {
		// Only lighthouses reflect: a member naming an origin could pass
		// its floods off as any member's (and past their flood limits).
		t.stBadPayload.Add(1)
		return
	}
	if via.Kind != FramePlain && t.cfg.OnFlood != nil {
		t.cfg.OnFlood(s.peer, frame, via)
		return
	}
	t.cfg.OnFrame(s.peer, frame)
}

// receiveDTLS routes a DTLS datagram to its session: by Connection ID once
// the session is established, by source address during a handshake. A
// ClientHello goes through the cookie exchange first (see package
// dtlscookie, and admitHello).
func (t *Transport) receiveDTLS(b []byte, from path) {
	if cid, ok := recordCID(b); ok {
		t.mu.Lock()
		vc := t.byCID[cid]
		t.mu.Unlock()
		if vc != nil {
			vc.deliver(b)
		}
		return
	}
	if isClientHello(b) {
		t.receiveHello(b, from)
		return
	}
	t.mu.Lock()
	vc := t.byAddr[from.key()]
	t.mu.Unlock()
	if vc != nil {
		vc.deliver(b)
	}
}

// receiveHello handles one ClientHello. Until it carries a valid cookie it
// costs a MAC and, within the global reply budget, a HelloVerifyRequest:
// nothing is kept. With one, the source address is real and admitHello
// decides whether it may start a handshake.
func (t *Transport) receiveHello(b []byte, from path) {
	if !from.relayed() && !t.pathOK(from.addr) {
		// A handshake through the overlay itself: a session made there
		// would carry itself. (Records of a session that come that way
		// are refused by follow.)
		t.stPathRefused.Add(1)
		return
	}
	key := from.key()
	t.mu.Lock()
	vc := t.byAddr[key]
	t.mu.Unlock()
	if vc != nil && vc.pionCookie && !vc.client && !vc.established.Load() {
		// A stock client's handshake in pion's own cookie exchange: all
		// its hellos are pion's to judge.
		vc.deliver(b)
		return
	}
	h, err := dtlscookie.Parse(b)
	if err != nil {
		t.stHelloMalformed.Add(1)
		return
	}
	now := time.Now()
	src := key.bytes()
	if len(h.Cookie) == 0 {
		if h.MsgSeq == 0 && t.proven.has(limitKeyOf(key), now) {
			t.admitHello(b, from, true)
			return
		}
		t.sendCookie(b, h, from, src[:], now)
		return
	}
	if !t.cookies.Valid(src[:], b, h) {
		t.stHelloBadCookie.Add(1)
		return
	}
	if h.MsgSeq != 0 {
		// A client that answered the standard way (see package
		// dtlscookie): its address is real; its next attempt gets pion's
		// exchange.
		t.proven.add(limitKeyOf(key), now)
		_, _ = t.writeTo(dtlscookie.Alert(h), from)
		return
	}
	t.admitHello(dtlscookie.Strip(b, h), from, false)
}

// sendCookie answers a cookie-less ClientHello with a HelloVerifyRequest,
// within the global budget (a separate one for the addresses of live
// sessions, so their rekeys and redials still get answers in a flood).
func (t *Transport) sendCookie(b []byte, h dtlscookie.Hello, from path, src []byte, now time.Time) {
	budget := &t.hvrBudget
	if live, _ := t.liveSource(from.key(), now); live {
		budget = &t.hvrKnownBudget
	}
	if !budget.allow(now) {
		t.stHelloRateLimited.Add(1)
		return
	}
	pb := t.bufs.Get().(*packetBuf)
	defer t.bufs.Put(pb)
	if _, err := t.writeTo(t.cookies.AppendVerifyRequest(pb.b[:0], src, b, h), from); err != nil {
		t.stSendErrors.Add(1)
		return
	}
	t.stCookiesSent.Add(1)
}

// admitHello takes a ClientHello from a proven address (b as the client's
// DTLS stack sent it, without our cookie) to its handshake: the one in
// progress from there, or a new one within the per-source and global
// limits. pionCookie says the handshake is a stock client's, which pion's
// own cookie exchange serves.
func (t *Transport) admitHello(b []byte, from path, pionCookie bool) {
	key := from.key()
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	vc := t.byAddr[key]
	switch {
	case vc != nil && !vc.established.Load() && !vc.client:
		// A retransmission: same handshake.
		t.mu.Unlock()
		vc.deliver(b)
		return
	case vc != nil && !vc.established.Load() && vc.client:
		// Both ends sent a ClientHello at once. The one with the larger
		// random goes on; both ends compare the same two randoms.
		ours := vc.ourRandom()
		theirs, _ := clientHelloRandom(b)
		if ours != nil && bytes.Compare(theirs, ours) < 0 {
			t.mu.Unlock()
			return // ours wins; the peer will answer it as server
		}
		delete(t.byAddr, key)
		t.mu.Unlock()
		vc.gaveWay.Store(true)
		_ = vc.Close() // our client handshake gives way
		t.mu.Lock()
	}
	t.mu.Unlock()
	// A new handshake from this address (a restarted peer, a new session
	// from a running one, or the first contact).
	now := time.Now()
	lk := limitKeyOf(key)
	live, livePath := t.liveSource(key, now)
	// A handshake on a live session's own path (its rekey, a redial) is
	// not counted against the source: many members behind one carrier
	// NAT rekey with a lighthouse every interval, each on its own port.
	if !livePath && !t.hsLimit.allow(lk, now, live) {
		t.stHelloRateLimited.Add(1)
		return
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	// Part of the cap is kept for the addresses of live sessions: their
	// rekeys and redials are not starved by strangers' handshakes.
	limit := maxPendingHandshakes - reservedHandshakes
	if live {
		limit = maxPendingHandshakes
	}
	if t.pending >= limit || !live && t.pendingBy[lk] >= maxPendingPerSource {
		t.mu.Unlock()
		t.stHandshakeLimit.Add(1)
		return
	}
	if old := t.byAddr[key]; old != nil && !old.established.Load() {
		t.mu.Unlock() // a handshake began meanwhile (our own dial): it goes on
		return
	}
	nvc := newVconn(t, from, false)
	nvc.pionCookie = pionCookie
	t.byAddr[key] = nvc
	t.pending++
	t.pendingBy[lk]++
	t.wg.Add(1)
	t.mu.Unlock()
	nvc.deliver(b)
	go t.accept(nvc)
}

// accept runs the server side of a handshake. One goroutine per pending
// handshake, at most maxPendingHandshakes.
func (t *Transport) accept(vc *vconn) {
	defer t.wg.Done()
	_, err := t.handshake(vc)
	t.mu.Lock()
	t.pending--
	k := limitKeyOf(vc.path().key())
	if t.pendingBy[k]--; t.pendingBy[k] <= 0 {
		delete(t.pendingBy, k)
	}
	t.mu.Unlock()
	if vc.authFailed.Load() {
		t.stHandshakeAuthFailed.Add(1)
	}
	if err != nil {
		// A certificate refused in a rekey ends the session it would
		// have replaced (rekey.go).
		t.refused(vc.path(), err)
	}
	if err != nil && !errors.Is(err, errJoinerSession) && t.ctx.Err() == nil {
		// A certificate of another group (or none), ours refused by the
		// peer (it is of another group), or a handshake abandoned midway,
		// which held a slot for handshakeTimeout: the source may try
		// again, but rarely (the addresses of live sessions excepted).
		t.hsLimit.penalize(k, time.Now())
	}
	if err != nil && !errors.Is(err, errJoinerSession) {
		// As server we may never see the reason: a client that rejects
		// our certificate aborts before it sends its own.
		t.handshakeFailed(vc.endpoint(), fmt.Errorf("%w (as server; if the peer logged a certificate error, it belongs to another group)", err))
	}
}

// handshakeFailed logs why, at most once per address per failLogInterval:
// a misconfigured or hostile peer retries often.
func (t *Transport) handshakeFailed(ep netip.AddrPort, err error) {
	if t.ctx.Err() != nil || errors.Is(err, ErrClosed) {
		return
	}
	now := time.Now()
	t.mu.Lock()
	last, seen := t.failLog[ep.Addr()]
	if seen && now.Sub(last) < failLogInterval {
		t.mu.Unlock()
		return
	}
	if len(t.failLog) > 1024 {
		clear(t.failLog)
	}
	t.failLog[ep.Addr()] = now
	t.mu.Unlock()
	t.log.Warn("handshake failed", "endpoint", ep.String(), "err", err)
}
