package transport

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/netsim"
)

// TestRestartRecovery: a peer that restarts is reachable again within 2 s
// of its new instance starting, both ways, whether it said Bye (SIGTERM)
// or crashed, and whether or not it can dial us itself (a lighthouse or a
// public member cannot dial a member behind a NAT). Traffic flows at
// 20 frames per second, like the chaos soak's ping; the keepalive is the
// shipped 5 s, so dead-peer detection (20 s) is not what recovers.
func TestRestartRecovery(t *testing.T) {
	checkGoroutines(t)
	for _, tc := range []struct {
		name    string
		bye     bool          // the old instance says Bye
		dials   bool          // the new instance dials us itself
		downFor time.Duration // between the old instance's end and the new one's start
	}{
		{"bye, we dial", true, false, 300 * time.Millisecond},
		{"bye, both dial", true, true, 300 * time.Millisecond},
		{"crash, we dial", false, false, 300 * time.Millisecond},
		{"crash, both dial", false, true, 300 * time.Millisecond},
		{"crash, we dial, down 3 s", false, false, 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := netsim.New()
			ca := newTestCA(t, "home")
			a := startNode(t, n, ca, "a", "10.0.0.1:6464", 5*time.Second)
			b := startNode(t, n, ca, "b", "10.0.0.2:6464", 5*time.Second)
			a.t.Maintain(context.Background(), b.addr.String())
			if tc.dials {
				b.t.Maintain(context.Background(), a.addr.String())
			}
			pb := a.waitUp(t, "b", 5*time.Second)
			b.waitUp(t, "a", 5*time.Second)

			// Traffic both ways, then the old b goes.
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				tk := time.NewTicker(50 * time.Millisecond)
				defer tk.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tk.C:
						_ = a.t.SendFrame(pb, frameOf(100, 1))
					}
				}
			}()
			defer func() { close(stop); <-done }()
			time.Sleep(300 * time.Millisecond)
			if !tc.bye { // a crash: no Bye, no close_notify reaches a
				n.Block(a.addr.Addr(), b.addr.Addr(), true)
			}
			b.t.Close()
			n.Block(a.addr.Addr(), b.addr.Addr(), false)
			time.Sleep(tc.downFor)

			start := time.Now()
			b2 := startNode(t, n, ca, "b", "10.0.0.2:6464", 5*time.Second)
			if tc.dials {
				b2.t.Maintain(context.Background(), a.addr.String())
			}
			waitFor(t, 5*time.Second, "a's frames at the new b", func() bool { return len(b2.received()) > 0 })
			forward := time.Since(start)
			var back time.Duration
			waitFor(t, 5*time.Second, "the new b's frames at a", func() bool {
				for _, p := range b2.t.UpPeers() {
					_ = b2.t.SendFrame(p, frameOf(100, 2))
				}
				for _, f := range a.received() {
					if f[len(f)-1] == 2 {
						back = time.Since(start)
						return true
					}
				}
				return false
			})
			t.Logf("%s: a -> new b after %v, new b -> a after %v", tc.name, forward.Round(time.Millisecond), back.Round(time.Millisecond))
			if forward > recoveryGoal() || back > recoveryGoal() {
				t.Errorf("recovery took %v / %v (goal 2 s)\na:\n%s", forward, back, a.logs)
			}
		})
	}
}

// TestDirectPathDiesRelayTakesOver: two members punched to a direct path
// lose it (one's public address changed, a NAT dropped its mapping)
// while their relay still reaches both. Traffic flows again within 2 s,
// through the relay, instead of after two keepalives (10 s).
func TestDirectPathDiesRelayTakesOver(t *testing.T) {
	checkGoroutines(t)
	n := netsim.New()
	ca := newTestCA(t, "home")
	const ka = 5 * time.Second
	l := startNodeWith(t, n, ca, "lh", "10.0.0.100:6464", ka, func(c *Config) { c.Relay, c.Lighthouse = true, true })
	a := startNode(t, n, ca, "a", "10.0.0.1:6464", ka)
	b := startNode(t, n, ca, "b", "10.0.0.2:6464", ka)
	a.t.Maintain(context.Background(), l.addr.String())
	b.t.Maintain(context.Background(), l.addr.String())
	la := a.waitUp(t, "lh", 5*time.Second)
	b.waitUp(t, "lh", 5*time.Second)
	pb, err := a.t.ConnectVia(context.Background(), la, testNodeID("b"))
	if err != nil {
		t.Fatalf("connect via relay: %v\n%s", err, a.logs)
	}
	pa := b.waitUp(t, "a", 5*time.Second)

	// 20 frames a second both ways, as a ping and its replies.
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(50 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				_ = a.t.SendFrame(pb, frameOf(100, 1))
				_ = b.t.SendFrame(pa, frameOf(100, 2))
			}
		}
	}()
	defer func() { close(stop); <-done }()
	a.t.Probe(pb, []netip.AddrPort{b.addr})
	b.t.Probe(pa, []netip.AddrPort{a.addr})
	waitFor(t, 5*time.Second, "direct path both ways", func() bool {
		return pb.Status().Path == "direct" && pa.Status().Path == "direct"
	})
	time.Sleep(300 * time.Millisecond)
	n.Block(a.addr.Addr(), b.addr.Addr(), true)
	cut := time.Now()
	time.Sleep(100 * time.Millisecond)
	na, nb := len(a.received()), len(b.received())
	waitFor(t, 5*time.Second, "frames both ways after the direct path died", func() bool {
		return len(a.received()) > na+2 && len(b.received()) > nb+2
	})
	took := time.Since(cut)
	t.Logf("frames flow again %v after the direct path died; paths %q / %q", took.Round(time.Millisecond), pb.Status().Path, pa.Status().Path)
	// 0.8 s of silence, a direct attempt, then the relay: 1.3-2 s here;
	// the bound leaves room for a loaded machine.
	if took > recoveryGoal()+time.Second {
		t.Errorf("recovery took %v (goal 2 s)\na:\n%s", took, a.logs)
	}
}

// recoveryGoal is issue 12's 2 s; the race detector slows handshakes
// several times, so under it only a gross regression fails.
func recoveryGoal() time.Duration {
	if raceEnabled {
		return 5 * time.Second
	}
	return 2 * time.Second
}
