package transport

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/netsim"
)

func frameOf(n int, fill byte) []byte {
	f := bytes.Repeat([]byte{fill}, n)
	copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5})
	return f
}

func TestFramesBothWays(t *testing.T) {
	checkGoroutines(t)
	n := netsim.New()
	ca := newTestCA(t, "home")
	a := startNode(t, n, ca, "a", "10.0.0.1:6464", time.Second)
	b := startNode(t, n, ca, "b", "10.0.0.2:6464", time.Second)
	a.t.Maintain(context.Background(), b.addr.String())
	pb := a.waitUp(t, "b", 5*time.Second)
	pa := b.waitUp(t, "a", 5*time.Second)

	sizes := []int{60, 1400, 1514, 1518}
	for i, sz := range sizes {
		if err := a.t.SendFrame(pb, frameOf(sz, byte(i))); err != nil {
			t.Fatalf("send %d: %v", sz, err)
		}
		if err := b.t.SendFrame(pa, frameOf(sz, byte(100+i))); err != nil {
			t.Fatalf("send %d: %v", sz, err)
		}
	}
	waitFor(t, 3*time.Second, "frames", func() bool { return len(b.received()) == len(sizes) && len(a.received()) == len(sizes) })
	for i, f := range b.received() {
		if !bytes.Equal(f, frameOf(sizes[i], byte(i))) {
			t.Errorf("b got frame %d of %d bytes, want %d", i, len(f), sizes[i])
		}
	}
	for i, f := range a.received() {
		if !bytes.Equal(f, frameOf(sizes[i], byte(100+i))) {
			t.Errorf("a got frame %d of %d bytes, want %d", i, len(f), sizes[i])
		}
	}
	if err := a.t.SendFrame(pb, frameOf(1519, 0)); err != ErrFrameTooLarge {
		t.Errorf("oversize frame: err = %v", err)
	}
	st := pb.Status()
	if st.State != "up" || st.BytesOut == 0 || st.Endpoint != b.addr {
		t.Errorf("status = %+v", st)
	}
	waitFor(t, 5*time.Second, "rtt", func() bool { return pb.Status().RTT > 0 })
}

func TestSimultaneousDial(t *testing.T) {
	checkGoroutines(t)
	for round := 0; round < 5; round++ {
		n := netsim.New()
		ca := newTestCA(t, "home")
		a := startNode(t, n, ca, "a", "10.0.0.1:6464", time.Second)
		b := startNode(t, n, ca, "b", "10.0.0.2:6464", time.Second)
		a.t.Maintain(context.Background(), b.addr.String())
		b.t.Maintain(context.Background(), a.addr.String())
		pb := a.waitUp(t, "b", 5*time.Second)
		pa := b.waitUp(t, "a", 5*time.Second)
		// Converged: each side's active session is the other's active one.
		waitFor(t, 5*time.Second, "one session pair", func() bool {
			sa, sb := pb.active.Load(), pa.active.Load()
			return sa != nil && sb != nil && sa.localIndex == sb.remoteIndex.Load() && sb.localIndex == sa.remoteIndex.Load()
		})
		if err := a.t.SendFrame(pb, frameOf(100, 1)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 2*time.Second, "frame", func() bool { return len(b.received()) == 1 })
		a.t.Close()
		b.t.Close()
	}
}

func TestOtherGroupRejected(t *testing.T) {
	checkGoroutines(t)
	n := netsim.New()
	home, other := newTestCA(t, "home"), newTestCA(t, "other")
	a := startNode(t, n, home, "a", "10.0.0.1:6464", time.Second)
	x := startNode(t, n, other, "x", "10.0.0.9:6464", time.Second)
	x.t.Maintain(context.Background(), a.addr.String())
	waitFor(t, 10*time.Second, "handshake failure logged", func() bool {
		return strings.Contains(x.logs.String(), "not signed by the group CA") && strings.Contains(a.logs.String(), "handshake failed")
	})
	if len(a.t.UpPeers()) != 0 || len(x.t.UpPeers()) != 0 {
		t.Fatal("a peer of another group came up")
	}
	if !strings.Contains(x.logs.String(), "cannot reach endpoint") {
		t.Errorf("intruder side did not log the failure:\n%s", x.logs)
	}
}

func TestRestartedPeerComesBack(t *testing.T) {
	checkGoroutines(t)
	n := netsim.New()
	ca := newTestCA(t, "home")
	a := startNode(t, n, ca, "a", "10.0.0.1:6464", time.Second)
	b := startNode(t, n, ca, "b", "10.0.0.2:6464", time.Second)
	a.t.Maintain(context.Background(), b.addr.String())
	a.waitUp(t, "b", 5*time.Second)

	// Crash b: its socket vanishes without a Bye.
	n.Block(a.addr.Addr(), b.addr.Addr(), true)
	b.t.Close()
	n.Block(a.addr.Addr(), b.addr.Addr(), false)
	start := time.Now()
	b2 := startNode(t, n, ca, "b", "10.0.0.2:6464", time.Second)
	pb := a.waitUp(t, "b", 1*time.Second) // may still be the old session
	waitFor(t, 10*time.Second, "a new session with the restarted b", func() bool {
		s := pb.active.Load()
		return s != nil && len(b2.t.UpPeers()) == 1
	})
	if err := a.t.SendFrame(pb, frameOf(100, 7)); err != nil && err != ErrNotReady {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "frame to restarted b", func() bool {
		_ = a.t.SendFrame(pb, frameOf(100, 7))
		return len(b2.received()) > 0
	})
	t.Logf("restarted peer reachable after %v", time.Since(start))
}

func TestLossyHandshake(t *testing.T) {
	checkGoroutines(t)
	n := netsim.New()
	n.SetLoss(0.2)
	ca := newTestCA(t, "home")
	a := startNode(t, n, ca, "a", "10.0.0.1:6464", time.Second)
	b := startNode(t, n, ca, "b", "10.0.0.2:6464", time.Second)
	a.t.Maintain(context.Background(), b.addr.String())
	a.waitUp(t, "b", 30*time.Second)
}

func TestReplayAndForgeryDropped(t *testing.T) {
	checkGoroutines(t)
	n := netsim.New()
	ca := newTestCA(t, "home")
	a := startNode(t, n, ca, "a", "10.0.0.1:6464", time.Hour)
	b := startNode(t, n, ca, "b", "10.0.0.2:6464", time.Hour)
	a.t.Maintain(context.Background(), b.addr.String())
	pb := a.waitUp(t, "b", 5*time.Second)
	b.waitUp(t, "a", 5*time.Second)
	s := pb.active.Load()

	// Build a record as a sends it, then play it to b twice.
	pkt := new(packetBuf)
	rb := pkt.b[relayHeaderLen:]
	rb[headerLen] = payloadFrame
	copy(rb[headerLen+1:], frameOf(60, 9))
	c := s.sendCounter.Add(1) - 1
	putHeader(rb, s.remoteIndex.Load(), c)
	m := seal(s.keys.Load().send, rb, 61, &pkt.nonce)
	rec := append([]byte(nil), rb[:m]...)
	inject, _ := n.Listen(netip.MustParseAddrPort("10.0.0.1:7000"))
	defer inject.Close()
	inject.WriteToUDPAddrPort(rec, b.addr)
	inject.WriteToUDPAddrPort(rec, b.addr)
	forged := append([]byte(nil), rec...)
	forged[len(forged)-1] ^= 1
	forged[offCounter+7]++ // a fresh counter, so only the tag can reject it
	inject.WriteToUDPAddrPort(forged, b.addr)
	unknown := append([]byte(nil), rec...)
	unknown[offIndex] ^= 0xff
	inject.WriteToUDPAddrPort(unknown, b.addr)
	waitFor(t, 2*time.Second, "drops counted", func() bool {
		st := b.t.Stats()
		return st.Replayed == 1 && st.AuthFailed == 1 && st.UnknownIndex == 1
	})
	if got := len(b.received()); got != 1 {
		t.Fatalf("b delivered %d frames, want 1", got)
	}
}

func TestSilentPeerGoesDown(t *testing.T) {
	checkGoroutines(t)
	n := netsim.New()
	ca := newTestCA(t, "home")
	a := startNode(t, n, ca, "a", "10.0.0.1:6464", 300*time.Millisecond)
	b := startNode(t, n, ca, "b", "10.0.0.2:6464", 300*time.Millisecond)
	a.t.Maintain(context.Background(), b.addr.String())
	pb := a.waitUp(t, "b", 5*time.Second)
	n.Block(a.addr.Addr(), b.addr.Addr(), true)
	waitFor(t, 5*time.Second, "peer down", func() bool { return !pb.Up() })
	n.Block(a.addr.Addr(), b.addr.Addr(), false)
	a.waitUp(t, "b", 10*time.Second)
}

// TestRelayThenDirect: two members that cannot reach each other make a
// session through a relay; frames flow end to end encrypted; once the path
// opens and they probe, the session moves to the direct path without a new
// handshake.
func TestRelayThenDirect(t *testing.T) {
	checkGoroutines(t)
	n := netsim.New()
	ca := newTestCA(t, "home")
	l := startNodeWith(t, n, ca, "lh", "10.0.0.100:6464", time.Second, func(c *Config) { c.Relay, c.Lighthouse = true, true })
	a := startNode(t, n, ca, "a", "10.0.0.1:6464", time.Second)
	b := startNode(t, n, ca, "b", "10.0.0.2:6464", time.Second)
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
	if st := pb.Status(); st.Path != "relay via lh" {
		t.Fatalf("path = %q, want relay via lh", st.Path)
	}
	if err := a.t.SendFrame(pb, frameOf(1514, 3)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "frame through the relay", func() bool { return len(b.received()) == 1 })
	if l.t.Stats().Relayed == 0 {
		t.Fatal("relay counted nothing")
	}
	idx := pb.active.Load().localIndex

	// Open the path; both probe; both move to direct.
	n.Block(a.addr.Addr(), b.addr.Addr(), false)
	a.t.Probe(pb, []netip.AddrPort{b.addr})
	b.t.Probe(pa, []netip.AddrPort{a.addr})
	waitFor(t, 5*time.Second, "direct path both ways", func() bool {
		return pb.Status().Path == "direct" && pa.Status().Path == "direct"
	})
	if pb.active.Load().localIndex != idx {
		t.Fatal("the session was replaced instead of moved")
	}
	relayedBefore := l.t.Stats().Relayed
	a.t.SendFrame(pb, frameOf(100, 4))
	waitFor(t, 3*time.Second, "frame on the direct path", func() bool { return len(b.received()) == 2 })
	if l.t.Stats().Relayed != relayedBefore {
		t.Fatal("frame still went through the relay")
	}
	// A relay refuses envelopes from strangers.
	x, _ := n.Listen(netip.MustParseAddrPort("10.0.0.66:1"))
	defer x.Close()
	env := make([]byte, relayHeaderLen+20)
	num, _ := NodeNumber(testNodeID("b"))
	putRelayHeader(env, relayTo, num)
	x.WriteToUDPAddrPort(env, l.addr)
	waitFor(t, 2*time.Second, "stranger's envelope dropped", func() bool { return l.t.Stats().RelayDropped > 0 })
}

// TestJunkIsCheap: datagrams from nobody we know - random bytes, truncated
// STUN, data records for no session, relay envelopes from strangers,
// DTLS records that are not a ClientHello - are dropped without an
// allocation, and the member keeps working through a flood of them.
func TestJunkIsCheap(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	checkGoroutines(t)
	n := netsim.New()
	ca := newTestCA(t, "home")
	a := startNodeWith(t, n, ca, "a", "10.0.0.1:6464", time.Second, func(c *Config) { c.Relay = true })
	b := startNode(t, n, ca, "b", "10.0.0.2:6464", time.Second)
	b.t.Maintain(context.Background(), a.addr.String())
	pb := b.waitUp(t, "a", 5*time.Second)

	stun := make([]byte, 20)
	stun[1] = 1
	copy(stun[4:], []byte{0x21, 0x12, 0xA4, 0x42})
	data := make([]byte, 80)
	data[0] = markerData
	relay := make([]byte, 40)
	putRelayHeader(relay, relayTo, 7)
	dtlsAppData := append([]byte{23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 16}, make([]byte, 16)...)
	junk := [][]byte{
		{0xff, 1, 2, 3},
		stun[:19],
		stun,
		data,
		relay,
		dtlsAppData,
		{},
	}
	from := netip.MustParseAddrPort("10.9.9.9:1234")
	var nonce [nonceLen]byte
	buf := make([]byte, 128)
	for _, j := range junk {
		allocs := testing.AllocsPerRun(1000, func() {
			m := copy(buf, j)
			a.t.handleDatagram(buf[:m], from, &nonce)
		})
		if allocs != 0 {
			t.Errorf("junk %x: %.1f allocations per datagram", j[:min(len(j), 4)], allocs)
		}
	}
	// A flood through the real socket path, then the link still carries.
	x, _ := n.Listen(from)
	defer x.Close()
	for i := 0; i < 20000; i++ {
		x.WriteToUDPAddrPort(junk[i%len(junk)], a.addr)
	}
	// The flood may fill the socket queue, as on a real socket: resend
	// until a frame gets through once it has drained.
	waitFor(t, 5*time.Second, "frame after the flood", func() bool {
		_ = b.t.SendFrame(pb, frameOf(200, 1))
		return len(a.received()) >= 1
	})
	st := a.t.Stats()
	t.Logf("after the flood: %+v", st)
	if st.UnknownIndex == 0 || st.RelayDropped == 0 || st.NotDTLS == 0 {
		t.Fatalf("drops not counted: %+v", st)
	}
}
