package transport

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// fragments cuts frame as the sender does and returns the payloads.
func fragments(frame []byte, id uint16, maxPayload int) [][]byte {
	count, size := fragmentPlan(len(frame), maxPayload)
	if count == 1 {
		return [][]byte{append([]byte{payloadFrame}, frame...)}
	}
	var out [][]byte
	for off := 0; off < len(frame); off += size {
		end := min(off+size, len(frame))
		p := make([]byte, fragHeaderLen, fragHeaderLen+end-off)
		putFragHeader(p, id, off, end < len(frame), FramePlain)
		out = append(out, append(p, frame[off:end]...))
	}
	return out
}

func TestFragmentPlan(t *testing.T) {
	tests := []struct{ n, max, count, size int }{
		{1514, 1443, 2, 757},
		{1442, 1443, 1, 1442},
		{1443, 1443, 2, 722},
		{9018, 1443, 7, 1289},
		{60, 100, 1, 60},
	}
	for _, tt := range tests {
		c, s := fragmentPlan(tt.n, tt.max)
		if c != tt.count || s != tt.size {
			t.Errorf("fragmentPlan(%d, %d) = %d, %d; want %d, %d", tt.n, tt.max, c, s, tt.count, tt.size)
		}
		if c > 1 && s+fragHeaderLen > tt.max {
			t.Errorf("fragmentPlan(%d, %d): piece %d does not fit", tt.n, tt.max, s)
		}
	}
}

func TestReassembleInAnyOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	r := newReassembler(9018)
	for i := 0; i < 200; i++ {
		frame := make([]byte, 15+rng.IntN(9000))
		for j := range frame {
			frame[j] = byte(rng.Uint32())
		}
		ps := fragments(frame, uint16(i), 1443)
		rng.Shuffle(len(ps), func(a, b int) { ps[a], ps[b] = ps[b], ps[a] })
		var got []byte
		for k, raw := range ps {
			p, err := parsePayload(raw)
			if err != nil {
				t.Fatal(err)
			}
			if p.kind == payloadFrame {
				got = p.body
				continue
			}
			out, err := r.add(p, int64(i))
			if err != nil {
				t.Fatal(err)
			}
			if out != nil && k != len(ps)-1 {
				t.Fatalf("frame %d complete after %d of %d fragments", i, k+1, len(ps))
			}
			if out != nil {
				got = append([]byte(nil), out...)
			}
		}
		if !bytes.Equal(got, frame) {
			t.Fatalf("frame %d: reassembled %d bytes, want %d", i, len(got), len(frame))
		}
	}
}

func TestReassembleInterleavedAndLost(t *testing.T) {
	r := newReassembler(3000)
	a := bytes.Repeat([]byte{'a'}, 2000)
	b := bytes.Repeat([]byte{'b'}, 2000)
	pa, pb := fragments(a, 1, 1443), fragments(b, 2, 1443)
	// Frame 1 loses its last fragment; frames 3..6 then push it out.
	mustAdd := func(raw []byte, now int64) []byte {
		t.Helper()
		p, err := parsePayload(raw)
		if err != nil {
			t.Fatal(err)
		}
		out, err := r.add(p, now)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	mustAdd(pa[0], 0)
	mustAdd(pb[0], 0)
	if out := mustAdd(pb[1], 0); !bytes.Equal(out, b) {
		t.Fatal("interleaved frame 2 not reassembled")
	}
	for id := uint16(3); id < 7; id++ {
		mustAdd(fragments(a, id, 1443)[0], 1)
	}
	// The late tail of frame 1 must not complete it (its head was evicted).
	if out := mustAdd(pa[1], 1); out != nil {
		t.Fatal("evicted frame completed")
	}
	// Timeout: a head older than reassemblyTimeout is not joined to a tail.
	r2 := newReassembler(3000)
	p0, _ := parsePayload(pa[0])
	p1, _ := parsePayload(pa[1])
	r2.add(p0, 0)
	if out, _ := r2.add(p1, 3e9); out != nil {
		t.Fatal("expired head joined to tail")
	}
}

func TestParsePayloadErrors(t *testing.T) {
	for _, in := range [][]byte{
		nil,
		{9},
		{payloadFrame, 1, 2},
		{payloadFragment, 0, 1, 0, 0, 1},
		{payloadFragment, 0, 1, 0, 0, 0x80, 1},
	} {
		if _, err := parsePayload(in); !errors.Is(err, ErrBadPayload) {
			t.Errorf("parsePayload(%x) err = %v, want ErrBadPayload", in, err)
		}
	}
	r := newReassembler(100)
	p, _ := parsePayload(append([]byte{payloadFragment, 0, 1, 0, 99, 0}, 1, 2))
	if _, err := r.add(p, 0); !errors.Is(err, ErrBadPayload) {
		t.Errorf("fragment past limit: err = %v", err)
	}
}

// FuzzPayload feeds arbitrary decrypted payloads to the frame/fragment
// decoder and reassembler: nothing may panic, and what comes out is never
// larger than the frame limit.
func FuzzPayload(f *testing.F) {
	frame := bytes.Repeat([]byte{0x42}, 1514)
	for _, p := range fragments(frame, 7, 1443) {
		f.Add(p)
	}
	f.Add(append([]byte{payloadFrame}, frame[:60]...))
	f.Add([]byte{payloadKeepalive})
	f.Add([]byte{payloadFragment, 0, 7, 0xff, 0xff, 0})
	r := newReassembler(1518)
	var now int64
	f.Fuzz(func(t *testing.T, b []byte) {
		now += 1e6
		p, err := parsePayload(b)
		if err != nil || p.kind != payloadFragment {
			return
		}
		out, err := r.add(p, now)
		if err == nil && len(out) > 1518 {
			t.Fatalf("reassembled %d bytes over the limit", len(out))
		}
	})
}
