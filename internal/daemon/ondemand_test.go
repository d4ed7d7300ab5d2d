package daemon

import (
	"testing"
	"time"

	"github.com/ipopd/ipopd/uci/ipopconf"
)

// TestOnDemandAndIdle: members that know each other only through the
// lighthouse do not link for a broadcast (the lighthouse reflects it, and
// the receiver learns the sender's MAC on the sender's node), but do when
// unicast traffic for the other appears (the first frame is delivered
// once the relayed link is up); a link that carries nothing is closed
// after link_idle, then made again on demand. The links to the lighthouse
// stay.
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
	waitLighthouseRole(t, a, b)
	a.dev.in <- frame(bcast, mac(1), "first")
	eventually(t, "the broadcast at b, reflected", func() bool { return b.dev.got([]byte("first")) == 1 })
	if upTo(a, b) || upTo(b, a) {
		t.Fatal("a broadcast linked a and b")
	}
	// Resent until it arrives: b can reach a once discovery knows it.
	sendOnce(t, b, frame(mac(1), mac(2), "reply"), a, "reply")
	if !upTo(a, b) {
		t.Fatal("no link after unicast traffic")
	}
	a.dev.in <- frame(mac(2), mac(1), "back")
	eventually(t, "a frame back at b", func() bool { return b.dev.got([]byte("back")) == 1 })
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
	// b still knows mac(1) on a's node: unicast wakes the link again.
	sendOnce(t, b, frame(mac(1), mac(2), "again"), a, "again")
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

// sendOnce puts f on from's LAN once and waits (at most 10 s) until to's
// LAN got it, exactly once: a frame for a member without a link is staged
// while discovery makes the link, then delivered.
func sendOnce(t *testing.T, from *testMember, f []byte, to *testMember, marker string) {
	t.Helper()
	from.dev.in <- f
	deadline := time.Now().Add(10 * time.Second)
	for to.dev.got([]byte(marker)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%q from %s never reached %s", marker, from.name, to.name)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if n := to.dev.got([]byte(marker)); n != 1 {
		t.Fatalf("%q reached %s %d times, want once", marker, to.name, n)
	}
}

// waitLighthouseRole waits until each member has an up lighthouse that
// said so in its Hello (floods go through it from then on).
func waitLighthouseRole(t *testing.T, ms ...*testMember) {
	t.Helper()
	for _, m := range ms {
		eventually(t, m.name+" sees a lighthouse", func() bool { return m.d.member().sw.lighthouse() != nil })
	}
}
