package daemon

import (
	"errors"
	"io"
	"net/netip"
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

// switchStats counts what the switch did with frames.
type switchStats struct {
	floodedOut, unicastOut, deliveredIn atomic.Uint64
	floodLimitedOut, floodLimitedIn     atomic.Uint64
	tapWriteErrors, sendErrors          atomic.Uint64
	stagedDropped, mssClamped           atomic.Uint64
	offloadErrors, tsoCut               atomic.Uint64
	// Floods at scale (flood.go): copies of this LAN's floods sent,
	// floods reflected as a lighthouse and the copies that made, floods
	// dropped by flood_allow (both ways).
	floodCopiesOut, floodFiltered atomic.Uint64
	reflected, reflectedCopies    atomic.Uint64
}

// sw is the learning switch between the device and the peers.
type sw struct {
	dev       Device
	tr        *transport.Transport
	macs      *overlay.MACTable[*node]
	guardsOut *overlay.Guards
	guardsIn  *overlay.Guards
	start     time.Time
	floodRate atomic.Pointer[[2]int]    // per second, burst
	mss       atomic.Pointer[[2]uint16] // MSS clamp for IPv4 and IPv6; nil = off
	stats     switchStats

	// This member, set once: whether it is a lighthouse (it reflects
	// floods), its address slice and node number.
	isLighthouse bool
	selfAddr     netip.Addr
	selfPool     netip.Prefix
	selfNum      uint64

	nodes      nodes
	floodAllow atomic.Pointer[overlay.FloodFilter] // nil: everything
	planMu     sync.Mutex                          // serialises plan rebuilds
	plan       atomic.Pointer[addrPlan]

	// wake makes an on-demand link to a member (set by the daemon).
	wake func(id string)

	stagedMu sync.Mutex // guards staged
	staged   map[string]*stagedFrames

	// gro glues TCP segments from peers for the device; used only on the
	// transport's reader goroutine (receive and flush).
	gro *offload.Coalescer
	// run holds frames from one read batch for runPeer, in order, sent
	// together (readDevice's goroutine only; they alias its buffer).
	run     [][]byte
	runPeer *transport.Peer
}

func (s *sw) now() int64 { return int64(time.Since(s.start)) }

// newPeerState hangs the member's node on a new transport peer
// (OnNewPeer). A full node registry leaves Ext nil: no limits, no MACs.
func (s *sw) newPeerState(p *transport.Peer) {
	if n := s.nodes.get(p.NodeID); n != nil {
		n.peer.Store(p)
		p.Ext = n
	}
}

// setFloodRate changes the flood limit for every member, now and later.
func (s *sw) setFloodRate(perSecond, burst int) {
	r := [2]int{perSecond, burst}
	s.floodRate.Store(&r)
	for _, n := range s.nodes.all() {
		n.floodOut.Store(overlay.NewRateLimiter(r[0], r[1]))
		n.floodIn.Store(overlay.NewRateLimiter(r[0], r[1]))
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
		if n, ok := s.macs.Lookup(dst, now); ok {
			p := n.linked()
			if p == nil {
				// A member without a link: keep the frames for it and
				// make the link now (on demand).
				s.flushRun()
				s.stats.unicastOut.Add(uint64(len(frames)))
				s.stage(n, frames)
				return
			}
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
	s.flood(frames, now)
}

// Staging bounds: the frames kept per member while its link comes up (a
// relayed handshake: a few round trips; older ones are dropped), how many
// members may have frames waiting at once (new ones are dropped), and
// how long frames wait for a link that does not come.
const (
	stagedMax     = 32
	stagedMembers = 64
	stagedTimeout = int64(30 * time.Second)
)

// stagedFrames are the frames kept for one member.
type stagedFrames struct {
	frames [][]byte
	since  int64 // when the first one was staged
}

// stage keeps a copy of frame for member id and wakes its link.
func (s *sw) stage(n *node, frames [][]byte) {
	s.stagedMu.Lock()
	if s.staged == nil {
		s.staged = map[string]*stagedFrames{}
	}
	q := s.staged[n.id]
	if q == nil {
		if len(s.staged) >= stagedMembers {
			s.stagedMu.Unlock()
			s.stats.stagedDropped.Add(uint64(len(frames)))
			return
		}
		q = &stagedFrames{since: s.now()}
		s.staged[n.id] = q
	}
	for _, f := range frames {
		if len(q.frames) >= stagedMax {
			q.frames = q.frames[1:]
			s.stats.stagedDropped.Add(1)
		}
		q.frames = append(q.frames, append([]byte(nil), f...))
	}
	s.stagedMu.Unlock()
	if p := n.linked(); p != nil {
		// The link came up (and flushed) between the lookup and now.
		s.flush(p)
		return
	}
	if s.wake != nil {
		s.wake(n.id)
	}
}

// flush sends what was staged for a member whose link just came up.
func (s *sw) flush(p *transport.Peer) {
	s.stagedMu.Lock()
	q := s.staged[p.NodeID]
	delete(s.staged, p.NodeID)
	s.stagedMu.Unlock()
	if q == nil {
		return
	}
	for _, f := range q.frames {
		s.send(p, f)
	}
}

// expire drops aged MACs and frames staged for links that did not come.
// The daemon's maintenance timer calls it.
func (s *sw) expire() {
	now := s.now()
	s.macs.Expire(now)
	s.stagedMu.Lock()
	for id, q := range s.staged {
		if now-q.since > stagedTimeout {
			s.stats.stagedDropped.Add(uint64(len(q.frames)))
			delete(s.staged, id)
		}
	}
	s.stagedMu.Unlock()
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

// receive is the in path, called by the transport for each frame that
// comes plainly (floods through a lighthouse come to receiveFlood).
func (s *sw) receive(p *transport.Peer, frame []byte) {
	if !overlay.ValidFrame(frame) || s.guardsIn.Drop(frame) {
		return
	}
	now := s.now()
	n, ok := p.Ext.(*node)
	if ok {
		s.macs.Learn(overlay.Src(frame), n, now)
	}
	if overlay.IsMulticast(overlay.Dst(frame)) {
		if ok && !n.floodIn.Load().Allow(now) {
			s.stats.floodLimitedIn.Add(1)
			return
		}
	}
	s.deliver(frame)
}

// deliver hands a frame from the overlay to the device (through GRO),
// unless flood_allow keeps its multicast group off this LAN.
func (s *sw) deliver(frame []byte) {
	if !s.floodAllow.Load().Allow(frame) {
		s.stats.floodFiltered.Add(1)
		return
	}
	if err := s.gro.Add(frame); err != nil {
		s.stats.tapWriteErrors.Add(1)
		return
	}
	s.stats.deliveredIn.Add(1)
}

// counters are the switch's counters for status.
func (s *sw) counters() map[string]uint64 {
	return map[string]uint64{
		"flooded_out":       s.stats.floodedOut.Load(),
		"flood_copies_out":  s.stats.floodCopiesOut.Load(),
		"reflected":         s.stats.reflected.Load(),
		"reflected_copies":  s.stats.reflectedCopies.Load(),
		"flood_filtered":    s.stats.floodFiltered.Load(),
		"unicast_out":       s.stats.unicastOut.Load(),
		"delivered_in":      s.stats.deliveredIn.Load(),
		"flood_limited_out": s.stats.floodLimitedOut.Load(),
		"flood_limited_in":  s.stats.floodLimitedIn.Load(),
		"tap_write_errors":  s.stats.tapWriteErrors.Load(),
		"send_errors":       s.stats.sendErrors.Load(),
		"staged_dropped":    s.stats.stagedDropped.Load(),
		"mss_clamped":       s.stats.mssClamped.Load(),
		"offload_errors":    s.stats.offloadErrors.Load(),
		"tso_frames_cut":    s.stats.tsoCut.Load(),
		"gro_frames_glued":  s.gro.Glued(),
	}
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
