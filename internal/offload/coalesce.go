package offload

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync/atomic"
)

// Coalescer limits.
const (
	// MaxFrame is the largest frame a Coalescer makes: an IP packet of
	// 64 KiB behind an Ethernet header.
	MaxFrame = ethLen + 65535
	// coalesceFlows is how many TCP flows are glued at once: a few bulk
	// streams. A flow beyond it flushes the oldest.
	coalesceFlows = 8
)

// Coalescer glues consecutive TCP segments of a flow into one frame for
// the TAP (the kernel's GRO, for frames that came from peers). Frames go
// in through Add; everything is written through the write function by
// the next Flush at the latest, each behind a virtio-net header. It is
// used by one goroutine (the socket reader), and allocates nothing once
// its flows' buffers exist.
type Coalescer struct {
	write func([]byte) (int, error)
	flows [coalesceFlows]flow
	order uint64
	one   []byte // header + a single frame that is written as it is
	glued atomic.Uint64
}

// Glued counts the frames written that were glued from several segments.
// Safe to call from any goroutine.
func (c *Coalescer) Glued() uint64 { return c.glued.Load() }

// flow is one TCP flow being glued: buf holds a header's room, then the
// frame so far.
type flow struct {
	buf     []byte
	n       int // frame bytes in buf[HdrLen:]
	f       tcpFrame
	gso     int // payload bytes of the first segment: every other is the same, the last at most
	segs    int
	nextSeq uint32
	closed  bool // a short or PSH segment ended the flow
	used    bool
	order   uint64
}

// NewCoalescer makes a Coalescer that writes each frame, behind its
// virtio-net header, with write (the TAP's Write).
func NewCoalescer(write func([]byte) (int, error)) *Coalescer {
	return &Coalescer{write: write}
}

// Add takes one frame that came from a peer. A TCP segment that can be
// glued waits for more of its flow; anything else is written now (after
// its own flow's pending segments, so that a flow stays in order). The
// frame is not kept: Add copies what it needs.
func (c *Coalescer) Add(frame []byte) error {
	f, ok := mergeable(frame)
	if !ok {
		if fl := c.sameFlow(frame); fl != nil {
			if err := c.flush(fl); err != nil {
				return err
			}
		}
		return c.writeOne(frame)
	}
	fl := c.sameFlow(frame)
	if fl != nil && c.append(fl, frame, f) {
		return nil
	}
	if fl != nil {
		if err := c.flush(fl); err != nil {
			return err
		}
	} else {
		fl = c.freeFlow()
		if fl.used {
			if err := c.flush(fl); err != nil {
				return err
			}
		}
	}
	c.start(fl, frame, f)
	return nil
}

// Flush writes every pending flow. The reader calls it when it has no
// more datagrams at hand, so nothing waits longer than one read.
func (c *Coalescer) Flush() error {
	var first error
	for i := range c.flows {
		if c.flows[i].used {
			if err := c.flush(&c.flows[i]); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

// mergeable reports whether a frame is a TCP segment that may be glued:
// untagged, IPv4 without options or fragmentation or IPv6 without
// extension headers, only ACK (and PSH) set, some payload, and valid
// checksums. The checksums are checked because the glued frame leaves
// with a fresh one that would hide a bad segment from the receiving host.
func mergeable(b []byte) (tcpFrame, bool) {
	var f tcpFrame
	if len(b) < ethLen {
		return f, false
	}
	var src, dst []byte
	switch binary.BigEndian.Uint16(b[12:]) {
	case etherIPv4:
		f.ip, f.tcp = ethLen, ethLen+20
		if len(b) < f.tcp+tcpMinLen || b[f.ip] != 0x45 || b[f.ip+9] != protoTCP ||
			binary.BigEndian.Uint16(b[f.ip+6:])&0x3fff != 0 ||
			int(binary.BigEndian.Uint16(b[f.ip+2:])) != len(b)-f.ip ||
			^fold(sum(b[f.ip:f.tcp], 0)) != 0 {
			return f, false
		}
		src, dst = b[f.ip+12:f.ip+16], b[f.ip+16:f.ip+20]
	case etherIPv6:
		f.v6 = true
		f.ip, f.tcp = ethLen, ethLen+ipv6Len
		if len(b) < f.tcp+tcpMinLen || b[f.ip]>>4 != 6 || b[f.ip+6] != protoTCP ||
			int(binary.BigEndian.Uint16(b[f.ip+4:])) != len(b)-f.tcp {
			return f, false
		}
		src, dst = b[f.ip+8:f.ip+24], b[f.ip+24:f.ip+40]
	default:
		return f, false
	}
	tcp := b[f.tcp:]
	f.payload = f.tcp + int(tcp[12]>>4)*4
	if f.payload < f.tcp+tcpMinLen || f.payload >= len(b) ||
		tcp[13]&^tcpPSH != tcpACK || tcp[12]&0x0f != 0 {
		return f, false
	}
	if ^fold(sum(tcp, pseudoSum(src, dst, protoTCP, len(tcp)))) != 0 {
		return f, false
	}
	return f, true
}

// sameFlow finds the pending flow of a TCP frame's addresses and ports.
func (c *Coalescer) sameFlow(b []byte) *flow {
	for i := range c.flows {
		fl := &c.flows[i]
		if !fl.used {
			continue
		}
		head := fl.buf[HdrLen:]
		ip, tcp := fl.f.ip, fl.f.tcp
		if len(b) < tcp+4 || !bytes.Equal(b[:ip], head[:ip]) {
			continue
		}
		addrs := ip + 12 // the addresses run from here to the TCP header
		if fl.f.v6 {
			addrs = ip + 8
		}
		if b[ip]>>4 == head[ip]>>4 && bytes.Equal(b[addrs:tcp], head[addrs:tcp]) && bytes.Equal(b[tcp:tcp+4], head[tcp:tcp+4]) {
			return fl
		}
	}
	return nil
}

// append glues b onto fl if it is the next segment of the same size with
// the same headers: everything equal but the lengths, IPv4 ID and
// checksum, TCP sequence number, PSH and checksum.
func (c *Coalescer) append(fl *flow, b []byte, f tcpFrame) bool {
	head := fl.buf[HdrLen : HdrLen+fl.n]
	plen := len(b) - f.payload
	if fl.closed || f != fl.f || plen > fl.gso ||
		binary.BigEndian.Uint32(b[f.tcp+4:]) != fl.nextSeq ||
		fl.n+plen > MaxFrame || fl.segs >= 64 {
		return false
	}
	ip, tcp := f.ip, f.tcp
	if fl.f.v6 {
		// Version, traffic class, flow label; next header, hop limit.
		if !bytes.Equal(b[ip:ip+4], head[ip:ip+4]) || !bytes.Equal(b[ip+6:ip+8], head[ip+6:ip+8]) {
			return false
		}
	} else {
		// Version/IHL and TOS; flags/fragment, TTL and protocol.
		if !bytes.Equal(b[ip:ip+2], head[ip:ip+2]) || !bytes.Equal(b[ip+6:ip+10], head[ip+6:ip+10]) {
			return false
		}
	}
	// Ack number, data offset, window, urgent pointer and options; the
	// flags but PSH.
	if !bytes.Equal(b[tcp+8:tcp+13], head[tcp+8:tcp+13]) || b[tcp+13]&^tcpPSH != head[tcp+13]&^tcpPSH ||
		!bytes.Equal(b[tcp+14:tcp+16], head[tcp+14:tcp+16]) || !bytes.Equal(b[tcp+18:f.payload], head[tcp+18:f.payload]) {
		return false
	}
	copy(fl.buf[HdrLen+fl.n:], b[f.payload:])
	fl.n += plen
	fl.segs++
	fl.nextSeq += uint32(plen)
	if b[tcp+13]&tcpPSH != 0 {
		fl.buf[HdrLen+tcp+13] |= tcpPSH
		fl.closed = true
	}
	if plen < fl.gso {
		fl.closed = true
	}
	return true
}

// start makes fl a new flow beginning with b.
func (c *Coalescer) start(fl *flow, b []byte, f tcpFrame) {
	if fl.buf == nil {
		fl.buf = make([]byte, HdrLen+MaxFrame)
	}
	c.order++
	plen := len(b) - f.payload
	*fl = flow{buf: fl.buf, n: len(b), f: f, gso: plen, segs: 1, used: true, order: c.order,
		nextSeq: binary.BigEndian.Uint32(b[f.tcp+4:]) + uint32(plen),
		closed:  b[f.tcp+13]&tcpPSH != 0}
	copy(fl.buf[HdrLen:], b)
}

// freeFlow returns an unused flow, or the oldest.
func (c *Coalescer) freeFlow() *flow {
	oldest := &c.flows[0]
	for i := range c.flows {
		fl := &c.flows[i]
		if !fl.used {
			return fl
		}
		if fl.order < oldest.order {
			oldest = fl
		}
	}
	return oldest
}

// flush writes fl: a single segment as it came, several as one TSO frame
// whose TCP checksum field holds the pseudo-header sum, as the kernel
// expects of a frame marked FlagNeedsCsum.
func (c *Coalescer) flush(fl *flow) error {
	fl.used = false
	b := fl.buf[:HdrLen+fl.n]
	if fl.segs == 1 {
		Hdr{}.Put(b)
		_, err := c.write(b)
		return err
	}
	frame := b[HdrLen:]
	ip, tcp := frame[fl.f.ip:], frame[fl.f.tcp:]
	h := Hdr{Flags: FlagNeedsCsum, HdrLen: uint16(fl.f.payload), GSOSize: uint16(fl.gso),
		CsumStart: uint16(fl.f.tcp), CsumOffset: tcpCsumField}
	var src, dst []byte
	if fl.f.v6 {
		h.GSOType = GSOTCPv6
		binary.BigEndian.PutUint16(ip[4:], uint16(len(frame)-fl.f.tcp))
		src, dst = ip[8:24], ip[24:40]
	} else {
		h.GSOType = GSOTCPv4
		binary.BigEndian.PutUint16(ip[2:], uint16(len(frame)-fl.f.ip))
		binary.BigEndian.PutUint16(ip[10:], ipv4HeaderChecksum(ip[:20]))
		src, dst = ip[12:16], ip[16:20]
	}
	binary.BigEndian.PutUint16(tcp[tcpCsumField:], fold(pseudoSum(src, dst, protoTCP, len(tcp))))
	h.Put(b)
	c.glued.Add(1)
	_, err := c.write(b)
	return err
}

// writeOne writes a frame that is not glued, behind an empty header.
func (c *Coalescer) writeOne(frame []byte) error {
	if c.one == nil {
		c.one = make([]byte, HdrLen+MaxFrame)
	}
	if len(frame) > MaxFrame {
		return fmt.Errorf("%w: %d-byte frame", ErrBadFrame, len(frame))
	}
	b := c.one[:HdrLen+len(frame)]
	Hdr{}.Put(b)
	copy(b[HdrLen:], frame)
	_, err := c.write(b)
	return err
}
