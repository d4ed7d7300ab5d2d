package transport

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/protocol"

	"github.com/ipopd/ipopd/internal/netsim"
	"github.com/ipopd/ipopd/internal/wire"
)

// ctlPair makes the two ends of one session's record layer from a made-up
// handshake state.
func ctlPair(t testing.TB, suite dtls.CipherSuiteID) (client, server *ctlChannel) {
	t.Helper()
	var cr, sr [32]byte
	rand.Read(cr[:])
	rand.Read(sr[:])
	master := make([]byte, 48)
	rand.Read(master)
	return ctlPairFrom(t, suite, cr, sr, master)
}

func ctlPairFrom(t testing.TB, suite dtls.CipherSuiteID, cr, sr [32]byte, master []byte) (client, server *ctlChannel) {
	t.Helper()
	ccid, scid := []byte("client-c"), []byte("server-c")
	mk := func(isClient bool) *ctlChannel {
		s := dtlsSnapshot{LocalEpoch: 1, RemoteEpoch: 1, CipherSuiteID: uint16(suite), MasterSecret: master,
			SequenceNumber: 5, RemoteSequenceNumber: 3, IsClient: isClient,
			LocalRandom: sr, RemoteRandom: cr, LocalConnectionID: scid, RemoteConnectionID: ccid}
		if isClient {
			s.LocalRandom, s.RemoteRandom, s.LocalConnectionID, s.RemoteConnectionID = cr, sr, ccid, scid
		}
		c, err := newCtlChannel(s)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	return mk(true), mk(false)
}

func TestCtlChannelRecords(t *testing.T) {
	for _, suite := range []dtls.CipherSuiteID{dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, dtls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256} {
		t.Run(suite.String(), func(t *testing.T) {
			c, s := ctlPair(t, suite)
			msg := bytes.Repeat([]byte("control "), 1500)
			rec, err := c.seal(msg, protocol.ContentTypeApplicationData)
			if err != nil {
				t.Fatal(err)
			}
			replay := bytes.Clone(rec)
			got := s.open(rec)
			if len(got) != 1 || got[0].typ != protocol.ContentTypeApplicationData || !bytes.Equal(got[0].content, msg) {
				t.Fatalf("opened %d records", len(got))
			}
			if got := s.open(replay); len(got) != 0 {
				t.Error("a replayed record was accepted")
			}
			// Two records in one datagram, both ways round; a forged one
			// between them is dropped alone.
			r1, _ := s.seal([]byte("one"), protocol.ContentTypeApplicationData)
			r2, _ := s.closeNotify()
			forged, _ := s.seal([]byte("two"), protocol.ContentTypeApplicationData)
			forged[len(forged)-1] ^= 1
			got = c.open(append(append(r1, forged...), r2...))
			if len(got) != 2 || string(got[0].content) != "one" || got[1].typ != protocol.ContentTypeAlert {
				t.Fatalf("opened %+v", got)
			}
			// Records the peer sent before the takeover (sequence numbers
			// below the snapshot's) count as seen.
			old := *c
			old.seq = 1
			early, _ := old.seal([]byte("old"), protocol.ContentTypeApplicationData)
			if got := s.open(early); len(got) != 0 {
				t.Error("a record from before the takeover was accepted")
			}
			// Junk never panics.
			for _, junk := range [][]byte{nil, {25}, rec[:20], bytes.Repeat([]byte{25}, 40)} {
				s.open(junk)
			}
		})
	}
}

// FuzzCtlOpen: whatever arrives with a session's Connection ID, opening
// it never panics, and nothing but a record sealed with the session's keys
// comes out.
func FuzzCtlOpen(f *testing.F) {
	fixed := func(tb testing.TB) (*ctlChannel, *ctlChannel) {
		var cr, sr [32]byte
		cr[0], sr[0] = 1, 2
		return ctlPairFrom(tb, dtls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, cr, sr, bytes.Repeat([]byte{3}, 48))
	}
	c, _ := fixed(f)
	r1, _ := c.seal([]byte{byte(wire.TypePing), 0xa0}, protocol.ContentTypeApplicationData)
	r2, _ := c.closeNotify()
	// open decrypts in place: the seeds are copies.
	f.Add(bytes.Clone(r1))
	f.Add(append(bytes.Clone(r1), r2...))
	f.Add(bytes.Clone(r1[:len(r1)-1]))
	f.Add([]byte{25, 254, 253, 0, 1, 0, 0, 0, 0, 0, 9})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, s := fixed(t)
		in := bytes.Clone(b)
		for _, r := range s.open(b) {
			if r.typ != protocol.ContentTypeApplicationData && r.typ != protocol.ContentTypeAlert {
				t.Fatalf("record of type %d came out", r.typ)
			}
			if !bytes.Equal(in, r1) && !bytes.HasPrefix(in, r1) && !bytes.HasSuffix(in, r2) {
				t.Fatalf("a record not sealed by the peer opened: %x", in)
			}
		}
	})
}

func TestCtlReplayWindow(t *testing.T) {
	r := newCtlReplay(100)
	steps := []struct {
		seq  uint64
		want bool
	}{
		{99, false}, {100, true}, {100, false}, {170, true}, {105, false}, {120, true}, {120, false}, {171, true}, {169, true},
	}
	for _, st := range steps {
		ok := r.check(st.seq)
		if ok != st.want {
			t.Fatalf("seq %d: accepted %v, want %v", st.seq, ok, st.want)
		}
		if ok {
			r.mark(st.seq)
		}
	}
}

func TestNewCtlChannelRefuses(t *testing.T) {
	good := dtlsSnapshot{LocalEpoch: 1, RemoteEpoch: 1, CipherSuiteID: uint16(dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
		MasterSecret: make([]byte, 48), LocalConnectionID: make([]byte, cidLen), RemoteConnectionID: make([]byte, cidLen)}
	if _, err := newCtlChannel(good); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*dtlsSnapshot){
		"no master secret": func(s *dtlsSnapshot) { s.MasterSecret = nil },
		"epoch 0":          func(s *dtlsSnapshot) { s.LocalEpoch = 0 },
		"no CID":           func(s *dtlsSnapshot) { s.RemoteConnectionID = nil },
		"other suite":      func(s *dtlsSnapshot) { s.CipherSuiteID = uint16(dtls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA) },
		"used up":          func(s *dtlsSnapshot) { s.SequenceNumber = 1 << 48 },
	} {
		s := good
		mod(&s)
		if _, err := newCtlChannel(s); err == nil {
			t.Errorf("%s: taken over", name)
		}
	}
}

// TestControlAfterTakeover runs control messages over sessions whose
// record layer the transport took over, against a peer that did too or
// one that keeps pion's Conn (an older ipopd), with both ciphers: large
// messages both ways, ping RTT, and a close the other end sees at once.
func TestControlAfterTakeover(t *testing.T) {
	checkGoroutines(t)
	for _, suite := range []dtls.CipherSuiteID{dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, dtls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256} {
		for _, keep := range []string{"", "a", "b"} {
			t.Run(fmt.Sprintf("%s/pion-on-%q", suite, keep), func(t *testing.T) {
				n := netsim.New()
				ca := newTestCA(t, "home")
				type got struct {
					mu   sync.Mutex
					crls [][]byte
				}
				var ga, gb got
				onCtl := func(g *got) func(*Config) {
					return func(c *Config) {
						c.OnControl = func(_ *Peer, m any) {
							if crl, ok := m.(*wire.CRL); ok {
								g.mu.Lock()
								g.crls = append(g.crls, crl.CRL)
								g.mu.Unlock()
							}
						}
					}
				}
				// A long keepalive: a quick "down" below can only come
				// from the Bye and the close_notify.
				a := startNodeWith(t, n, ca, "a", "10.0.0.1:6464", 600*time.Millisecond, onCtl(&ga))
				b := startNodeWith(t, n, ca, "b", "10.0.0.2:6464", 600*time.Millisecond, onCtl(&gb))
				a.t.suites, b.t.suites = []dtls.CipherSuiteID{suite}, []dtls.CipherSuiteID{suite}
				a.t.keepPion, b.t.keepPion = keep == "a", keep == "b"
				a.t.Maintain(context.Background(), b.addr.String())
				pb := a.waitUp(t, "b", 5*time.Second)
				pa := b.waitUp(t, "a", 5*time.Second)
				takenOver := func(p *Peer) bool {
					s := p.active.Load()
					if s == nil {
						return false
					}
					s.ctlMu.Lock()
					defer s.ctlMu.Unlock()
					return s.ctl != nil && s.conn == nil
				}
				waitFor(t, 3*time.Second, "takeovers", func() bool {
					return takenOver(pb) == (keep != "a") && takenOver(pa) == (keep != "b")
				})
				// pion's Conn reads datagrams into 8 KiB (its
				// inboundBufferSize) and closes the session on a larger
				// one; the transport's record layer takes up to
				// wire.MaxMessageSize.
				big := bytes.Repeat([]byte{0xc5}, 12<<10)
				if keep == "b" {
					big = big[:7<<10]
				}
				for i := range 3 {
					if err := a.t.SendControl(pb, &wire.CRL{CRL: append([]byte{byte(i)}, big...)}); err != nil {
						t.Fatal(err)
					}
					if err := b.t.SendControl(pa, &wire.CRL{CRL: []byte{byte(i)}}); err != nil {
						t.Fatal(err)
					}
				}
				waitFor(t, 3*time.Second, "control messages both ways", func() bool {
					ga.mu.Lock()
					defer ga.mu.Unlock()
					gb.mu.Lock()
					defer gb.mu.Unlock()
					return len(ga.crls) == 3 && len(gb.crls) == 3
				})
				for i := range 3 {
					if gb.crls[i][0] != byte(i) || len(gb.crls[i]) != len(big)+1 || ga.crls[i][0] != byte(i) {
						t.Fatalf("message %d out of order or cut", i)
					}
				}
				waitFor(t, 5*time.Second, "rtt", func() bool { return pb.Status().RTT > 0 && pa.Status().RTT > 0 })
				if err := a.t.SendFrame(pb, frameOf(1400, 7)); err != nil {
					t.Fatal(err)
				}
				waitFor(t, 2*time.Second, "frame", func() bool { return len(b.received()) == 1 })
				b.t.Close()
				waitFor(t, time.Second, "a sees b go", func() bool { return !pb.Up() })
			})
		}
	}
}

// TestIdleSessionHasNoGoroutine: once the record layer is taken over, a
// session holds no goroutine until a control message comes.
func TestIdleSessionHasNoGoroutine(t *testing.T) {
	checkGoroutines(t)
	n := netsim.New()
	ca := newTestCA(t, "home")
	hub := startNode(t, n, ca, "hub", "10.0.0.1:6464", time.Hour)
	var members []*node
	for i := range 8 {
		m := startNode(t, n, ca, fmt.Sprintf("m%d", i), fmt.Sprintf("10.0.1.%d:6464", i+1), time.Hour)
		members = append(members, m)
	}
	time.Sleep(50 * time.Millisecond)
	base := runtime.NumGoroutine()
	for _, m := range members {
		m.t.Maintain(context.Background(), hub.addr.String())
	}
	for _, m := range members {
		hub.waitUp(t, m.t.cfg.Self.Name, 5*time.Second)
		m.waitUp(t, "hub", 5*time.Second)
	}
	// What is left: one Maintain goroutine per member, nothing per session.
	want := base + len(members)
	waitFor(t, 3*time.Second, fmt.Sprintf("%d goroutines", want), func() bool { return runtime.NumGoroutine() <= want })
}
