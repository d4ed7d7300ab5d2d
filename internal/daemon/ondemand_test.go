package daemon

import (
	"testing"
	"time"

	"github.com/ipopd/ipopd/uci/ipopconf"
)

// TestOnDemandAndIdle: members that know each other only from the
// lighthouse's directory link when traffic for the other appears (the
// first frame is delivered once the relayed link is up), and a link that
// carries nothing is closed after link_idle, then made again on demand.
// The links to the lighthouse stay.
func TestOnDemandAndIdle(t *testing.T) {
	ms := startMembersWith(t, 3, func(i int, c *ipopconf.Config) {
		c.LinkIdle = 2 * time.Second
		c.Endpoints = nil
		if i == 0 {
			c.Lighthouse = true
		} else {
			c.Endpoints = []string{"10.0.0.1:6464"}
		}
	})
	lh, a, b := ms[0], ms[1], ms[2]
	bcast := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	// Wait until a knows b from the directory.
	time.Sleep(time.Second)
	if upTo(a, b) {
		t.Fatal("a and b linked before any traffic")
	}
	a.dev.in <- frame(bcast, mac(1), "first")
	eventually(t, "the first frame at b, over an on-demand link", func() bool { return b.dev.got([]byte("first")) == 1 })
	if !upTo(a, b) {
		t.Fatal("no link after traffic")
	}
	// Idle: no frames for 2 s closes a-b, not the links to the lighthouse.
	deadline := time.Now().Add(10 * time.Second)
	for upTo(a, b) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if upTo(a, b) {
		t.Fatal("idle link not closed")
	}
	if !upTo(a, lh) || !upTo(lh, a) {
		t.Fatal("the link to the lighthouse was closed too")
	}
	a.dev.in <- frame(bcast, mac(1), "again")
	eventually(t, "a frame after the idle close", func() bool { return b.dev.got([]byte("again")) == 1 })
}

// upTo reports whether x has an up session with y.
func upTo(x, y *testMember) bool {
	for _, p := range x.d.member().tr.UpPeers() {
		if p.NodeID == y.d.groupState().NodeID {
			return true
		}
	}
	return false
}
