package overlay

import (
	"encoding/binary"
	"testing"
)

// tcpChecksum computes a TCP checksum from scratch over the pseudo-header
// (src, dst, protocol, length) and the segment with a zero checksum field.
func tcpChecksum(src, dst []byte, seg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(src)
	add(dst)
	sum += ipProtoTCP + uint32(len(seg))
	c := append([]byte(nil), seg...)
	c[16], c[17] = 0, 0
	add(c)
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// synFrame builds an Ethernet frame with a TCP SYN announcing mss, with
// a correct checksum; v6 selects IPv6.
func synFrame(v6 bool, mss uint16, flags byte) []byte {
	tcp := make([]byte, 28)
	binary.BigEndian.PutUint16(tcp[0:], 40000)
	binary.BigEndian.PutUint16(tcp[2:], 5201)
	tcp[12] = 7 << 4 // 28-byte header
	tcp[13] = flags
	tcp[20], tcp[21] = 1, 1 // no-ops
	tcp[22], tcp[23] = 2, 4
	binary.BigEndian.PutUint16(tcp[24:], mss)
	tcp[26], tcp[27] = 1, 1
	var ip, src, dst []byte
	var et uint16
	if v6 {
		ip = make([]byte, 40)
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:], uint16(len(tcp)))
		ip[6], ip[7] = ipProtoTCP, 64
		ip[8], ip[23] = 0xfd, 1
		ip[24], ip[39] = 0xfd, 2
		src, dst, et = ip[8:24], ip[24:40], EtherTypeIPv6
	} else {
		ip = make([]byte, 20)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(20+len(tcp)))
		ip[8], ip[9] = 64, ipProtoTCP
		copy(ip[12:], []byte{10, 77, 1, 10})
		copy(ip[16:], []byte{10, 77, 2, 10})
		src, dst, et = ip[12:16], ip[16:20], EtherTypeIPv4
	}
	binary.BigEndian.PutUint16(tcp[16:], tcpChecksum(src, dst, tcp))
	f := make([]byte, 14)
	binary.BigEndian.PutUint16(f[12:], et)
	f = append(f, ip...)
	return append(f, tcp...)
}

func TestClampMSS(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		limit := uint16(1388)
		if v6 {
			limit = 1368
		}
		f := synFrame(v6, 1460, 0x02)
		if !ClampMSS(f, 1388, 1368) {
			t.Fatalf("v6=%v: SYN with MSS 1460 not clamped", v6)
		}
		ipLen, src, dst := 20, f[14+12:14+16], f[14+16:14+20]
		if v6 {
			ipLen, src, dst = 40, f[14+8:14+24], f[14+24:14+40]
		}
		tcp := f[14+ipLen:]
		if got := binary.BigEndian.Uint16(tcp[24:]); got != limit {
			t.Fatalf("v6=%v: MSS %d, want %d", v6, got, limit)
		}
		if got, want := binary.BigEndian.Uint16(tcp[16:]), tcpChecksum(src, dst, tcp); got != want {
			t.Fatalf("v6=%v: checksum %#x after clamping, want %#x", v6, got, want)
		}
		// SYN-ACK too; a smaller MSS, a plain ACK and other protocols stay.
		if !ClampMSS(synFrame(v6, 1460, 0x12), 1388, 1368) {
			t.Errorf("v6=%v: SYN-ACK not clamped", v6)
		}
		for _, g := range [][]byte{synFrame(v6, 1200, 0x02), synFrame(v6, 1460, 0x10)} {
			before := append([]byte(nil), g...)
			if ClampMSS(g, 1388, 1368) || string(g) != string(before) {
				t.Errorf("v6=%v: frame changed that must not be", v6)
			}
		}
	}
	// Truncated anywhere: no change, no panic.
	full := synFrame(false, 1460, 0x02)
	for n := 0; n < len(full); n++ {
		if ClampMSS(append([]byte(nil), full[:n]...), 1388, 1368) {
			t.Fatalf("clamped a frame cut at %d bytes", n)
		}
	}
}

func BenchmarkClampMSSNonSYN(b *testing.B) {
	f := synFrame(false, 1460, 0x10)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ClampMSS(f, 1388, 1368)
	}
}

func FuzzClampMSS(f *testing.F) {
	f.Add(synFrame(false, 1460, 0x02))
	f.Add(synFrame(true, 1460, 0x12))
	f.Add(synFrame(false, 1000, 0x02))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := append([]byte(nil), b...)
		changed := ClampMSS(c, 1388, 1368)
		if !changed && string(c) != string(b) {
			t.Fatal("frame changed without a report")
		}
		if len(c) != len(b) {
			t.Fatal("length changed")
		}
	})
}
