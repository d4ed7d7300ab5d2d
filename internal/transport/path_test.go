package transport

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/netsim"
)

// TestFollow: which authenticated record moves a session to a new path.
func TestFollow(t *testing.T) {
	const ka = time.Second
	tr := &Transport{keepalive: ka}
	tr.cfg.PathOK = func(a netip.Addr) bool { return !netip.MustParsePrefix("10.79.0.0/16").Contains(a) }
	relay := &Peer{}
	var (
		d1    = directPath(netip.MustParseAddrPort("198.51.100.2:4720"))
		d2    = directPath(netip.MustParseAddrPort("198.51.100.2:4999"))
		ovl   = directPath(netip.MustParseAddrPort("10.79.0.3:4720"))
		viaLH = path{addr: netip.MustParseAddrPort("192.0.2.1:6464"), relay: relay, peer: 7}
		turn  = path{addr: netip.MustParseAddrPort("203.0.113.9:50000"), turn: true}
	)
	now := int64(100 * time.Second)
	s := func(sinceChange, sinceOnPath, sinceDirect time.Duration) *session {
		s := &session{}
		s.pathSince.Store(now - int64(sinceChange))
		s.lastOnPath.Store(now - int64(sinceOnPath))
		s.lastDirect.Store(now - int64(sinceDirect))
		return s
	}
	fresh := &session{}
	for _, tc := range []struct {
		name      string
		s         *session
		cur, next path
		want      bool
	}{
		{"a new session's first move", fresh, d1, d2, true},
		{"relay to direct at once", s(0, 0, time.Hour), viaLH, d1, true},
		{"TURN to direct at once", s(0, 0, time.Hour), turn, d1, true},
		{"never to an overlay address", s(time.Hour, time.Hour, time.Hour), d1, ovl, false},
		{"never from a relay to an overlay address", s(time.Hour, time.Hour, time.Hour), viaLH, ovl, false},
		{"NAT rebinding: old path quiet", s(time.Second, 2*time.Second, 0), d1, d2, true},
		{"settled path may change", s(10*time.Second, 0, 0), d1, d2, true},
		{"flapping held: both paths carry records", s(time.Second, 100*time.Millisecond, 0), d1, d2, false},
		{"direct stays while fresh", s(time.Hour, 0, 0), d1, viaLH, false},
		{"direct stays: a keepalive gap is not a broken path", s(time.Hour, 500*time.Millisecond, 500*time.Millisecond), d1, viaLH, false},
		{"relay once direct went quiet", s(time.Hour, 2*time.Second, 2*time.Second), d1, viaLH, true},
		{"relay to relay held", s(time.Second, 0, time.Hour), viaLH, turn, false},
		{"relay to relay once quiet", s(time.Second, 2*time.Second, time.Hour), viaLH, turn, true},
	} {
		if got := tr.follow(tc.s, tc.cur, tc.next, now); got != tc.want {
			t.Errorf("%s: follow(%v -> %v) = %v, want %v", tc.name, tc.cur, tc.next, got, tc.want)
		}
	}
}

// tunnelLoop emulates what happens on a router whose overlay address is
// reachable: a datagram sent to b's overlay address (10.79.0.2) enters
// a's own tunnel and comes out at b from a's overlay address (10.79.0.1),
// and back. It authenticates at b, which is what used to fool the path
// choice.
func tunnelLoop(t *testing.T, n *netsim.Network, a, b netip.AddrPort) {
	t.Helper()
	aOvl, err := n.Listen(netip.MustParseAddrPort("10.79.0.1:6464"))
	if err != nil {
		t.Fatal(err)
	}
	bOvl, err := n.Listen(netip.MustParseAddrPort("10.79.0.2:6464"))
	if err != nil {
		t.Fatal(err)
	}
	pump := func(in, out *netsim.Conn, to netip.AddrPort) {
		buf := make([]byte, 65536)
		for {
			k, _, err := in.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			out.WriteToUDPAddrPort(buf[:k], to)
		}
	}
	go pump(bOvl, aOvl, b) // a -> b's overlay address: arrives at b from a's
	go pump(aOvl, bOvl, a) // and back
	t.Cleanup(func() { aOvl.Close(); bOvl.Close() })
}

// TestOverlayAddressNeverAPath: a peer's address on the overlay is never
// probed, dialled or followed, and datagrams that came through the
// overlay are dropped; without the filter the same lab moves the session
// onto the tunnel (the bug this guards against).
func TestOverlayAddressNeverAPath(t *testing.T) {
	for _, filtered := range []bool{true, false} {
		name := "filtered"
		if !filtered {
			name = "unfiltered"
		}
		t.Run(name, func(t *testing.T) {
			checkGoroutines(t)
			n := netsim.New()
			ca := newTestCA(t, "home")
			mod := func(c *Config) {
				if filtered {
					ovl := netip.MustParsePrefix("10.79.0.0/16")
					c.PathOK = func(a netip.Addr) bool { return !ovl.Contains(a) }
				}
			}
			a := startNodeWith(t, n, ca, "a", "10.0.0.1:6464", time.Second, mod)
			b := startNodeWith(t, n, ca, "b", "10.0.0.2:6464", time.Second, mod)
			tunnelLoop(t, n, a.addr, b.addr)
			ovlB := netip.MustParseAddrPort("10.79.0.2:6464")
			if filtered {
				if _, err := a.t.Connect(context.Background(), ovlB); err == nil {
					t.Fatal("dialled an overlay address")
				}
			}
			a.t.Maintain(context.Background(), b.addr.String())
			pb := a.waitUp(t, "b", 5*time.Second)
			pa := b.waitUp(t, "a", 5*time.Second)
			// Keepalives and probes go to the overlay address: a's
			// datagrams arrive at b from 10.79.0.1.
			for range 3 {
				a.t.sendKeepaliveOn(pb.active.Load(), directPath(ovlB))
				time.Sleep(50 * time.Millisecond)
			}
			for i := range 20 {
				a.t.SendFrame(pb, frameOf(100, byte(i)))
				b.t.SendFrame(pa, frameOf(100, byte(i)))
				time.Sleep(10 * time.Millisecond)
			}
			waitFor(t, 3*time.Second, "frames", func() bool { return len(b.received()) >= 20 && len(a.received()) >= 20 })
			got := pa.Status().Endpoint
			if filtered {
				if got != a.addr || pb.Status().Endpoint != b.addr {
					t.Fatalf("paths %v / %v, want the underlay addresses", got, pb.Status().Endpoint)
				}
				if b.t.Stats().PathRefused == 0 {
					t.Fatal("nothing refused: the datagrams through the tunnel were not seen")
				}
			} else if got.Addr() != netip.MustParseAddr("10.79.0.1") {
				t.Fatalf("without the filter b's path is %v: the lab no longer reproduces the loop", got)
			}
		})
	}
}
