package transport

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// kernelNode starts a transport on a real UDP socket on loopback, which
// has UDP GSO and GRO.
func kernelNode(t *testing.T, ca *testCA, name string, onFrame func([]byte), onFlush func()) (*Transport, netip.AddrPort) {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(Config{
		Conn:        conn,
		Certificate: ca.issue(t, name),
		Verify:      ca.verify,
		Self:        Identity{NodeID: testNodeID(name), Name: name},
		Keepalive:   time.Second,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnFrame:     func(_ *Peer, f []byte) { onFrame(f) },
		OnFlush:     onFlush,
	})
	if err != nil {
		t.Fatal(err)
	}
	tr.Start()
	t.Cleanup(func() { tr.Close() })
	return tr, conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// TestSendFramesKernelUDP: a run of frames (same-size segments, a short
// one, one that needs fragments, more segments) arrives whole and in
// order over real sockets, in fewer reads than datagrams (UDP GSO on the
// way out, GRO on the way in).
func TestSendFramesKernelUDP(t *testing.T) {
	checkGoroutines(t)
	ca := newTestCA(t, "gso")
	var mu sync.Mutex
	var got [][]byte
	flushes := 0
	a, _ := kernelNode(t, ca, "a", func([]byte) {}, func() {})
	b, bAddr := kernelNode(t, ca, "b", func(f []byte) {
		mu.Lock()
		got = append(got, append([]byte(nil), f...))
		mu.Unlock()
	}, func() { mu.Lock(); flushes++; mu.Unlock() })
	if a.udp == nil || !a.udp.gso.Load() || !b.udp.gro {
		t.Skip("this kernel has no UDP GSO/GRO")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := a.Connect(ctx, bAddr)
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for i := range 40 {
		frames = append(frames, frameOf(1400, byte(i)))
	}
	frames = append(frames, frameOf(700, 200))  // short: ends a run
	frames = append(frames, frameOf(1514, 201)) // fragments
	for i := range 20 {
		frames = append(frames, frameOf(1000, byte(100+i)))
	}
	mu.Lock()
	flushes = 0
	mu.Unlock()
	if err := a.SendFrames(p, frames); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "all frames", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= len(frames) })
	mu.Lock()
	defer mu.Unlock()
	for i := range frames {
		if !bytes.Equal(got[i], frames[i]) {
			t.Fatalf("frame %d differs (%d bytes, want %d)", i, len(got[i]), len(frames[i]))
		}
	}
	if !a.udp.gso.Load() {
		t.Fatal("the kernel refused UDP_SEGMENT")
	}
	if flushes >= len(frames) {
		t.Fatalf("%d reads for %d frames: no GRO", flushes, len(frames))
	}
	if st := p.Status(); st.FramesOut != uint64(len(frames)) {
		t.Fatalf("frames out %d, want %d", st.FramesOut, len(frames))
	}
}

// TestSendFramesAllocs: the batch path allocates nothing per run.
func TestSendFramesAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	res := testing.Benchmark(func(b *testing.B) {
		tx, p, _, _ := benchPair(b, "aes-gcm")
		conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		defer sink.Close()
		tx.conn, tx.udp = conn, newUDPOffload(conn)
		s := p.active.Load()
		s.vc.setPath(directPath(sink.LocalAddr().(*net.UDPAddr).AddrPort()))
		frames := make([][]byte, 45)
		for i := range frames {
			frames[i] = frameOf(1400, byte(i))
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := tx.SendFrames(p, frames); err != nil {
				b.Fatal(err)
			}
		}
	})
	if a := res.AllocsPerOp(); a != 0 {
		t.Fatalf("SendFrames allocates %d times per run", a)
	}
}
