package daemon

import (
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipopd/ipopd/internal/offload"
	"github.com/ipopd/ipopd/internal/overlay"
	"github.com/ipopd/ipopd/internal/transport"
	"github.com/ipopd/ipopd/uci/ipopconf"
)

// Device is the local end of the switch: the TAP device, or a fake in tests.
// Every frame read or written carries a virtio-net header in front
// (offload.HdrLen bytes; see package offload). ReadBatch is
// tap.Device.ReadBatch: frames one after another in buf, ends[i] where
// frame i ends.
type Device interface {
	ReadBatch(buf []byte, ends []int) (int, error)
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
	stagedDropped, mssClamped           atomic.Uint64
	offloadErrors, tsoCut               atomic.Uint64
}

// sw is the learning switch between the device and the peers.
type sw struct {
	dev       Device
	tr        *transport.Transport
	macs      *overlay.MACTable[*transport.Peer]
	guardsOut *overlay.Guards
	guardsIn  *overlay.Guards
	start     time.Time
	floodRate atomic.Pointer[[2]int]    // per second, burst
	mss       atomic.Pointer[[2]uint16] // MSS clamp for IPv4 and IPv6; nil = off
	stats     switchStats

	// wake makes an on-demand link to a member (set by the daemon).
	wake func(id string)

	stagedMu sync.Mutex // guards staged
	staged   map[string][][]byte

	// gro glues TCP segments from peers for the device; used only on the
	// transport's reader goroutine (receive and flush).
	gro *offload.Coalescer
	// run holds frames from one read batch for runPeer, in order, sent
	// together (readDevice's goroutine only; they alias its buffer).
	run     [][]byte
	runPeer *transport.Peer
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

// maxSegments is how many frames one TSO frame from the device may be cut
// into: 64 KiB at the smallest MSS a LAN host uses in practice (536).
const maxSegments = 128

// Reads from the device come in batches (see tap.Device.ReadBatch): up to
// maxBatch frames in a buffer with room for readBufFrames of the largest.
const (
	maxBatch      = 64
	readBufFrames = 3
)

// readDevice is the out path. One goroutine; returns when the device
// closes. A TSO frame is cut into wire-sized frames here, once, and the
// switch decides for all of them together: they share their Ethernet
// header. Small frames read in one batch for the same peer leave together
// (s.run), which the transport sends in one system call.
func (s *sw) readDevice(maxFrame int) error {
	buf := make([]byte, readBufFrames*(offload.HdrLen+offload.MaxFrame))
	ends := make([]int, maxBatch)
	var segs [][]byte // made with the first TSO frame: an idle router never needs them
	s.run = make([][]byte, 0, maxBatch)
	for {
		k, err := s.dev.ReadBatch(buf, ends)
		if err != nil {
			if errors.Is(err, os.ErrClosed) || errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		start := 0
		for _, end := range ends[:k] {
			b := buf[start:end]
			start = end
			h, err := offload.ParseHdr(b)
			if err != nil {
				s.stats.offloadErrors.Add(1)
				continue
			}
			frame := b[offload.HdrLen:]
			if !h.IsGSO() {
				if offload.Complete(h, frame) != nil {
					s.stats.offloadErrors.Add(1)
					continue
				}
				s.forward(frame)
				continue
			}
			if segs == nil {
				segs = make([][]byte, maxSegments)
				backing := make([]byte, maxSegments*maxFrame)
				for i := range segs {
					segs[i] = backing[i*maxFrame : (i+1)*maxFrame : (i+1)*maxFrame]
				}
			}
			// A one-segment TSO frame may wait in s.run in segs[0]:
			// send it before segs is written again.
			s.flushRun()
			n, err := offload.Segment(h, frame, segs)
			if err != nil {
				s.stats.offloadErrors.Add(1)
				continue
			}
			s.stats.tsoCut.Add(1)
			s.forwardBatch(segs[:n])
		}
		s.flushRun()
	}
}

// flushRun sends the frames gathered for one peer.
func (s *sw) flushRun() {
	if len(s.run) > 0 {
		s.sendBatch(s.runPeer, s.run)
	}
	s.run, s.runPeer = s.run[:0], nil
}

// forward sends one frame from the LAN to the peers it is for.
func (s *sw) forward(frame []byte) {
	if !overlay.ValidFrame(frame) || s.guardsOut.Drop(frame) {
		return
	}
	if m := s.mss.Load(); m != nil && overlay.ClampMSS(frame, m[0], m[1]) {
		s.stats.mssClamped.Add(1)
	}
	s.forwardBatch([][]byte{frame})
}

// forwardBatch sends frames with one Ethernet header (one frame, or the
// segments of a TSO frame) to the peers they are for.
func (s *sw) forwardBatch(frames [][]byte) {
	first := frames[0]
	if len(frames) > 1 {
		// Segments are TCP data: no guard or clamp applies, but each
		// must be a frame the far end accepts.
		for _, f := range frames {
			if !overlay.ValidFrame(f) {
				return
			}
		}
		if s.guardsOut.Drop(first) {
			return
		}
	}
	now := s.now()
	dst := overlay.Dst(first)
	if !overlay.IsMulticast(dst) {
		if p, ok := s.macs.Lookup(dst, now); ok && p.Up() {
			s.stats.unicastOut.Add(uint64(len(frames)))
			if len(frames) == 1 && cap(s.run) > 0 {
				// Gathered until the end of the read batch, or until a
				// frame for someone else comes.
				if p != s.runPeer {
					s.flushRun()
					s.runPeer = p
				}
				s.run = append(s.run, first)
				return
			}
			s.flushRun()
			s.sendBatch(p, frames)
			return
		}
	}
	s.flushRun() // keep frames in order across a flood
	for _, p := range s.tr.UpPeers() {
		allowed := frames
		if ps, ok := p.Ext.(*peerState); ok {
			lim := ps.floodOut.Load()
			for i := range frames {
				if !lim.Allow(now) {
					s.stats.floodLimitedOut.Add(uint64(len(frames) - i))
					allowed = frames[:i]
					break
				}
			}
		}
		if len(allowed) > 0 {
			s.sendBatch(p, allowed)
		}
	}
	s.stats.floodedOut.Add(uint64(len(frames)))
}

// stagedMax bounds the frames kept per member while its link comes up
// (a relayed handshake: a few round trips); older ones are dropped.
const stagedMax = 32

// stage keeps a copy of frame for member id and wakes its link.
func (s *sw) stage(id string, frame []byte) {
	s.stagedMu.Lock()
	if s.staged == nil {
		s.staged = map[string][][]byte{}
	}
	q := s.staged[id]
	if len(q) >= stagedMax {
		q = q[1:]
		s.stats.stagedDropped.Add(1)
	}
	s.staged[id] = append(q, append([]byte(nil), frame...))
	s.stagedMu.Unlock()
	s.wake(id)
}

// flush sends what was staged for a member whose link just came up.
func (s *sw) flush(p *transport.Peer) {
	s.stagedMu.Lock()
	q := s.staged[p.NodeID]
	delete(s.staged, p.NodeID)
	s.stagedMu.Unlock()
	for _, f := range q {
		s.send(p, f)
	}
}

func (s *sw) send(p *transport.Peer, frame []byte) {
	if err := s.tr.SendFrame(p, frame); err != nil {
		s.stats.sendErrors.Add(1)
	}
}

func (s *sw) sendBatch(p *transport.Peer, frames [][]byte) {
	if len(frames) == 1 {
		s.send(p, frames[0])
		return
	}
	if err := s.tr.SendFrames(p, frames); err != nil {
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
	if err := s.gro.Add(frame); err != nil {
		s.stats.tapWriteErrors.Add(1)
		return
	}
	s.stats.deliveredIn.Add(1)
}

// flush writes the frames the last socket read gathered (OnFlush).
func (s *sw) flushGRO() {
	if err := s.gro.Flush(); err != nil {
		s.stats.tapWriteErrors.Add(1)
	}
}

// setMSSClamp computes the clamp from the underlay MTU: the largest frame
// that fits one record on an IPv4 underlay, also through a member relay,
// less the Ethernet, IP and TCP headers.
func (s *sw) setMSSClamp(cfg ipopconf.Config) {
	if !cfg.MSSClamp {
		s.mss.Store(nil)
		return
	}
	const (
		udpIPv4    = 28          // IPv4 + UDP headers of the underlay datagram
		record     = 13 + 16 + 1 // data record header, AEAD tag, payload kind
		relayExtra = 10          // member relay envelope
	)
	frame := cfg.UnderlayMTU - udpIPv4 - record - relayExtra
	s.mss.Store(&[2]uint16{uint16(frame - 14 - 20 - 20), uint16(frame - 14 - 40 - 20)})
}
