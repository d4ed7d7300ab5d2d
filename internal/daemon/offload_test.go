package daemon

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/ipopd/ipopd/internal/offload"
)

// tsoFrame builds what a TAP with TSO hands over: a virtio-net header
// asking for 1000-byte segments, then an IPv4/TCP frame whose payload
// starts with marker.
func tsoFrame(dst, src [6]byte, seq uint32, marker string, size int) []byte {
	h := offload.Hdr{Flags: offload.FlagNeedsCsum, GSOType: offload.GSOTCPv4, HdrLen: 54, GSOSize: 1000, CsumStart: 34, CsumOffset: 16}
	b := make([]byte, offload.HdrLen+54+size)
	h.Put(b)
	f := b[offload.HdrLen:]
	copy(f, dst[:])
	copy(f[6:], src[:])
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(40+size))
	ip[6], ip[8], ip[9] = 0x40, 64, 6
	copy(ip[12:], []byte{10, 77, 1, 10, 10, 77, 2, 10})
	tcp := ip[20:]
	binary.BigEndian.PutUint16(tcp[0:], 40000)
	binary.BigEndian.PutUint16(tcp[2:], 5201)
	binary.BigEndian.PutUint32(tcp[4:], seq)
	tcp[12], tcp[13] = 5<<4, 0x10
	binary.BigEndian.PutUint16(tcp[14:], 500)
	copy(tcp[20:], marker)
	return b
}

// TestTSOFromTheDevice: TSO frames from the TAP, several segments or one,
// queued together so that they share read batches, all reach the peer
// whole: the segments are cut, sent and glued back, and a frame waiting
// to be sent is never overwritten by the next one's segments.
func TestTSOFromTheDevice(t *testing.T) {
	ms := startMembers(t, 2)
	a, b := ms[0], ms[1]
	bcast := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	// b's host speaks first, so that a sends to it by unicast.
	b.dev.in <- frame(bcast, mac(2), "hello")
	eventually(t, "hello at a", func() bool { return a.dev.got([]byte("hello")) == 1 })
	const n = 30
	for i := range n {
		size := 500 // one segment
		if i%3 == 0 {
			size = 2500 // three
		}
		a.dev.raw <- tsoFrame(mac(2), mac(1), uint32(i)*100000, fmt.Sprintf("tso-%02d", i), size)
	}
	eventually(t, "every TSO frame at b", func() bool {
		for i := range n {
			if b.dev.got([]byte(fmt.Sprintf("tso-%02d", i))) == 0 {
				return false
			}
		}
		return true
	})
	for i := range n {
		if got := b.dev.got([]byte(fmt.Sprintf("tso-%02d", i))); got != 1 {
			t.Fatalf("tso-%02d arrived %d times", i, got)
		}
	}
	if st := a.d.controlStatus(); st.Counters["tso_frames_cut"] != n || st.Counters["offload_errors"] != 0 {
		t.Fatalf("counters %v", st.Counters)
	}
}
