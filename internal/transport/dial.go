package transport

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// errBusy: a handshake with that address is already in progress.
var errBusy = errors.New("a handshake with this address is in progress")

// Connect makes a session with the member at ep and waits for its Hello.
func (t *Transport) Connect(ctx context.Context, ep netip.AddrPort) (*Peer, error) {
	ep = netip.AddrPortFrom(ep.Addr().Unmap(), ep.Port())
	if !t.pathOK(ep) {
		t.stPathRefused.Add(1)
		return nil, fmt.Errorf("connect %s: %w", ep, ErrOverlayAddress)
	}
	return t.connect(ctx, directPath(ep))
}

// ConnectVia makes a session with the member nodeID through relay, an up
// peer that relays (a lighthouse). The session later moves to a direct
// path on its own if hole punching opens one (see probe.go).
func (t *Transport) ConnectVia(ctx context.Context, relay *Peer, nodeID string) (*Peer, error) {
	num, ok := NodeNumber(nodeID)
	if !ok {
		return nil, fmt.Errorf("bad node id %q", nodeID)
	}
	if relay.active.Load() == nil {
		return nil, ErrNotReady
	}
	return t.connect(ctx, relay.relayPath(num))
}

func (t *Transport) connect(ctx context.Context, ep path) (*Peer, error) {
	return t.connectFallback(ctx, ep, path{})
}

// connectFallback is connect for a session whose relayed fallback is fb.
func (t *Transport) connectFallback(ctx context.Context, ep, fb path) (*Peer, error) {
	s, err := t.dialSession(ctx, ep, fb)
	if err != nil {
		return nil, err
	}
	return s.peer, nil
}

// dialSession makes a session as client on path ep and waits for the
// peer's Hello.
func (t *Transport) dialSession(ctx context.Context, ep, fb path) (*session, error) {
	vc := newVconn(t, ep, true)
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, ErrClosed
	}
	if old := t.byAddr[ep.key()]; old != nil && !old.established.Load() {
		t.mu.Unlock()
		return nil, errBusy
	}
	t.byAddr[ep.key()] = vc
	t.mu.Unlock()
	s, err := t.handshakeCtx(ctx, vc, fb)
	if err != nil {
		if vc.gaveWay.Load() {
			// The peer dialled us at the same moment and its handshake
			// goes on; Maintain finds that session by its address.
			return nil, errBusy
		}
		return nil, fmt.Errorf("handshake with %s: %w", ep, err)
	}
	select {
	case <-s.done:
		return nil, fmt.Errorf("session with %s closed before it was up", ep)
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(helloTimeout):
		s.close("no hello from peer")
		return nil, fmt.Errorf("no hello from %s", ep)
	case <-s.readyCh():
	}
	return s, nil
}

// Maintain keeps a link to a configured endpoint ("host:port") until ctx
// is done or the Transport closes: dial, wait while the peer there is up,
// dial again with backoff when it goes down.
func (t *Transport) Maintain(ctx context.Context, endpoint string) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.wg.Add(1)
	t.mu.Unlock()
	go t.maintain(ctx, endpoint)
}

func (t *Transport) maintain(ctx context.Context, endpoint string) {
	defer t.wg.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(t.ctx, cancel)
	defer stop()
	backoff := minBackoff
	var lastErr string
	for ctx.Err() == nil {
		if p := t.peerAt(endpoint); p != nil && p.Up() {
			sleepCtx(ctx, time.Second)
			continue
		}
		ep, err := resolve(ctx, endpoint)
		var p *Peer
		if err == nil {
			p, err = t.Connect(ctx, ep)
		}
		if err == nil {
			t.mu.Lock()
			t.endpointNode[endpoint] = p.NodeID
			t.mu.Unlock()
			backoff, lastErr = minBackoff, ""
			continue
		}
		if ctx.Err() != nil {
			return
		}
		if !errors.Is(err, errBusy) && err.Error() != lastErr {
			// Say it once; retries with the same error stay quiet.
			t.log.Warn("cannot reach endpoint, retrying", "endpoint", endpoint, "err", err)
			lastErr = err.Error()
		}
		// Jitter keeps two members that lost each other at the same moment
		// from dialling in lock step.
		sleepCtx(ctx, backoff/2+rand.N(backoff/2+1))
		backoff = min(2*backoff, maxBackoff)
	}
}

// peerAt returns the peer last seen at a configured endpoint, or an up
// peer whose session runs to that address (it dialled us first).
func (t *Transport) peerAt(endpoint string) *Peer {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, ok := t.endpointNode[endpoint]; ok {
		return t.peers[id]
	}
	ap, err := netip.ParseAddrPort(endpoint)
	if err != nil {
		return nil
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	for _, p := range t.peers {
		if s := p.active.Load(); s != nil && s.vc.endpoint() == ap {
			t.endpointNode[endpoint] = p.NodeID
			return p
		}
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
	case <-tm.C:
	}
}

// resolve turns "host:port" into an address; names are looked up each time
// so a peer behind dynamic DNS is found again.
func resolve(ctx context.Context, endpoint string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(endpoint); err == nil {
		return ap, nil
	}
	host, port, err := net.SplitHostPort(endpoint)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("endpoint %q: %w", endpoint, err)
	}
	pn, err := strconv.ParseUint(port, 10, 16)
	if err != nil || pn == 0 {
		return netip.AddrPort{}, fmt.Errorf("endpoint %q: bad port", endpoint)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("endpoint %q: %w", endpoint, err)
	}
	best := addrs[0]
	for _, a := range addrs {
		if a.Is4() { // most router uplinks have IPv4; prefer it
			best = a
			break
		}
	}
	return netip.AddrPortFrom(best.Unmap(), uint16(pn)), nil
}

// Maintained reports whether p is the member at a configured endpoint,
// whose link Maintain keeps up (and which must not be closed as idle).
func (t *Transport) Maintained(p *Peer) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, id := range t.endpointNode {
		if id == p.NodeID {
			return true
		}
	}
	return false
}
