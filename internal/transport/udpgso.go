package transport

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// UDP segmentation offload (Linux 4.18+) and its receive side, UDP GRO
// (5.0+): one sendmsg carries up to maxGSOSegments records of one size
// (the last may be shorter), which the kernel cuts into datagrams, and
// one recvmsg returns a run of same-size datagrams from one sender glued
// together. With the TAP's TSO (package offload) a 64 KiB burst of a TCP
// stream costs one system call on each side instead of ~45.

const (
	// maxGSOSegments stays under the kernel's UDP_MAX_SEGMENTS on every
	// version that has UDP GSO.
	maxGSOSegments = 64
	// gsoBufLen is one sendmsg's worth of records: under 64 KiB of UDP
	// payload, as the kernel requires.
	gsoBufLen = 65000
	// socketBuffer is the socket's receive and send buffer: a burst of
	// TCP segments from several peers arrives faster than one reader
	// takes it, and the kernel's default (~208 KiB) drops them, which TCP
	// through the tunnel reads as congestion. Kernel memory, used only
	// when the queue fills.
	socketBuffer = 4 << 20
)

// udpOffload is the socket's GSO/GRO state. Nil when the socket is not a
// kernel UDP socket (the in-process network of tests) or lacks both.
type udpOffload struct {
	conn *net.UDPConn
	gso  atomic.Bool // sending with UDP_SEGMENT; cleared when the kernel refuses it
	gro  bool        // UDP_GRO is on: reads may hold several datagrams
}

// newUDPOffload sizes conn's buffers and turns on what the kernel offers.
func newUDPOffload(c PacketConn) *udpOffload {
	uc, ok := c.(*net.UDPConn)
	if !ok {
		return nil
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return nil
	}
	o := &udpOffload{conn: uc}
	_ = raw.Control(func(fd uintptr) {
		// The FORCE variants pass net.core.rmem_max (root or
		// CAP_NET_ADMIN, as the daemon runs); else as much as allowed.
		for _, o := range [][2]int{{unix.SO_RCVBUFFORCE, unix.SO_RCVBUF}, {unix.SO_SNDBUFFORCE, unix.SO_SNDBUF}} {
			if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, o[0], socketBuffer) != nil {
				_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, o[1], socketBuffer)
			}
		}
		// Asking for UDP_SEGMENT's value tells whether the kernel knows it.
		if _, err := unix.GetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_SEGMENT); err == nil {
			o.gso.Store(true)
		}
		o.gro = unix.SetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_GRO, 1) == nil
	})
	return o
}

// gsoBuf is a send buffer for a run of records and the control message
// that says their size.
type gsoBuf struct {
	b     [gsoBufLen]byte
	oob   [64]byte
	nonce [nonceLen]byte
}

// segmentCmsg writes a UDP_SEGMENT control message for records of size
// bytes into b and returns it.
func segmentCmsg(b []byte, size int) []byte {
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level = unix.SOL_UDP
	h.Type = unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(b[unix.CmsgLen(0):], uint16(size))
	return b[:unix.CmsgSpace(2)]
}

// groSize finds the UDP_GRO control message in oob and returns the size
// of the glued datagrams, or 0 when there is none (one datagram).
func groSize(oob []byte) int {
	for len(oob) >= unix.CmsgLen(0) {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < unix.CmsgLen(0) || l > len(oob) {
			return 0
		}
		if h.Level == unix.SOL_UDP && h.Type == unix.UDP_GRO && l >= unix.CmsgLen(4) {
			return int(binary.NativeEndian.Uint32(oob[unix.CmsgLen(0):]))
		}
		oob = oob[min(unix.CmsgSpace(l-unix.CmsgLen(0)), len(oob)):]
	}
	return 0
}

// SendFrames sends frames to a peer, in order, as SendFrame would one by
// one. On a direct path with UDP GSO the records of same-size frames
// (the segments of one TCP burst) leave in one system call. It allocates
// nothing.
func (t *Transport) SendFrames(p *Peer, frames [][]byte) error {
	s := p.active.Load()
	var pa path
	if s != nil {
		pa = s.vc.path()
	}
	if t.udp == nil || !t.udp.gso.Load() || len(frames) < 2 || s == nil || !s.ready.Load() || pa.relayed() {
		for _, f := range frames {
			if err := t.SendFrame(p, f); err != nil {
				return err
			}
		}
		return nil
	}
	gb := t.gsoBufs.Get().(*gsoBuf)
	defer t.gsoBufs.Put(gb)
	maxPayload := s.maxPayload()
	dst := pa.addr
	off, size, count := 0, 0, 0
	flush := func() error {
		err := t.sendRun(s, gb, off, size, count, dst)
		off, size, count = 0, 0, 0
		return err
	}
	var bytes, sent uint64
	for _, f := range frames {
		if len(f) > t.maxFrame {
			return ErrFrameTooLarge
		}
		if 1+len(f) > maxPayload {
			// Needs fragments: not one record, so not in the run.
			if err := flush(); err != nil {
				return err
			}
			if err := t.SendFrame(p, f); err != nil {
				return err
			}
			continue
		}
		rl := overhead + 1 + len(f)
		if count > 0 && (rl > size || off+rl > len(gb.b) || count == maxGSOSegments) {
			if err := flush(); err != nil {
				return err
			}
		}
		if count == 0 {
			size = rl
		}
		rec := gb.b[off : off+rl]
		rec[headerLen] = payloadFrame
		copy(rec[headerLen+1:], f)
		k := s.keys.Load()
		c := s.sendCounter.Add(1) - 1
		if k == nil || c >= recordLimit {
			// Closed a moment ago, or the key is used up and its rekey is
			// on the way (rekey.go): what is sealed goes, the rest not.
			if k != nil {
				t.stKeyLimit.Add(1)
			}
			_ = flush()
			return ErrNotReady
		}
		putHeader(rec, s.remoteIndex.Load(), c)
		seal(k.send, rec, 1+len(f), &gb.nonce)
		off += rl
		count++
		bytes += uint64(len(f))
		sent++
		if rl < size {
			// Only the last record of a run may be shorter.
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	s.lastSend.Store(t.now())
	p.bytesOut.Add(bytes)
	p.framesOut.Add(sent)
	return nil
}

// sendRun writes count sealed records of size bytes (the last maybe
// shorter) from gb.b[:n]: in one sendmsg with UDP_SEGMENT, or one by one
// when there is only one or the kernel refuses segmentation (no checksum
// offload on the route's device: EIO), which then stays off.
func (t *Transport) sendRun(s *session, gb *gsoBuf, n, size, count int, dst netip.AddrPort) error {
	if count == 0 {
		return nil
	}
	if count > 1 && t.udp.gso.Load() {
		_, _, err := t.udp.conn.WriteMsgUDPAddrPort(gb.b[:n], segmentCmsg(gb.oob[:], size), dst)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EIO) && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOPROTOOPT) {
			t.stSendErrors.Add(1)
			return err
		}
		t.udp.gso.Store(false)
		t.log.Info("UDP segmentation offload refused by the kernel; sending datagrams one by one", "err", err)
	}
	for off := 0; off < n; off += size {
		if _, err := t.conn.WriteToUDPAddrPort(gb.b[off:min(off+size, n)], dst); err != nil {
			t.stSendErrors.Add(1)
			return err
		}
	}
	return nil
}
