package daemon

import (
	"strings"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/transport"
	"github.com/ipopd/ipopd/internal/wire"
	"github.com/ipopd/ipopd/uci/ipopconf"
)

// twoLighthouses starts m0 and m1 as relaying lighthouses (linked to each
// other) and n-2 members registered with both, with every direct path
// between members blocked, so links between members go through a relay.
func twoLighthouses(t *testing.T, n int) []*testMember {
	t.Helper()
	ms := startMembersWith(t, n, func(i int, c *ipopconf.Config) {
		c.LinkIdle = 0
		switch i {
		case 0:
			c.Lighthouse, c.Endpoints = true, []string{"10.0.0.2:6464"}
		case 1:
			c.Lighthouse, c.Endpoints = true, []string{"10.0.0.1:6464"}
		default:
			c.Endpoints = []string{"10.0.0.1:6464", "10.0.0.2:6464"}
		}
	})
	for _, a := range ms[2:] {
		for _, b := range ms[2:] {
			if a != b {
				a.net.Block(a.addr.Addr(), b.addr.Addr(), true)
			}
		}
	}
	// Everyone registered with both lighthouses.
	for _, lh := range ms[:2] {
		eventually(t, lh.name+" has every member", func() bool {
			lh.d.member().disc.mu.Lock()
			defer lh.d.member().disc.mu.Unlock()
			return len(lh.d.member().disc.announced) >= n-2
		})
	}
	return ms
}

func peerOf(x, y *testMember) *transport.Peer {
	return x.d.member().tr.Peer(y.d.groupState().NodeID)
}

func within(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// TestDiscoveryByQuery: a member locates another through a lighthouse
// query and links to it through that lighthouse's relay; nothing is pushed
// to the members that did not ask, so they stay unlinked. When that
// lighthouse dies, the relayed link moves to the other one and keeps
// carrying frames, and new links still form within 5 s.
func TestDiscoveryByQuery(t *testing.T) {
	ms := twoLighthouses(t, 7)
	a, b, c, d := ms[2], ms[3], ms[4], ms[5]

	a.d.member().disc.wake(b.d.groupState().NodeID)
	took := within(t, 3*time.Second, "a-b link", func() bool { return upTo(a, b) && upTo(b, a) })
	t.Logf("on-demand link through a relay in %v", took.Round(time.Millisecond))
	pb := peerOf(a, b)
	if p := pb.Status().Path; !strings.HasPrefix(p, "relay via") {
		t.Fatalf("a-b path %q, want a relay", p)
	}
	for _, x := range []*testMember{c, d, ms[6]} {
		if n := len(x.d.member().tr.UpPeers()); n != 2 {
			t.Errorf("%s has %d links, want only its 2 lighthouses", x.name, n)
		}
	}
	send := func(marker string) {
		t.Helper()
		if err := a.d.member().tr.SendFrame(pb, frame(mac(9), mac(1), marker)); err != nil {
			t.Fatalf("send %s: %v", marker, err)
		}
	}
	send("before")
	within(t, 2*time.Second, "frame through the relay", func() bool { return b.dev.got([]byte("before")) == 1 })

	// The relaying lighthouse dies (cut off from everyone).
	relayName := strings.TrimPrefix(pb.Status().Path, "relay via ")
	dead, alive := ms[0], ms[1]
	if dead.name != relayName {
		dead, alive = alive, dead
	}
	for _, x := range ms {
		if x != dead {
			x.net.Block(dead.addr.Addr(), x.addr.Addr(), true)
		}
	}
	moveWithin := 8 * time.Second
	if raceEnabled {
		moveWithin = 20 * time.Second // -race on a loaded 2-core machine
	}
	took = within(t, moveWithin, "a-b moved to the other relay", func() bool {
		return pb.Status().Path == "relay via "+alive.name && peerOf(b, a).Status().Path == "relay via "+alive.name
	})
	t.Logf("relayed link moved to %s %v after the lighthouse died", alive.name, took.Round(time.Millisecond))
	send("after")
	within(t, 2*time.Second, "frame through the other relay", func() bool { return b.dev.got([]byte("after")) == 1 })
	if !upTo(a, b) {
		t.Fatal("a-b went down with the lighthouse")
	}

	// A new link right after the loss (the dead lighthouse may not be
	// noticed yet: its query times out and the next one answers).
	c.d.member().disc.wake(d.d.groupState().NodeID)
	took = within(t, 5*time.Second, "c-d link after losing a lighthouse", func() bool { return upTo(c, d) && upTo(d, c) })
	t.Logf("new link after the loss in %v", took.Round(time.Millisecond))
}

// TestQueryAnswers: a lighthouse answers a query from what it holds, and
// says "not found" for a member it has no session with; candidates on the
// overlay itself are never handed out.
func TestQueryAnswers(t *testing.T) {
	ms := twoLighthouses(t, 4)
	lh, a, b := ms[0], ms[2], ms[3]
	x := a.d.member().disc
	lhPeer := peerOf(a, lh)
	// b announces an address on the overlay and an underlay one (after
	// its own announcement at link up, which this replaces).
	time.Sleep(200 * time.Millisecond)
	b.d.member().tr.SendControl(peerOf(b, lh), &wire.Announce{Candidates: []string{"10.77.0.9:6464", "192.0.2.7:6464", "junk"}})
	eventually(t, "b's announcement", func() bool {
		lh.d.member().disc.mu.Lock()
		defer lh.d.member().disc.mu.Unlock()
		c := lh.d.member().disc.announced[b.d.groupState().NodeID].Candidates
		return len(c) == 1 && c[0] == "192.0.2.7:6464"
	})
	r, err := x.query(lhPeer, b.d.groupState().NodeID)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Found || r.Name != b.name {
		t.Fatalf("answer %+v", r)
	}
	for _, c := range r.Candidates {
		if strings.HasPrefix(c, "10.77.") {
			t.Errorf("overlay candidate handed out: %v", r.Candidates)
		}
	}
	if !strings.Contains(strings.Join(r.Candidates, " "), "192.0.2.7:6464") {
		t.Errorf("announced candidate missing: %v", r.Candidates)
	}
	r, err = x.query(lhPeer, "00000000000000ff")
	if err != nil || r.Found {
		t.Fatalf("unknown member: %+v, %v", r, err)
	}
}
