package transport

import (
	"encoding/binary"
	"fmt"
)

// payload is a parsed data record payload.
type payload struct {
	kind byte
	id   uint16 // fragment: frame id
	off  int    // fragment: byte offset of body in the frame
	more bool   // fragment: more fragments follow
	via  Via    // frame: how it travels; fragment: what the whole will be (Origin unset)
	body []byte // frame or fragment bytes (aliases the record)
}

// parsePayload parses a decrypted payload. It never panics; errors wrap
// ErrBadPayload.
func parsePayload(p []byte) (payload, error) {
	if len(p) == 0 {
		return payload{}, fmt.Errorf("%w: empty", ErrBadPayload)
	}
	switch p[0] {
	case payloadFrame, payloadReflect:
		if len(p) < 1+14 {
			return payload{}, fmt.Errorf("%w: frame of %d bytes", ErrBadPayload, len(p)-1)
		}
		pl := payload{kind: payloadFrame, body: p[1:]}
		if p[0] == payloadReflect {
			pl.via.Kind = FrameReflect
		}
		return pl, nil
	case payloadReflected:
		if len(p) < 1+originLen+14 {
			return payload{}, fmt.Errorf("%w: reflected frame of %d bytes", ErrBadPayload, len(p)-1)
		}
		return payload{
			kind: payloadFrame,
			via:  Via{Kind: FrameReflected, Origin: binary.BigEndian.Uint64(p[1:])},
			body: p[1+originLen:],
		}, nil
	case payloadKeepalive:
		return payload{kind: payloadKeepalive}, nil
	case payloadFragment:
		if len(p) <= fragHeaderLen {
			return payload{}, fmt.Errorf("%w: fragment of %d bytes", ErrBadPayload, len(p))
		}
		flags := p[5]
		if flags&^fragFlags != 0 || flags&(fragReflect|fragReflected) == fragReflect|fragReflected {
			return payload{}, fmt.Errorf("%w: fragment flags %#x", ErrBadPayload, flags)
		}
		pl := payload{
			kind: payloadFragment,
			id:   binary.BigEndian.Uint16(p[1:]),
			off:  int(binary.BigEndian.Uint16(p[3:])),
			more: flags&fragMore != 0,
			body: p[fragHeaderLen:],
		}
		switch {
		case flags&fragReflect != 0:
			pl.via.Kind = FrameReflect
		case flags&fragReflected != 0:
			pl.via.Kind = FrameReflected
		}
		return pl, nil
	}
	return payload{}, fmt.Errorf("%w: kind %d", ErrBadPayload, p[0])
}

// putFragHeader writes a fragment header into b[:fragHeaderLen] for a
// frame that travels as via.
func putFragHeader(b []byte, id uint16, off int, more bool, via FrameKind) {
	b[0] = payloadFragment
	binary.BigEndian.PutUint16(b[1:], id)
	binary.BigEndian.PutUint16(b[3:], uint16(off))
	b[5] = 0
	if more {
		b[5] = fragMore
	}
	switch via {
	case FrameReflect:
		b[5] |= fragReflect
	case FrameReflected:
		b[5] |= fragReflected
	}
}

// reassembled turns the bytes a reassembler put together for fragments
// of kind into the frame and how it travels: a reflected frame's bytes
// begin with its origin.
func reassembled(b []byte, kind FrameKind) ([]byte, Via, error) {
	switch kind {
	case FramePlain:
		return b, Via{Kind: kind}, nil
	case FrameReflected:
	default:
		// A flood to reflect: at least an Ethernet header, as when it
		// comes whole (the lighthouse reads its destination).
		if len(b) < 14 {
			return nil, Via{}, fmt.Errorf("%w: flood frame of %d bytes", ErrBadPayload, len(b))
		}
		return b, Via{Kind: kind}, nil
	}
	if len(b) < originLen+14 {
		return nil, Via{}, fmt.Errorf("%w: reflected frame of %d bytes", ErrBadPayload, len(b))
	}
	return b[originLen:], Via{Kind: FrameReflected, Origin: binary.BigEndian.Uint64(b)}, nil
}

// fragmentPlan says how a frame of n bytes is cut so that each payload fits
// in maxPayload bytes: count pieces of size bytes (the last one shorter),
// sized evenly so that no runt is left at the end.
func fragmentPlan(n, maxPayload int) (count, size int) {
	if n+1 <= maxPayload {
		return 1, n
	}
	chunk := maxPayload - fragHeaderLen
	count = (n + chunk - 1) / chunk
	size = (n + count - 1) / count
	return count, size
}

// reassembler puts fragmented frames back together. Each session has one,
// used only by the socket reader goroutine. It holds a few frames in
// flight; a new frame evicts the oldest incomplete one, so a peer that
// loses fragments cannot make it grow.
type reassembler struct {
	maxFrame int
	slots    [reassemblySlots]reassemblySlot
	clock    uint64 // arrival order, to find the oldest slot
}

const (
	reassemblySlots = 4
	// reassemblyTimeout drops a frame whose fragments stopped coming: longer
	// than any reordering on a path, short enough that a stale half frame is
	// not glued to a new one after the id wraps.
	reassemblyTimeout = 2e9 // ns
)

type reassemblySlot struct {
	used    bool
	kind    FrameKind // how the frame travels; its fragments all say the same
	id      uint16
	got     int // bytes received
	total   int // frame length, -1 until the last fragment arrived
	started int64
	order   uint64
	buf     []byte
}

func newReassembler(maxFrame int) *reassembler {
	return &reassembler{maxFrame: maxFrame}
}

// add stores one fragment and returns the whole frame once complete. The
// frame aliases the reassembler's buffer and is valid until the next call.
func (r *reassembler) add(p payload, now int64) ([]byte, error) {
	end := p.off + len(p.body)
	if end > r.maxFrame {
		return nil, fmt.Errorf("%w: fragment ends at %d, past the %d-byte frame limit", ErrBadPayload, end, r.maxFrame)
	}
	s := r.slot(p.id, now)
	if s.got > 0 && s.kind != p.via.Kind {
		s.reset(p.id, now) // a new frame that reuses the id: start over
	}
	s.kind = p.via.Kind
	if !p.more {
		if s.total >= 0 && s.total != end {
			s.reset(p.id, now)
		}
		s.total = end
	} else if s.total >= 0 && end > s.total {
		s.reset(p.id, now)
	}
	if s.buf == nil {
		s.buf = make([]byte, r.maxFrame)
	}
	copy(s.buf[p.off:end], p.body)
	s.got += len(p.body)
	switch {
	case s.total >= 0 && s.got == s.total:
		s.used = false
		return s.buf[:s.total], nil
	case s.total >= 0 && s.got > s.total:
		// Overlapping fragments: only a broken sender makes them.
		s.used = false
		return nil, fmt.Errorf("%w: overlapping fragments of frame %d", ErrBadPayload, p.id)
	}
	return nil, nil
}

// slot finds the slot for frame id, or claims a free, expired or the
// oldest one.
func (r *reassembler) slot(id uint16, now int64) *reassemblySlot {
	var victim *reassemblySlot
	for i := range r.slots {
		s := &r.slots[i]
		if s.used && s.id == id && now-s.started <= reassemblyTimeout {
			return s
		}
		switch {
		case victim == nil:
			victim = s
		case !s.used || now-s.started > reassemblyTimeout:
			if victim.used && now-victim.started <= reassemblyTimeout {
				victim = s
			}
		case victim.used && now-victim.started <= reassemblyTimeout && s.order < victim.order:
			victim = s
		}
	}
	r.clock++
	victim.reset(id, now)
	victim.order = r.clock
	return victim
}

func (s *reassemblySlot) reset(id uint16, now int64) {
	s.used, s.id, s.got, s.total, s.started = true, id, 0, -1, now
}
