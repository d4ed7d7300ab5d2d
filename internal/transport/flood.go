package transport

import "encoding/binary"

// FrameKind says how a frame travels between members: plainly, or as a
// flood that goes through a lighthouse (one copy from the sender, which
// the lighthouse reflects to every other member).
type FrameKind uint8

const (
	// FramePlain is a frame for the peer itself: unicast, or a flood
	// sent to every peer directly.
	FramePlain FrameKind = iota
	// FrameReflect is a flood the sender asks the receiving lighthouse
	// to deliver and to reflect to everyone else.
	FrameReflect
	// FrameReflected is a flood a lighthouse reflects on behalf of
	// Via.Origin. It is never reflected again.
	FrameReflected
)

// Via is how a frame travels: its kind and, for a reflected flood, the
// node number of the member it came from (see the daemon's node numbers:
// the 8 bytes a node id's 16 hex digits spell).
type Via struct {
	Kind   FrameKind
	Origin uint64
}

// originLen is the size of the origin field of a reflected frame.
const originLen = 8

// SendFrameVia sends one Ethernet frame to a peer as via says: like
// SendFrame, with the flood kind and origin in front of the frame. It is
// safe for concurrent use and allocates nothing.
func (t *Transport) SendFrameVia(p *Peer, frame []byte, via Via) error {
	s := p.active.Load()
	if s == nil || !s.ready.Load() {
		t.stNoSession.Add(1)
		return ErrNotReady
	}
	if len(frame) > t.maxFrame {
		return ErrFrameTooLarge
	}
	// pre is what goes in front of the frame: the origin of a reflected
	// flood, nothing otherwise. Fragments carry pre+frame cut in pieces.
	var origin [originLen]byte
	pre := origin[:0]
	kind := byte(payloadFrame)
	switch via.Kind {
	case FrameReflect:
		kind = payloadReflect
	case FrameReflected:
		kind = payloadReflected
		binary.BigEndian.PutUint64(origin[:], via.Origin)
		pre = origin[:]
	}
	pb := t.bufs.Get().(*packetBuf)
	defer t.bufs.Put(pb)
	total := len(pre) + len(frame)
	count, size := fragmentPlan(total, s.maxPayload())
	rec := pb.b[relayHeaderLen:]
	if count == 1 {
		rec[headerLen] = kind
		copyJoined(rec[headerLen+1:], pre, frame, 0, total)
		if err := t.sendRecord(s, pb, 1+total); err != nil {
			return err
		}
	} else {
		id := uint16(s.fragID.Add(1))
		for off := 0; off < total; off += size {
			end := min(off+size, total)
			putFragHeader(rec[headerLen:], id, off, end < total, via.Kind)
			copyJoined(rec[headerLen+fragHeaderLen:], pre, frame, off, end)
			if err := t.sendRecord(s, pb, fragHeaderLen+end-off); err != nil {
				return err
			}
		}
	}
	p.bytesOut.Add(uint64(len(frame)))
	p.framesOut.Add(1)
	return nil
}

// copyJoined copies bytes off..end of pre followed by b into dst, without
// joining them first.
func copyJoined(dst, pre, b []byte, off, end int) {
	if off < len(pre) {
		n := copy(dst, pre[off:min(end, len(pre))])
		dst = dst[n:]
		off += n
	}
	if off < end {
		copy(dst, b[off-len(pre):end-len(pre)])
	}
}
