package transport

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

// discardConn is a socket that drops what it is given and never delivers.
type discardConn struct{ done chan struct{} }

func (c discardConn) ReadFromUDPAddrPort([]byte) (int, netip.AddrPort, error) {
	<-c.done
	return 0, netip.AddrPort{}, net.ErrClosed
}
func (discardConn) WriteToUDPAddrPort(b []byte, _ netip.AddrPort) (int, error) { return len(b), nil }
func (discardConn) LocalAddr() net.Addr                                        { return &net.UDPAddr{} }
func (c discardConn) Close() error                                             { return nil }

// benchPair makes a sending and a receiving session that share keys, on
// transports that touch no network.
func benchPair(b testing.TB, suite string) (tx *Transport, ps *Peer, rx *Transport, rs *session) {
	b.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	var aead cipher.AEAD
	switch suite {
	case "aes-gcm":
		blk, _ := aes.NewCipher(key[:16])
		aead, _ = cipher.NewGCM(blk)
	case "chacha20":
		aead, _ = chacha20poly1305.New(key)
	}
	mk := func() *Transport {
		t, err := New(Config{
			Conn:        discardConn{done: make(chan struct{})},
			Certificate: newTestCA(b, "bench").issue(b, "x"),
			Verify:      func([][]byte) (Identity, error) { return Identity{}, nil },
			Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			b.Fatal(err)
		}
		return t
	}
	tx, rx = mk(), mk()
	ep := netip.MustParseAddrPort("192.0.2.1:6464")
	ps = &Peer{NodeID: "rx"}
	ss := &session{t: tx, peer: ps, vc: newVconn(tx, directPath(ep), true), done: make(chan struct{}), readyC: make(chan struct{})}
	ss.keys.Store(&keys{send: aead})
	ss.remoteIndex.Store(7)
	ss.markReady()
	ps.active.Store(ss)
	rp := &Peer{NodeID: "tx"}
	rs = &session{t: rx, peer: rp, vc: newVconn(rx, directPath(ep), false), localIndex: 7, reasm: newReassembler(1518 + originLen), done: make(chan struct{})}
	rs.keys.Store(&keys{recv: aead})
	rx.byIndex[7] = rs
	return tx, ps, rx, rs
}

// BenchmarkFramePath measures the per-frame cost of the two halves of the
// data path, with crypto: TAP->wire (SendFrame: copy, fragment, seal,
// write) and wire->TAP (receiveData: lookup, open, replay, reassemble,
// deliver). Both must report 0 allocs/op.
func BenchmarkFramePath(b *testing.B) {
	for _, suite := range []string{"aes-gcm", "chacha20"} {
		for _, size := range []int{64, 1400, 1514} {
			b.Run(fmt.Sprintf("tap-to-wire/%s/%d", suite, size), func(b *testing.B) {
				tx, p, _, _ := benchPair(b, suite)
				frame := frameOf(size, 1)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				ss := p.active.Load()
				for i := 0; i < b.N; i++ {
					if i&(1<<20-1) == 0 {
						// A long run must not reach the per-key record
						// limit, which a rekey would lift (rekey.go).
						ss.sendCounter.Store(0)
					}
					if err := tx.SendFrame(p, frame); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("wire-to-tap/%s/%d", suite, size), func(b *testing.B) {
				tx, p, rx, rs := benchPair(b, suite)
				// Capture what the sender writes: a few thousand records
				// with consecutive counters, replayed in a loop (the replay
				// window is reset when the loop wraps).
				const n = 2048
				var recs [][]byte
				capture := &captureConn{}
				tx.conn = capture
				frame := frameOf(size, 1)
				for len(capture.recs) < n {
					tx.SendFrame(p, frame)
				}
				recs = capture.recs
				delivered := 0
				rx.cfg.OnFrame = func(*Peer, []byte) { delivered++ }
				from := netip.MustParseAddrPort("192.0.2.1:6464")
				buf := make([]byte, 2048)
				var nonce [nonceLen]byte
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					k := i % len(recs)
					if k == 0 {
						rs.replay = replayWindow{}
					}
					m := copy(buf, recs[k])
					rx.receiveData(buf[:m], directPath(from), &nonce)
				}
				b.StopTimer()
				if delivered == 0 && b.N > 1 {
					b.Fatal("nothing delivered")
				}
			})
		}
	}
}

type captureConn struct {
	discardConn
	recs [][]byte
}

func (c *captureConn) WriteToUDPAddrPort(b []byte, _ netip.AddrPort) (int, error) {
	c.recs = append(c.recs, append([]byte(nil), b...))
	return len(b), nil
}

// TestFramePathAllocs guards the zero-allocation promise in the normal test
// run, not only in benchmarks.
func TestFramePathAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	res := testing.Benchmark(func(b *testing.B) {
		tx, p, _, _ := benchPair(b, "chacha20")
		frame := frameOf(1514, 1)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			tx.SendFrame(p, frame)
		}
	})
	if a := res.AllocsPerOp(); a != 0 {
		t.Fatalf("SendFrame allocates %d times per frame", a)
	}
}
