package offload

import (
	"encoding/binary"
	"testing"
)

// FuzzSegment: any header and frame from the TAP either errs or gives
// segments that are valid TCP frames carrying the frame's payload.
func FuzzSegment(f *testing.F) {
	for _, v6 := range []bool{false, true} {
		h, fr := tsoFrame(tcpFrameBytes(v6, 1, tcpACK|tcpPSH, payloadOf(300)), v6, 100)
		var hb [HdrLen]byte
		h.Put(hb[:])
		f.Add(append(hb[:], fr...))
	}
	f.Add([]byte{1, 1, 0, 0, 0, 0, 0, 0, 0, 0})
	dst := segBufs(64)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHdr(b)
		if err != nil {
			return
		}
		frame := b[HdrLen:]
		if !h.IsGSO() {
			_ = Complete(h, append([]byte(nil), frame...))
			return
		}
		n, err := Segment(h, frame, dst)
		if err != nil {
			return
		}
		total := 0
		for _, s := range dst[:n] {
			fr, _ := parseGSO(h, s)
			total += len(s) - fr.payload
		}
		fr, _ := parseGSO(h, frame)
		if total != len(frame)-fr.payload {
			t.Fatalf("segments carry %d payload bytes, frame %d", total, len(frame)-fr.payload)
		}
	})
}

// FuzzCoalescer: any sequence of frames from peers is written out with no
// byte of TCP payload lost or invented, and never panics.
func FuzzCoalescer(f *testing.F) {
	p := payloadOf(200)
	var seed []byte
	for _, fr := range [][]byte{
		tcpFrameBytes(false, 0, tcpACK, p), tcpFrameBytes(false, 200, tcpACK, p),
		tcpFrameBytes(true, 0, tcpACK, p), tcpFrameBytes(false, 400, tcpACK|tcpPSH, p[:50]),
	} {
		seed = binary.BigEndian.AppendUint16(seed, uint16(len(fr)))
		seed = append(seed, fr...)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, b []byte) {
		in, out := 0, 0
		c := NewCoalescer(func(w []byte) (int, error) {
			h, err := ParseHdr(w)
			if err != nil {
				t.Fatal(err)
			}
			fr := w[HdrLen:]
			if h.IsGSO() {
				if _, err := Segment(h, fr, segBufs(64)); err != nil {
					t.Fatalf("glued frame does not segment: %v", err)
				}
			}
			out += len(fr)
			return len(w), nil
		})
		var hdrs int
		glued := 0
		for len(b) >= 2 {
			n := int(binary.BigEndian.Uint16(b))
			b = b[2:]
			if n > len(b) {
				n = len(b)
			}
			fr := b[:n]
			b = b[n:]
			in += len(fr)
			if f, ok := mergeable(fr); ok {
				hdrs += f.payload
				glued++
			}
			if err := c.Add(fr); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
		if out > in || (glued == 0 && out != in) {
			t.Fatalf("in %d bytes, out %d", in, out)
		}
	})
}
