package offload

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// naiveSum is RFC 1071 word by word, to check sum against.
func naiveSum(b []byte) uint16 {
	var acc uint32
	for i := 0; i+1 < len(b); i += 2 {
		acc += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		acc += uint32(b[len(b)-1]) << 8
	}
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return uint16(acc)
}

func TestSumMatchesRFC1071(t *testing.T) {
	b := make([]byte, 300)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	for n := 0; n <= len(b); n++ {
		if got, want := fold(sum(b[:n], 0)), naiveSum(b[:n]); got != want {
			t.Fatalf("len %d: sum %#x, want %#x", n, got, want)
		}
	}
	ff := bytes.Repeat([]byte{0xff}, 64)
	if got := fold(sum(ff, 0)); got != 0xffff {
		t.Fatalf("all ones: %#x", got)
	}
}

var (
	macA = []byte{2, 0, 0, 0, 0, 1}
	macB = []byte{2, 0, 0, 0, 0, 2}
)

// tcpFrameBytes builds an Ethernet/IP/TCP frame with valid checksums,
// 12 bytes of TCP options (a timestamp) and the given payload.
func tcpFrameBytes(v6 bool, seq uint32, flags byte, payload []byte) []byte {
	var b []byte
	b = append(b, macB...)
	b = append(b, macA...)
	var ipLen int
	if v6 {
		b = binary.BigEndian.AppendUint16(b, etherIPv6)
		ipLen = ipv6Len
	} else {
		b = binary.BigEndian.AppendUint16(b, etherIPv4)
		ipLen = 20
	}
	tcpLen := 32 + len(payload)
	ip := make([]byte, ipLen)
	if v6 {
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:], uint16(tcpLen))
		ip[6], ip[7] = protoTCP, 64
		ip[8+15], ip[24+15] = 1, 2
		ip[8], ip[24] = 0xfd, 0xfd
	} else {
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(20+tcpLen))
		binary.BigEndian.PutUint16(ip[4:], 777)
		ip[6] = 0x40 // DF
		ip[8], ip[9] = 64, protoTCP
		copy(ip[12:], []byte{10, 77, 1, 10, 10, 77, 2, 10})
		binary.BigEndian.PutUint16(ip[10:], ipv4HeaderChecksum(ip))
	}
	b = append(b, ip...)
	tcp := make([]byte, 32, tcpLen)
	binary.BigEndian.PutUint16(tcp[0:], 40000)
	binary.BigEndian.PutUint16(tcp[2:], 5201)
	binary.BigEndian.PutUint32(tcp[4:], seq)
	binary.BigEndian.PutUint32(tcp[8:], 99)
	tcp[12] = 8 << 4
	tcp[13] = flags
	binary.BigEndian.PutUint16(tcp[14:], 501)
	copy(tcp[20:], []byte{1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6})
	tcp = append(tcp, payload...)
	var src, dst []byte
	if v6 {
		src, dst = ip[8:24], ip[24:40]
	} else {
		src, dst = ip[12:16], ip[16:20]
	}
	binary.BigEndian.PutUint16(tcp[16:], ^fold(sum(tcp, pseudoSum(src, dst, protoTCP, len(tcp)))))
	return append(b, tcp...)
}

// tsoFrame turns a valid frame into what the kernel hands a TAP with TSO:
// the TCP checksum field holds only the pseudo-header sum.
func tsoFrame(frame []byte, v6 bool, gso int) (Hdr, []byte) {
	f, ok := mergeable(frame)
	if !ok {
		panic("test frame not TCP")
	}
	var src, dst []byte
	if v6 {
		src, dst = frame[f.ip+8:f.ip+24], frame[f.ip+24:f.ip+40]
	} else {
		src, dst = frame[f.ip+12:f.ip+16], frame[f.ip+16:f.ip+20]
	}
	tcp := frame[f.tcp:]
	binary.BigEndian.PutUint16(tcp[16:], fold(pseudoSum(src, dst, protoTCP, len(tcp))))
	h := Hdr{Flags: FlagNeedsCsum, GSOType: GSOTCPv4, HdrLen: uint16(f.payload), GSOSize: uint16(gso),
		CsumStart: uint16(f.tcp), CsumOffset: 16}
	if v6 {
		h.GSOType = GSOTCPv6
	}
	return h, frame
}

func payloadOf(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*13 + i>>8)
	}
	return p
}

func segBufs(n int) [][]byte {
	d := make([][]byte, n)
	for i := range d {
		d[i] = make([]byte, 2048)
	}
	return d
}

func TestSegmentThenCoalesce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		v6    bool
		size  int
		gso   int
		flags byte
		segs  int
	}{
		{"v4 even", false, 1400 * 4, 1400, tcpACK | tcpPSH, 4},
		{"v4 short tail", false, 1400*3 + 100, 1400, tcpACK | tcpPSH, 4},
		{"v6", true, 1380 * 40, 1380, tcpACK, 40},
		{"v4 one segment", false, 500, 1400, tcpACK, 1},
		{"v4 64 KiB", false, 65535 - 20 - 32, 1448, tcpACK | tcpPSH, 46},
	} {
		t.Run(tc.name, func(t *testing.T) {
			payload := payloadOf(tc.size)
			orig := tcpFrameBytes(tc.v6, 1000, tc.flags, payload)
			h, tso := tsoFrame(append([]byte(nil), orig...), tc.v6, tc.gso)
			dst := segBufs(64)
			n, err := Segment(h, tso, dst)
			if err != nil {
				t.Fatal(err)
			}
			if n != tc.segs {
				t.Fatalf("%d segments, want %d", n, tc.segs)
			}
			for i, s := range dst[:n] {
				if _, ok := mergeable(s); !ok && i < n-1 {
					t.Fatalf("segment %d is not a valid TCP segment", i)
				}
				want := min(tc.size-i*tc.gso, tc.gso)
				f, _ := mergeable(s)
				if f.payload == 0 {
					// The last segment keeps PSH and is still valid TCP.
					t.Fatalf("segment %d: bad", i)
				}
				if got := len(s) - f.payload; got != want {
					t.Fatalf("segment %d: %d payload bytes, want %d", i, got, want)
				}
				if s[f.tcp+13]&tcpPSH != 0 && i != n-1 {
					t.Fatalf("PSH on segment %d", i)
				}
			}
			// In again: the coalescer must give back one frame equal to the
			// original but for the checksum field, with a TSO header.
			var out [][]byte
			c := NewCoalescer(func(b []byte) (int, error) { out = append(out, append([]byte(nil), b...)); return len(b), nil })
			for _, s := range dst[:n] {
				if err := c.Add(s); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.Flush(); err != nil {
				t.Fatal(err)
			}
			if len(out) != 1 {
				t.Fatalf("%d frames written, want 1", len(out))
			}
			oh, _ := ParseHdr(out[0])
			got := out[0][HdrLen:]
			if len(got) != len(orig) {
				t.Fatalf("glued %d bytes, want %d", len(got), len(orig))
			}
			if n == 1 {
				if oh != (Hdr{}) || !bytes.Equal(got, orig) {
					t.Fatalf("single segment changed: %+v", oh)
				}
				return
			}
			if int(oh.GSOSize) != tc.gso || oh.Flags != FlagNeedsCsum || int(oh.CsumStart) != int(h.CsumStart) {
				t.Fatalf("header %+v", oh)
			}
			// Finish the checksum as the kernel would and compare.
			if err := Complete(oh, got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, orig) {
				t.Fatal("glued frame differs from the original")
			}
		})
	}
}

func TestCoalescerKeepsFlowsApartAndInOrder(t *testing.T) {
	var out [][]byte
	c := NewCoalescer(func(b []byte) (int, error) { out = append(out, append([]byte(nil), b...)); return len(b), nil })
	p := payloadOf(100)
	a1 := tcpFrameBytes(false, 0, tcpACK, p)
	a2 := tcpFrameBytes(false, 100, tcpACK, p)
	gap := tcpFrameBytes(false, 300, tcpACK, p) // a hole: not glued
	fin := tcpFrameBytes(false, 400, tcpACK|tcpFIN, p)
	v6 := tcpFrameBytes(true, 0, tcpACK, p)
	arp := append(append(append([]byte(nil), macB...), macA...), 0x08, 0x06, 1, 2, 3)
	for _, f := range [][]byte{a1, v6, a2, arp, gap, fin} {
		if err := c.Add(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	// arp is written at once; a1+a2 flushed by the gap; the gap flushed
	// by fin (same flow, not mergeable), fin written; v6 at Flush.
	var kinds []string
	for _, o := range out {
		h, _ := ParseHdr(o)
		f := o[HdrLen:]
		switch {
		case binary.BigEndian.Uint16(f[12:]) == 0x0806:
			kinds = append(kinds, "arp")
		case h.IsGSO():
			kinds = append(kinds, "glued")
		case f[12] == 0x86:
			kinds = append(kinds, "v6")
		case f[len(f)-len(p)-32+13]&tcpFIN != 0:
			kinds = append(kinds, "fin")
		default:
			kinds = append(kinds, "one")
		}
	}
	want := []string{"arp", "glued", "one", "fin", "v6"}
	if len(kinds) != len(want) {
		t.Fatalf("wrote %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("wrote %v, want %v", kinds, want)
		}
	}
}

func TestCoalescerRefusesBadChecksum(t *testing.T) {
	var out [][]byte
	c := NewCoalescer(func(b []byte) (int, error) { out = append(out, append([]byte(nil), b...)); return len(b), nil })
	p := payloadOf(100)
	a1 := tcpFrameBytes(false, 0, tcpACK, p)
	a2 := tcpFrameBytes(false, 100, tcpACK, p)
	a2[len(a2)-1] ^= 0xff
	_ = c.Add(a1)
	_ = c.Add(a2)
	_ = c.Flush()
	if len(out) != 2 {
		t.Fatalf("%d frames, want the bad segment passed on alone", len(out))
	}
}

func TestSegmentErrors(t *testing.T) {
	good := tcpFrameBytes(false, 0, tcpACK, payloadOf(3000))
	h, f := tsoFrame(append([]byte(nil), good...), false, 1000)
	for _, tc := range []struct {
		name  string
		h     Hdr
		frame []byte
		bufs  int
		want  error
	}{
		{"UFO", Hdr{Flags: FlagNeedsCsum, GSOType: GSOUDP, GSOSize: 100, CsumStart: 34, CsumOffset: 6}, f, 8, ErrUnsupportedGSO},
		{"no csum", Hdr{GSOType: GSOTCPv4, GSOSize: 1000, CsumStart: 34, CsumOffset: 16}, f, 8, ErrBadFrame},
		{"wrong start", Hdr{Flags: 1, GSOType: GSOTCPv4, GSOSize: 1000, CsumStart: 38, CsumOffset: 16}, f, 8, ErrBadFrame},
		{"v6 type on v4", Hdr{Flags: 1, GSOType: GSOTCPv6, GSOSize: 1000, CsumStart: 34, CsumOffset: 16}, f, 8, ErrBadFrame},
		{"truncated", h, f[:40], 8, ErrBadFrame},
		{"no payload", h, f[:66], 8, ErrBadFrame},
		{"few buffers", h, f, 2, ErrTooManySegments},
		{"zero gso", Hdr{Flags: 1, GSOType: GSOTCPv4, CsumStart: 34, CsumOffset: 16}, f, 8, ErrBadFrame},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Segment(tc.h, tc.frame, segBufs(tc.bufs))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
}

func TestHdrRoundTrip(t *testing.T) {
	h := Hdr{Flags: 1, GSOType: 4, HdrLen: 86, GSOSize: 1428, CsumStart: 54, CsumOffset: 16}
	var b [HdrLen]byte
	h.Put(b[:])
	if g, err := ParseHdr(b[:]); err != nil || g != h {
		t.Fatalf("%+v %v", g, err)
	}
	if _, err := ParseHdr(b[:9]); !errors.Is(err, ErrShortHeader) {
		t.Fatal(err)
	}
}

func TestComplete(t *testing.T) {
	orig := tcpFrameBytes(false, 5, tcpACK, payloadOf(333))
	h, f := tsoFrame(append([]byte(nil), orig...), false, 2000)
	h.GSOType = GSONone
	if err := Complete(h, f); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f, orig) {
		t.Fatal("completed checksum differs")
	}
	if err := Complete(Hdr{Flags: FlagNeedsCsum, CsumStart: 60, CsumOffset: 16}, f[:70]); !errors.Is(err, ErrBadFrame) {
		t.Fatal(err)
	}
}

func TestNoAllocs(t *testing.T) {
	orig := tcpFrameBytes(false, 0, tcpACK, payloadOf(64000))
	h, f := tsoFrame(orig, false, 1400)
	dst := segBufs(64)
	c := NewCoalescer(func(b []byte) (int, error) { return len(b), nil })
	n, _ := Segment(h, f, dst)
	for _, s := range dst[:n] {
		_ = c.Add(s)
	}
	_ = c.Flush()
	allocs := testing.AllocsPerRun(20, func() {
		n, err := Segment(h, f, dst)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range dst[:n] {
			_ = c.Add(s)
		}
		_ = c.Flush()
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per 64 KiB round trip", allocs)
	}
}

func BenchmarkSegment64K(b *testing.B) {
	orig := tcpFrameBytes(false, 0, tcpACK, payloadOf(64000))
	h, f := tsoFrame(orig, false, 1400)
	dst := segBufs(64)
	b.SetBytes(int64(len(f)))
	for b.Loop() {
		if _, err := Segment(h, f, dst); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCoalesce64K(b *testing.B) {
	orig := tcpFrameBytes(false, 0, tcpACK, payloadOf(64000))
	h, f := tsoFrame(orig, false, 1400)
	dst := segBufs(64)
	n, _ := Segment(h, f, dst)
	c := NewCoalescer(func(b []byte) (int, error) { return len(b), nil })
	b.SetBytes(int64(len(f)))
	for b.Loop() {
		for _, s := range dst[:n] {
			_ = c.Add(s)
		}
		_ = c.Flush()
	}
}

func BenchmarkSum64K(b *testing.B) {
	p := payloadOf(65536)
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		_ = fold(sum(p, 0))
	}
}
