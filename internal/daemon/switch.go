package daemon

import (
	"errors"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/ipopd/ipopd/internal/overlay"
	"github.com/ipopd/ipopd/internal/transport"
)

// Device is the local end of the switch: the TAP device, or a fake in tests.
type Device interface {
	Read(b []byte) (int, error)
	Write(b []byte) (int, error)
	Close() error
}

// peerState is the switch's per-peer state, hung on transport.Peer.Ext.
// The limiters are swapped whole when a reload changes the flood limit.
type peerState struct {
	floodOut atomic.Pointer[overlay.RateLimiter]
	floodIn  atomic.Pointer[overlay.RateLimiter]
}

// switchStats counts what the switch did with frames.
type switchStats struct {
	floodedOut, unicastOut, deliveredIn atomic.Uint64
	floodLimitedOut, floodLimitedIn     atomic.Uint64
	tapWriteErrors, sendErrors          atomic.Uint64
}

// sw is the learning switch between the device and the peers.
type sw struct {
	dev       Device
	tr        *transport.Transport
	macs      *overlay.MACTable[*transport.Peer]
	guardsOut *overlay.Guards
	guardsIn  *overlay.Guards
	start     time.Time
	floodRate atomic.Pointer[[2]int] // per second, burst
	stats     switchStats
}

func (s *sw) now() int64 { return int64(time.Since(s.start)) }

func (s *sw) newPeerState(p *transport.Peer) {
	ps := &peerState{}
	s.resetLimiters(ps)
	p.Ext = ps
}

func (s *sw) resetLimiters(ps *peerState) {
	r := *s.floodRate.Load()
	ps.floodOut.Store(overlay.NewRateLimiter(r[0], r[1]))
	ps.floodIn.Store(overlay.NewRateLimiter(r[0], r[1]))
}

// setFloodRate changes the flood limit for every peer, now and later.
func (s *sw) setFloodRate(perSecond, burst int) {
	s.floodRate.Store(&[2]int{perSecond, burst})
	for _, p := range s.tr.Peers() {
		if ps, ok := p.Ext.(*peerState); ok {
			s.resetLimiters(ps)
		}
	}
}

// readDevice is the out path. One goroutine; returns when the device closes.
func (s *sw) readDevice() error {
	buf := make([]byte, 65536)
	for {
		n, err := s.dev.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrClosed) || errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		s.forward(buf[:n])
	}
}

// forward sends one frame from the LAN to the peers it is for.
func (s *sw) forward(frame []byte) {
	if !overlay.ValidFrame(frame) || s.guardsOut.Drop(frame) {
		return
	}
	now := s.now()
	dst := overlay.Dst(frame)
	if !overlay.IsMulticast(dst) {
		if p, ok := s.macs.Lookup(dst, now); ok && p.Up() {
			s.send(p, frame)
			s.stats.unicastOut.Add(1)
			return
		}
	}
	for _, p := range s.tr.UpPeers() {
		if ps, ok := p.Ext.(*peerState); ok && !ps.floodOut.Load().Allow(now) {
			s.stats.floodLimitedOut.Add(1)
			continue
		}
		s.send(p, frame)
	}
	s.stats.floodedOut.Add(1)
}

func (s *sw) send(p *transport.Peer, frame []byte) {
	if err := s.tr.SendFrame(p, frame); err != nil {
		s.stats.sendErrors.Add(1)
	}
}

// receive is the in path, called by the transport for each frame.
func (s *sw) receive(p *transport.Peer, frame []byte) {
	if !overlay.ValidFrame(frame) || s.guardsIn.Drop(frame) {
		return
	}
	now := s.now()
	s.macs.Learn(overlay.Src(frame), p, now)
	if overlay.IsMulticast(overlay.Dst(frame)) {
		if ps, ok := p.Ext.(*peerState); ok && !ps.floodIn.Load().Allow(now) {
			s.stats.floodLimitedIn.Add(1)
			return
		}
	}
	if _, err := s.dev.Write(frame); err != nil {
		s.stats.tapWriteErrors.Add(1)
		return
	}
	s.stats.deliveredIn.Add(1)
}
