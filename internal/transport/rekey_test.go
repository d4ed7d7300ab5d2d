package transport

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"math/big"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/netsim"
)

// issueUntil is testCA.issue with a chosen end of validity.
func (ca *testCA) issueUntil(t testing.TB, name string, notAfter time.Time) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// seqFrame is a frame that carries a sequence number.
func seqFrame(seq uint64) []byte {
	f := frameOf(100, 1)
	binary.BigEndian.PutUint64(f[14:], seq)
	return f
}

// seqs counts the sequence numbers of the frames a node received.
func (nd *node) seqs() map[uint64]int {
	got := map[uint64]int{}
	for _, f := range nd.received() {
		got[binary.BigEndian.Uint64(f[14:])]++
	}
	return got
}

// rekeyPair starts two nodes with a session (a dialled b) and counts
// their peer up/down events.
type rekeyPair struct {
	n          *netsim.Network
	ca         *testCA
	a, b       *node
	pa, pb     *Peer // b as a sees it, a as b sees it
	ups, downs atomic.Int32
	interval   time.Duration
	certA      tls.Certificate
	modA, modB func(*Config)
}

func startRekeyPair(t *testing.T, rp *rekeyPair) {
	t.Helper()
	rp.n = netsim.New()
	rp.ca = newTestCA(t, "home")
	events := func(c *Config) {
		c.RekeyInterval = rp.interval
		c.OnPeerUp = func(*Peer) { rp.ups.Add(1) }
		c.OnPeerDown = func(*Peer) { rp.downs.Add(1) }
	}
	rp.a = startNodeWith(t, rp.n, rp.ca, "a", "10.0.0.1:6464", time.Second, func(c *Config) {
		events(c)
		if len(rp.certA.Certificate) > 0 {
			c.Certificate = rp.certA
		}
		if rp.modA != nil {
			rp.modA(c)
		}
	})
	rp.b = startNodeWith(t, rp.n, rp.ca, "b", "10.0.0.2:6464", time.Second, func(c *Config) {
		events(c)
		if rp.modB != nil {
			rp.modB(c)
		}
	})
	rp.a.t.Maintain(context.Background(), rp.b.addr.String())
	rp.pa = rp.a.waitUp(t, "b", 5*time.Second)
	rp.pb = rp.b.waitUp(t, "a", 5*time.Second)
}

// stream sends numbered frames from -> to every gap until stop closes and
// returns how many it sent.
func stream(from *node, to *Peer, gap time.Duration, stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var seq uint64
		tk := time.NewTicker(gap)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				out <- seq
				return
			case <-tk.C:
				if from.t.SendFrame(to, seqFrame(seq)) == nil {
					seq++
				}
			}
		}
	}()
	return out
}

// TestRekeyNoLoss: a steady stream both ways through rekeys loses
// no frame and delivers none twice; the peer never goes down; each rekey
// is counted on both ends; the key age restarts; a renewed certificate is
// what the next rekey's session carries; old sessions close and drop
// their keys.
func TestRekeyNoLoss(t *testing.T) {
	checkGoroutines(t)
	rp := &rekeyPair{interval: time.Second}
	startRekeyPair(t, rp)
	first := rp.pa.active.Load()

	stop := make(chan struct{})
	ab := stream(rp.a, rp.pa, 5*time.Millisecond, stop)
	ba := stream(rp.b, rp.pb, 5*time.Millisecond, stop)
	time.Sleep(1500 * time.Millisecond)
	// A renewed certificate: the next rekey presents it.
	renewed := rp.ca.issue(t, "a")
	rp.a.t.SetCertificate(renewed)
	time.Sleep(1700 * time.Millisecond)
	close(stop)
	nab, nba := <-ab, <-ba
	time.Sleep(200 * time.Millisecond) // the last frames land

	for _, c := range []struct {
		name string
		to   *node
		sent uint64
	}{{"a->b", rp.b, nab}, {"b->a", rp.a, nba}} {
		got := c.to.seqs()
		lost, dup := 0, 0
		for i := uint64(0); i < c.sent; i++ {
			switch got[i] {
			case 0:
				lost++
			case 1:
			default:
				dup++
			}
		}
		t.Logf("%s: %d frames sent, %d lost, %d twice", c.name, c.sent, lost, dup)
		if lost > 0 || dup > 0 || c.sent < 300 {
			t.Errorf("%s: %d sent, %d lost, %d delivered twice", c.name, c.sent, lost, dup)
		}
	}
	sa, sb := rp.a.t.Stats(), rp.b.t.Stats()
	t.Logf("rekeys: a %d, b %d; failures a %d, b %d", sa.Rekeys, sb.Rekeys, sa.RekeyFailures, sb.RekeyFailures)
	if sa.Rekeys < 2 || sb.Rekeys < 2 {
		t.Errorf("rekeys counted: a %d, b %d, want >= 2 each", sa.Rekeys, sb.Rekeys)
	}
	if sa.RekeyFailures != 0 || sb.RekeyFailures != 0 || sa.AuthFailed != 0 || sb.AuthFailed != 0 {
		t.Errorf("failures: %+v / %+v", sa, sb)
	}
	if rp.ups.Load() != 2 || rp.downs.Load() != 0 {
		t.Errorf("peer events: %d up, %d down; want 2 up (one each end), 0 down", rp.ups.Load(), rp.downs.Load())
	}
	if age := rp.pa.Status().KeyAge; age <= 0 || age > 2*time.Second {
		t.Errorf("key age %v after rekeys every second", age)
	}
	// The first session closes retireGrace after its first rekey (about
	// 3 s into the run; later under the race detector), and its keys
	// with it.
	select {
	case <-first.done:
	case <-time.After(3 * time.Second):
		t.Fatal("the first session is still open")
	}
	if first.keys.Load() != nil {
		t.Error("a closed session keeps its keys")
	}
	// b's session with a now carries the renewed certificate.
	s := rp.pb.active.Load()
	leaf, _ := x509.ParseCertificate(renewed.Certificate[0])
	if s.id.Serial.Cmp(leaf.SerialNumber) != 0 {
		t.Errorf("b's session with a has serial %v, want the renewed %v", s.id.Serial, leaf.SerialNumber)
	}
}

// TestRekeyReplayAcrossSwitch: during the overlap a record under the old
// key that was not seen yet still opens (one reordered around the
// switch), one seen before is refused by the old session's replay window;
// after the overlap nothing under the old key opens.
func TestRekeyReplayAcrossSwitch(t *testing.T) {
	checkGoroutines(t)
	rp := &rekeyPair{interval: time.Hour}
	startRekeyPair(t, rp)
	old := rp.pa.active.Load()
	oldKeys := old.keys.Load()
	// Records go out on a's socket, as a's own would: from its address.
	inject := rp.a.t.conn
	// record seals a frame as a's old session would, with counter c.
	record := func(c uint64, fill byte) []byte {
		pkt := new(packetBuf)
		rb := pkt.b[relayHeaderLen:]
		rb[headerLen] = payloadFrame
		copy(rb[headerLen+1:], frameOf(60, fill))
		putHeader(rb, old.remoteIndex.Load(), c)
		m := seal(oldKeys.send, rb, 61, &pkt.nonce)
		return append([]byte(nil), rb[:m]...)
	}
	seen := record(old.sendCounter.Add(1)-1, 7)
	inject.WriteToUDPAddrPort(seen, rp.b.addr)
	waitFor(t, 2*time.Second, "the record before the rekey", func() bool { return len(rp.b.received()) == 1 })
	late := old.sendCounter.Add(1) - 1 // sealed before the switch, arrives after it

	if rp.a.t.startRekey(old, rp.a.t.now()) {
		t.Fatal("rekey closed the session")
	}
	waitFor(t, 3*time.Second, "the new session", func() bool { s := rp.pa.active.Load(); return s != old && rp.pb.active.Load().client == false })
	waitFor(t, 3*time.Second, "b's switch", func() bool { return rp.b.t.Stats().Rekeys == 1 })

	// In the overlap: the replay is refused, the late record opens.
	before := rp.b.t.Stats()
	inject.WriteToUDPAddrPort(seen, rp.b.addr)
	inject.WriteToUDPAddrPort(record(late, 8), rp.b.addr)
	waitFor(t, 2*time.Second, "the late record", func() bool { return len(rp.b.received()) == 2 })
	waitFor(t, time.Second, "the replay counted", func() bool { return rp.b.t.Stats().Replayed == before.Replayed+1 })
	if got := rp.b.received(); got[1][59] != 8 {
		t.Fatal("the late record is not what arrived")
	}

	// After the overlap b's old session is gone: even a fresh counter
	// under the old key finds nothing.
	var bOld *session
	rp.b.t.mu.Lock()
	for s := range rp.b.t.sessions {
		if s != rp.pb.active.Load() {
			bOld = s
		}
	}
	rp.b.t.mu.Unlock()
	waitFor(t, retireGrace+2*time.Second, "the old sessions' end", func() bool {
		one := func(tr *Transport) bool {
			tr.mu.Lock()
			defer tr.mu.Unlock()
			return len(tr.sessions) == 1
		}
		return one(rp.a.t) && one(rp.b.t)
	})
	if bOld == nil || bOld.keys.Load() != nil || old.keys.Load() != nil {
		t.Fatal("an old session keeps its keys after the overlap")
	}
	before = rp.b.t.Stats()
	inject.WriteToUDPAddrPort(record(late+1, 9), rp.b.addr)
	inject.WriteToUDPAddrPort(seen, rp.b.addr)
	waitFor(t, time.Second, "the old key's records dropped", func() bool {
		return rp.b.t.Stats().UnknownIndex == before.UnknownIndex+2
	})
	if len(rp.b.received()) != 2 {
		t.Error("a record under the old key was delivered after the overlap")
	}
	if rp.downs.Load() != 0 {
		t.Error("the peer went down")
	}
}

// TestRekeyRecordLimit: with the record limit lowered, a busy session
// rekeys at three quarters of it without losing a frame; at the limit
// itself (its rekey kept from completing) nothing more is sealed, and a
// record that claims a counter at the limit is refused unopened.
func TestRekeyRecordLimit(t *testing.T) {
	checkGoroutines(t)
	saved := recordLimit
	// 3000 records, at one a millisecond, take longer than
	// simultaneousWindow: a rekey sooner after the handshake would look
	// like both ends dialling at once (onHello).
	recordLimit = 4000
	t.Cleanup(func() { recordLimit = saved })
	rp := &rekeyPair{interval: time.Hour}
	startRekeyPair(t, rp)

	stop := make(chan struct{})
	ab := stream(rp.a, rp.pa, time.Millisecond, stop)
	waitFor(t, 20*time.Second, "a rekey", func() bool { return rp.a.t.Stats().Rekeys >= 1 })
	close(stop)
	sent := <-ab
	time.Sleep(200 * time.Millisecond)
	got := rp.b.seqs()
	lost := 0
	for i := uint64(0); i < sent; i++ {
		if got[i] != 1 {
			lost++
		}
	}
	st := rp.a.t.Stats()
	t.Logf("%d frames, %d lost, %d rekeys, %d at the limit", sent, lost, st.Rekeys, st.KeyLimit)
	if lost > 0 || st.KeyLimit > 0 {
		t.Errorf("%d frames lost, %d records at the limit", lost, st.KeyLimit)
	}
	if n := rp.pa.active.Load().sendCounter.Load(); n >= recordLimit {
		t.Errorf("the active key sealed %d records", n)
	}

	// The limit itself: no rekey can complete while b is cut off.
	s := rp.pa.active.Load()
	rp.n.Block(rp.a.addr.Addr(), rp.b.addr.Addr(), true)
	base := s.sendCounter.Load()
	refused := 0
	for i := base; i < recordLimit+100; i++ {
		if rp.a.t.SendFrame(rp.pa, frameOf(100, 1)) != nil {
			refused++
		}
	}
	if refused != 100 || rp.a.t.Stats().KeyLimit != 100 {
		t.Errorf("%d frames refused, %d counted, want 100 past the limit", refused, rp.a.t.Stats().KeyLimit)
	}
	waitFor(t, time.Second, "a rekey at three quarters of the limit", func() bool {
		return s.rekey.running.Load() || rp.a.t.Stats().RekeyFailures > 0
	})
	rp.n.Block(rp.a.addr.Addr(), rp.b.addr.Addr(), false)

	// A record whose counter is at the limit is refused before it is
	// opened (it could not have been sealed).
	sb := rp.pb.active.Load()
	rec := make([]byte, overhead+61)
	putHeader(rec, sb.localIndex, recordLimit)
	before := rp.b.t.Stats()
	rp.a.t.conn.WriteToUDPAddrPort(rec, rp.b.addr)
	waitFor(t, time.Second, "the record counted", func() bool { return rp.b.t.Stats().KeyLimit == before.KeyLimit+1 })
	if rp.b.t.Stats().AuthFailed != before.AuthFailed {
		t.Error("the record was opened")
	}
}

// TestRekeyExpiredCertificate: a peer certificate that expires while its
// session is up ends the session at the next rekey, whichever end finds
// it: the end that checks it again before its rekey (b's certificate,
// checked by a), or the end whose handshake the peer refuses (a's, which b
// refuses in a's rekey handshake: a counts a failure and closes at once).
func TestRekeyExpiredCertificate(t *testing.T) {
	checkGoroutines(t)
	for _, tc := range []struct {
		name, expiring string
		reason         string
		failures       uint64
	}{
		{"peer's certificate", "b", "peer certificate no longer valid", 0},
		{"own certificate, refused by the peer", "a", "rekey refused", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rp := &rekeyPair{interval: 2 * time.Second}
			expires := time.Now().Add(1200 * time.Millisecond)
			// The certificate of the expiring end lives 1.2 s; the rekey
			// comes at 1.9-2 s of key age.
			mod := func(name string) func(*Config) {
				return func(c *Config) {
					if tc.expiring == name {
						c.Certificate = rp.ca.issueUntil(t, name, expires)
					}
				}
			}
			rp.modA, rp.modB = mod("a"), mod("b")
			startRekeyPair(t, rp)
			up := time.Now()
			waitFor(t, 4*time.Second, "the session's end", func() bool { return !rp.pa.Up() })
			took := time.Since(up)
			t.Logf("session ended %v after it came up (certificate expired %v after)", took.Round(time.Millisecond), expires.Sub(up).Round(time.Millisecond))
			if took < 1500*time.Millisecond {
				t.Errorf("ended after %v, before the rekey", took)
			}
			if !strings.Contains(rp.a.logs.String()+rp.b.logs.String(), tc.reason) {
				t.Errorf("the logs do not say %q:\n%s\n%s", tc.reason, rp.a.logs, rp.b.logs)
			}
			if got := rp.a.t.Stats().RekeyFailures; got != tc.failures {
				t.Errorf("rekey failures %d, want %d", got, tc.failures)
			}
			waitFor(t, 2*time.Second, "b's end of the session", func() bool { return !rp.pb.Up() })
			// Maintain dials on: the expired certificate keeps it down.
			time.Sleep(time.Second)
			if rp.pa.Up() || rp.pb.Up() {
				t.Error("a session with an expired certificate came up again")
			}
		})
	}
}

// TestRekeyRelayed: a session through a relay rekeys through the same
// relay, keeps its relayed fallback, and loses nothing meanwhile.
func TestRekeyRelayed(t *testing.T) {
	checkGoroutines(t)
	n := netsim.New()
	ca := newTestCA(t, "home")
	every := func(d time.Duration) func(*Config) { return func(c *Config) { c.RekeyInterval = d } }
	l := startNodeWith(t, n, ca, "lh", "10.0.0.100:6464", time.Second, func(c *Config) {
		c.Relay, c.Lighthouse, c.RekeyInterval = true, true, time.Hour
	})
	a := startNodeWith(t, n, ca, "a", "10.0.0.1:6464", time.Second, every(time.Second))
	b := startNodeWith(t, n, ca, "b", "10.0.0.2:6464", time.Second, every(time.Second))
	n.Block(a.addr.Addr(), b.addr.Addr(), true)
	a.t.Maintain(context.Background(), l.addr.String())
	b.t.Maintain(context.Background(), l.addr.String())
	la := a.waitUp(t, "lh", 5*time.Second)
	b.waitUp(t, "lh", 5*time.Second)
	pb, err := a.t.ConnectVia(context.Background(), la, testNodeID("b"))
	if err != nil {
		t.Fatalf("connect via relay: %v\n%s", err, a.logs)
	}
	pa := b.waitUp(t, "a", 5*time.Second)
	first := pb.active.Load()

	stop := make(chan struct{})
	ab := stream(a, pb, 10*time.Millisecond, stop)
	ba := stream(b, pa, 10*time.Millisecond, stop)
	seen := map[*session]bool{}
	waitFor(t, 10*time.Second, "two rekeys of the relayed session", func() bool {
		seen[pb.active.Load()] = true
		return len(seen) >= 3
	})
	close(stop)
	nab, nba := <-ab, <-ba
	time.Sleep(200 * time.Millisecond)
	for _, c := range []struct {
		name string
		to   *node
		sent uint64
	}{{"a->b", b, nab}, {"b->a", a, nba}} {
		got := c.to.seqs()
		lost := 0
		for i := uint64(0); i < c.sent; i++ {
			if got[i] != 1 {
				lost++
			}
		}
		if lost > 0 {
			t.Errorf("%s: %d of %d frames lost or doubled", c.name, lost, c.sent)
		}
	}
	for _, p := range []*Peer{pb, pa} {
		s := p.active.Load()
		if s == first || !s.vc.path().relayed() || s.fallback.Load() == nil {
			t.Errorf("after the rekeys: a new session %v, path %v, fallback %v", s != first, s.vc.path(), s.fallback.Load())
		}
	}
	if l.t.Stats().Relayed == 0 {
		t.Error("the relay relayed nothing")
	}
}

// TestRekeyHardLimit: a rekey lost on the network is counted as a
// failure, and a key that gets rekeyHard intervals old without one ends
// its session, before dead-peer detection would.
func TestRekeyHardLimit(t *testing.T) {
	checkGoroutines(t)
	rp := &rekeyPair{interval: time.Second}
	startRekeyPair(t, rp)
	rp.n.Block(rp.a.addr.Addr(), rp.b.addr.Addr(), true)
	up := time.Now()
	waitFor(t, 4*time.Second, "the session's end", func() bool { return !rp.pa.Up() })
	t.Logf("session ended %v after the network went", time.Since(up).Round(time.Millisecond))
	if !strings.Contains(rp.a.logs.String(), "key expired") {
		t.Errorf("a's log does not say the key expired:\n%s", rp.a.logs)
	}
	if rp.a.t.Stats().RekeyFailures == 0 {
		t.Error("no rekey failure counted")
	}
}

// TestRekeyByServer: when the client of a session does not rekey (an
// older version, here one with a long interval), the server does, a
// margin after the interval. (2 s: a new session with the roles swapped
// sooner than simultaneousWindow after the old one would be taken for
// both ends dialling at once.)
func TestRekeyByServer(t *testing.T) {
	checkGoroutines(t)
	rp := &rekeyPair{interval: 2 * time.Second, modA: func(c *Config) { c.RekeyInterval = time.Hour }}
	startRekeyPair(t, rp)
	first := rp.pb.active.Load()
	if first.client {
		t.Fatal("b dialled")
	}
	start := time.Now()
	waitFor(t, 4*time.Second, "b's rekey", func() bool { s := rp.pb.active.Load(); return s != nil && s != first && s.client })
	if took := time.Since(start); took < 2*time.Second {
		t.Errorf("b rekeyed after %v, before its interval and margin", took)
	}
	if rp.a.t.Stats().Rekeys != 1 || rp.b.t.Stats().Rekeys != 1 || rp.downs.Load() != 0 {
		t.Errorf("rekeys a %d, b %d; %d peers down", rp.a.t.Stats().Rekeys, rp.b.t.Stats().Rekeys, rp.downs.Load())
	}
}

// TestDataAEADCopiesKey: deriveKeys zeroes the exported keying material
// once the AEADs are made, so an AEAD must keep its own copy of the key.
func TestDataAEADCopiesKey(t *testing.T) {
	for _, name := range []string{CipherAESGCM, CipherChaCha20} {
		t.Run(name, func(t *testing.T) {
			key := make([]byte, 32)
			for i := range key {
				key[i] = byte(i + 1)
			}
			aead, err := NewDataAEAD(name, key)
			if err != nil {
				t.Fatal(err)
			}
			nonce := make([]byte, aead.NonceSize())
			before := aead.Seal(nil, nonce, []byte("frame"), nil)
			clear(key)
			if after := aead.Seal(nil, nonce, []byte("frame"), nil); string(after) != string(before) {
				t.Fatal("the AEAD uses the caller's key bytes, which deriveKeys zeroes")
			}
		})
	}
}
