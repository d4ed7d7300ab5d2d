package transport

import (
	"github.com/ipopd/ipopd/internal/wire"

	"bytes"
	"errors"
	"net/netip"
	"testing"
)

// floodPayloads cuts frame as SendFrameVia does and returns the payloads.
func floodPayloads(frame []byte, via Via, id uint16, maxPayload int) [][]byte {
	var pre []byte
	kind := byte(payloadFrame)
	switch via.Kind {
	case FrameReflect:
		kind = payloadReflect
	case FrameReflected:
		kind = payloadReflected
		pre = []byte{byte(via.Origin >> 56), byte(via.Origin >> 48), byte(via.Origin >> 40), byte(via.Origin >> 32),
			byte(via.Origin >> 24), byte(via.Origin >> 16), byte(via.Origin >> 8), byte(via.Origin)}
	}
	total := len(pre) + len(frame)
	count, size := fragmentPlan(total, maxPayload)
	if count == 1 {
		return [][]byte{append(append([]byte{kind}, pre...), frame...)}
	}
	var out [][]byte
	for off := 0; off < total; off += size {
		end := min(off+size, total)
		p := make([]byte, fragHeaderLen+end-off)
		putFragHeader(p, id, off, end < total, via.Kind)
		copyJoined(p[fragHeaderLen:], pre, frame, off, end)
		out = append(out, p)
	}
	return out
}

// TestFloodRoundTrip sends floods of every kind and size through the real
// send and receive code (sealed records, fragments where needed) and
// checks that the frame and how it travelled arrive unchanged, through
// OnFlood, and plain frames through OnFrame.
func TestFloodRoundTrip(t *testing.T) {
	vias := []Via{{}, {Kind: FrameReflect}, {Kind: FrameReflected, Origin: 0x0123456789abcdef}, {Kind: FrameReflected}}
	for _, via := range vias {
		for _, size := range []int{14, 60, 1400, 1435, 1436, 1514, 1518} {
			tx, p, rx, rs := benchPair(t, "chacha20")
			rs.peer.roles.Store(wire.RoleLighthouse) // only lighthouses reflect
			capture := &captureConn{}
			tx.conn = capture
			frame := frameOf(size, byte(size))
			if err := tx.SendFrameVia(p, frame, via); err != nil {
				t.Fatalf("%+v %d: %v", via, size, err)
			}
			var got []byte
			var gotVia Via
			plain := 0
			rx.cfg.OnFrame = func(_ *Peer, f []byte) { got, plain = append([]byte(nil), f...), plain+1 }
			rx.cfg.OnFlood = func(_ *Peer, f []byte, v Via) { got, gotVia = append([]byte(nil), f...), v }
			var nonce [nonceLen]byte
			for _, r := range capture.recs {
				rx.receiveData(r, directPath(netip.MustParseAddrPort("192.0.2.1:6464")), &nonce)
			}
			if !bytes.Equal(got, frame) || gotVia != via || (plain == 1) != (via.Kind == FramePlain) {
				t.Fatalf("%+v %d bytes in %d records: got %d bytes via %+v (plain %d)", via, size, len(capture.recs), len(got), gotVia, plain)
			}
			if size == 1518 && len(capture.recs) < 2 {
				t.Fatalf("%+v: a 1518-byte frame was not fragmented", via)
			}
			_ = rs
		}
	}
}

// TestFloodFragmentsDoNotMix: a fragment whose flood kind differs from the
// frame it claims to continue starts a new frame instead of completing
// the old one with the wrong kind.
func TestFloodFragmentsDoNotMix(t *testing.T) {
	// The same frame cut the same way as a plain frame and as a flood to
	// reflect: a's head and b's tail would make the whole frame, were
	// the kinds not compared.
	frame := frameOf(2000, 7)
	a := floodPayloads(frame, Via{}, 9, 1443)
	b := floodPayloads(frame, Via{Kind: FrameReflect}, 9, 1443)
	if len(a) != 2 || len(b) != 2 {
		t.Fatalf("cut into %d and %d fragments, want 2 each", len(a), len(b))
	}
	r := newReassembler(1518 + originLen + 1000)
	add := func(raw []byte) []byte {
		p, err := parsePayload(raw)
		if err != nil {
			t.Fatal(err)
		}
		out, err := r.add(p, 1)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	add(a[0])
	if out := add(b[1]); out != nil {
		t.Fatal("a reflect tail completed a plain head")
	}
	if out := add(b[0]); out == nil {
		t.Fatal("the reflect frame's own head did not complete it")
	}
}

// TestReflectedOnlyFromLighthouse: a reflected flood from a member that
// is no lighthouse is dropped: it could name any origin.
func TestReflectedOnlyFromLighthouse(t *testing.T) {
	tx, p, rx, _ := benchPair(t, "chacha20")
	capture := &captureConn{}
	tx.conn = capture
	if err := tx.SendFrameVia(p, frameOf(60, 1), Via{Kind: FrameReflected, Origin: 5}); err != nil {
		t.Fatal(err)
	}
	got := 0
	rx.cfg.OnFrame = func(*Peer, []byte) { got++ }
	rx.cfg.OnFlood = func(*Peer, []byte, Via) { got++ }
	var nonce [nonceLen]byte
	for _, r := range capture.recs {
		rx.receiveData(r, directPath(netip.MustParseAddrPort("192.0.2.1:6464")), &nonce)
	}
	if got != 0 || rx.Stats().BadPayload != 1 {
		t.Fatalf("delivered %d, bad payloads %d; want 0 and 1", got, rx.Stats().BadPayload)
	}
}

func TestParseFloodPayloadErrors(t *testing.T) {
	for _, in := range [][]byte{
		{payloadReflect, 1, 2},
		append([]byte{payloadReflected, 1, 2, 3, 4, 5, 6, 7, 8}, make([]byte, 13)...),
		{payloadFragment, 0, 1, 0, 0, fragReflect | fragReflected, 1},
		{payloadFragment, 0, 1, 0, 0, 8, 1},
	} {
		if _, err := parsePayload(in); !errors.Is(err, ErrBadPayload) {
			t.Errorf("parsePayload(%x) err = %v, want ErrBadPayload", in, err)
		}
	}
	if _, _, err := reassembled(make([]byte, originLen+13), FrameReflected); !errors.Is(err, ErrBadPayload) {
		t.Errorf("short reassembled reflected frame: err = %v", err)
	}
}

// TestFloodPathAllocs: reflected floods, fragmented or not, cost no
// allocation on either side.
func TestFloodPathAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	via := Via{Kind: FrameReflected, Origin: 42}
	for _, size := range []int{60, 1514} {
		tx, p, rx, rs := benchPair(t, "chacha20")
		rs.peer.roles.Store(wire.RoleLighthouse) // only lighthouses reflect
		frame := frameOf(size, 1)
		if a := testing.AllocsPerRun(200, func() { _ = tx.SendFrameVia(p, frame, via) }); a != 0 {
			t.Fatalf("SendFrameVia(%d bytes) allocates %v times", size, a)
		}
		capture := &captureConn{}
		tx.conn = capture
		for len(capture.recs) < 400 {
			_ = tx.SendFrameVia(p, frame, via)
		}
		delivered := 0
		rx.cfg.OnFlood = func(*Peer, []byte, Via) { delivered++ }
		from := directPath(netip.MustParseAddrPort("192.0.2.1:6464"))
		buf := make([]byte, 2048)
		var nonce [nonceLen]byte
		k := 0
		a := testing.AllocsPerRun(200, func() {
			m := copy(buf, capture.recs[k%len(capture.recs)])
			k++
			rx.receiveData(buf[:m], from, &nonce)
		})
		if a != 0 || delivered == 0 {
			t.Fatalf("receiving reflected %d-byte frames allocates %v times (%d delivered)", size, a, delivered)
		}
	}
}

// FuzzFloodPayload feeds arbitrary decrypted payloads, seeded with real
// reflect and reflected records and fragments, to the decoder, the
// reassembler and the origin split: nothing may panic, a frame that comes
// out is never over the limit nor shorter than an Ethernet header, and
// only reflected frames carry an origin.
func FuzzFloodPayload(f *testing.F) {
	frame := bytes.Repeat([]byte{0x42}, 1514)
	for _, via := range []Via{{Kind: FrameReflect}, {Kind: FrameReflected, Origin: 0xfedcba9876543210}} {
		for _, p := range floodPayloads(frame, via, 7, 1443) {
			f.Add(p)
		}
		f.Add(floodPayloads(frame[:60], via, 8, 1443)[0])
	}
	f.Add([]byte{payloadFragment, 0, 7, 0, 0, fragReflected | fragMore, 1, 2, 3})
	const limit = 1518
	r := newReassembler(limit + originLen)
	var now int64
	f.Fuzz(func(t *testing.T, b []byte) {
		now += 1e6
		p, err := parsePayload(b)
		if err != nil {
			return
		}
		frame, via := p.body, p.via
		switch p.kind {
		case payloadKeepalive:
			return
		case payloadFragment:
			out, err := r.add(p, now)
			if err != nil || out == nil {
				return
			}
			if frame, via, err = reassembled(out, p.via.Kind); err != nil {
				return
			}
			if len(frame) > limit {
				t.Fatalf("reassembled %d bytes over the limit", len(frame))
			}
		}
		if len(frame) < 14 && via.Kind != FramePlain {
			t.Fatalf("flood of %d bytes", len(frame))
		}
		if via.Kind != FrameReflected && via.Origin != 0 {
			t.Fatalf("origin %x on a %d frame", via.Origin, via.Kind)
		}
	})
}
