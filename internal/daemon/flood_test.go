package daemon

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/ipopd/ipopd/uci/ipopconf"
)

// startHub starts n members of which the first lighthouses are
// lighthouses and the only endpoints of the others (links on demand
// only), and waits until every lighthouse holds a link to everyone and
// every member sees a lighthouse.
func startHub(t *testing.T, n, lighthouses int, mod func(i int, c *ipopconf.Config)) []*testMember {
	t.Helper()
	ms := startMembersWith(t, n, func(i int, c *ipopconf.Config) {
		c.Endpoints = nil
		for j := 0; j < lighthouses; j++ {
			if j != i {
				c.Endpoints = append(c.Endpoints, fmt.Sprintf("10.0.0.%d:6464", j+1))
			}
		}
		c.Lighthouse = i < lighthouses
		if mod != nil {
			mod(i, c)
		}
	})
	for _, lh := range ms[:lighthouses] {
		eventuallyWithin(t, 20*time.Second, lh.name+" linked to everyone", func() bool { return len(lh.d.member().tr.UpPeers()) == n-1 })
	}
	waitLighthouseRole(t, ms[lighthouses:]...)
	return ms
}

func eventuallyWithin(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// links returns how many up links each member holds.
func links(ms []*testMember) []int {
	out := make([]int, len(ms))
	for i, m := range ms {
		out[i] = len(m.d.member().tr.UpPeers())
	}
	return out
}

func counter(m *testMember, name string) uint64 { return status(m.d).Switch[name] }

// arpRequest builds an ARP request from spa for tpa, with the marker in
// the Ethernet padding.
func arpRequest(src [6]byte, spa, tpa netip.Addr, marker string) []byte {
	f := make([]byte, 14+28, 14+28+len(marker))
	copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:], src[:])
	binary.BigEndian.PutUint16(f[12:], 0x0806)
	a := f[14:]
	binary.BigEndian.PutUint16(a[0:], 1)
	binary.BigEndian.PutUint16(a[2:], 0x0800)
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:], 1)
	copy(a[8:], src[:])
	s, d := spa.As4(), tpa.As4()
	copy(a[14:], s[:])
	copy(a[24:], d[:])
	return append(f, marker...)
}

// mcastFrame builds an IPv4 UDP frame to a multicast group.
func mcastFrame(src [6]byte, group string, marker string) []byte {
	g := netip.MustParseAddr(group).As4()
	f := make([]byte, 14+20+8)
	copy(f, []byte{0x01, 0x00, 0x5e, g[1] & 0x7f, g[2], g[3]})
	copy(f[6:], src[:])
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0], ip[8], ip[9] = 0x45, 1, 17
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(marker)))
	copy(ip[12:], []byte{10, 77, 0, 9})
	copy(ip[16:], g[:])
	binary.BigEndian.PutUint16(ip[20:], 5353)
	binary.BigEndian.PutUint16(ip[22:], 5353)
	binary.BigEndian.PutUint16(ip[24:], uint16(8+len(marker)))
	return append(f, marker...)
}

// expectEach waits until every member got the marker want[i] times, then
// checks no more arrive.
func expectEach(t *testing.T, ms []*testMember, marker string, want func(i int) int) {
	t.Helper()
	eventually(t, marker+" everywhere", func() bool {
		for i, m := range ms {
			if m.dev.got([]byte(marker)) < want(i) {
				return false
			}
		}
		return true
	})
	time.Sleep(200 * time.Millisecond)
	for i, m := range ms {
		if got := m.dev.got([]byte(marker)); got != want(i) {
			t.Fatalf("%s got %q %d times, want %d", m.name, marker, got, want(i))
		}
	}
}

// TestFloodThroughLighthouse: in a group of 20 with one lighthouse and
// links only to it, a broadcast reaches every other member exactly once
// from one copy, and opens no link; an ARP request for a member's address
// reaches that member only; the unicast reply opens exactly one on-demand
// link, and frames then flow both ways on it.
func TestFloodThroughLighthouse(t *testing.T) {
	const n = 20
	ms := startHub(t, n, 1, nil)
	lh, a, b := ms[0], ms[1], ms[7]
	before := links(ms)
	bcast := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

	a.dev.in <- frame(bcast, mac(1), "bcast-1")
	expectEach(t, ms, "bcast-1", func(i int) int { return min(1, i^1) }) // all but a
	if got := counter(a, "flood_copies_out"); got != 1 {
		t.Fatalf("a sent %d copies of one broadcast, want 1", got)
	}
	if got := counter(lh, "reflected"); got != 1 {
		t.Fatalf("the lighthouse reflected %d frames, want 1", got)
	}
	if after := links(ms); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("a broadcast changed the links: %v -> %v", before, after)
	}

	// An ARP request for b's address goes to b only, also not to the
	// lighthouse's LAN.
	bAddr := b.d.groupState().Address
	a.dev.in <- arpRequest(mac(1), a.d.groupState().Address, bAddr, "arp-b")
	expectEach(t, ms, "arp-b", func(i int) int {
		if i == 7 {
			return 1
		}
		return 0
	})
	if got := counter(a, "flood_copies_out"); got != 2 {
		t.Fatalf("a sent %d copies for two floods, want 2", got)
	}

	// b learned mac(1) on a's node from the reflected frames: its reply
	// opens the link b-a, and only that one.
	sendOnce(t, b, frame(mac(1), mac(8), "reply-1"), a, "reply-1")
	a.dev.in <- frame(mac(8), mac(1), "back-1")
	eventually(t, "a's frame back at b", func() bool { return b.dev.got([]byte("back-1")) == 1 })
	after := links(ms)
	for i := range ms {
		want := before[i]
		if i == 1 || i == 7 {
			want++
		}
		if after[i] != want {
			t.Fatalf("links after the reply: %v, want one more for a and b than %v", after, before)
		}
	}
	for i, m := range ms {
		if i != 1 && m.dev.got([]byte("reply-1")) != 0 || i != 7 && m.dev.got([]byte("back-1")) != 0 {
			t.Fatalf("unicast reached %s", m.name)
		}
	}
	// With a link to b, a asks about b's address on it directly.
	copies, reflected := counter(a, "flood_copies_out"), counter(lh, "reflected")
	a.dev.in <- arpRequest(mac(1), a.d.groupState().Address, bAddr, "arp-b2")
	eventually(t, "the second ARP at b", func() bool { return b.dev.got([]byte("arp-b2")) == 1 })
	if counter(a, "flood_copies_out") != copies+1 || counter(lh, "reflected") != reflected {
		t.Fatal("the ARP for a linked member's address went through the lighthouse")
	}
}

// TestFloodTwoLighthouses: with two lighthouses every member's flood goes
// to the one with the lowest node id, reaches everyone once (the second
// lighthouse delivers the reflected copy and does not reflect it again),
// and when that lighthouse goes, floods go through the other.
func TestFloodTwoLighthouses(t *testing.T) {
	const n = 12
	ms := startHub(t, n, 2, nil)
	a := ms[2]
	first, second := ms[0], ms[1]
	if first.d.groupState().NodeID > second.d.groupState().NodeID {
		first, second = second, first
	}
	if got := a.d.member().sw.lighthouse(); got == nil || got.NodeID != first.d.groupState().NodeID {
		t.Fatalf("a floods through %v, want the lowest node id %s", got, first.d.groupState().NodeID)
	}
	bcast := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	a.dev.in <- frame(bcast, mac(3), "two-1")
	expectEach(t, ms, "two-1", func(i int) int { return min(1, i^2) })
	if counter(first, "reflected") != 1 || counter(second, "reflected") != 0 || counter(a, "flood_copies_out") != 1 {
		t.Fatalf("reflected %d/%d, copies %d; want 1/0, 1", counter(first, "reflected"), counter(second, "reflected"), counter(a, "flood_copies_out"))
	}
	// The first lighthouse goes away: the next flood goes through the
	// second, to everyone still there.
	_ = first.d.member().tr.Close()
	eventuallyWithin(t, 10*time.Second, "a moved to the second lighthouse", func() bool {
		lh := a.d.member().sw.lighthouse()
		return lh != nil && lh.NodeID == second.d.groupState().NodeID
	})
	a.dev.in <- frame(bcast, mac(3), "two-2")
	expectEach(t, ms, "two-2", func(i int) int {
		if i == 2 || ms[i] == first {
			return 0
		}
		return 1
	})
	if counter(second, "reflected") != 1 || counter(a, "flood_copies_out") != 2 {
		t.Fatalf("second lighthouse reflected %d, a sent %d copies; want 1, 2", counter(second, "reflected"), counter(a, "flood_copies_out"))
	}
}

// TestFloodAllow: flood_allow keeps multicast groups off the overlay on
// the way out and on the way in, leaves broadcast alone, and a reload
// changes it live.
func TestFloodAllow(t *testing.T) {
	ms := startHub(t, 4, 1, func(i int, c *ipopconf.Config) {
		if i == 1 {
			c.FloodAllow = []string{"224.0.0.251"} // mDNS only
		}
	})
	lh, a, b, c := ms[0], ms[1], ms[2], ms[3]
	bcast := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	a.dev.in <- mcastFrame(mac(1), "239.255.255.250", "ssdp-1") // SSDP: stays on a's LAN
	a.dev.in <- mcastFrame(mac(1), "224.0.0.251", "mdns-1")
	a.dev.in <- frame(bcast, mac(1), "bcast-a")
	expectEach(t, ms, "mdns-1", func(i int) int { return min(1, i^1) })
	expectEach(t, ms, "bcast-a", func(i int) int { return min(1, i^1) })
	expectEach(t, ms, "ssdp-1", func(int) int { return 0 })
	if got := counter(a, "flood_filtered"); got != 1 {
		t.Fatalf("a filtered %d frames, want 1", got)
	}
	// Inbound: SSDP from c reaches everyone but a.
	c.dev.in <- mcastFrame(mac(4), "239.255.255.250", "ssdp-2")
	expectEach(t, ms, "ssdp-2", func(i int) int { return min(1, i^1, i^3) })
	if got := counter(a, "flood_filtered"); got != 2 {
		t.Fatalf("a filtered %d frames, want 2", got)
	}
	// A reload on b: no multicast at all, broadcast still.
	cfg := b.d.cfg
	cfg.FloodAllow = []string{"none"}
	b.d.apply(cfg)
	c.dev.in <- mcastFrame(mac(4), "224.0.0.251", "mdns-3")
	c.dev.in <- frame(bcast, mac(4), "bcast-c")
	expectEach(t, ms, "bcast-c", func(i int) int { return min(1, i^3) })
	expectEach(t, ms, "mdns-3", func(i int) int {
		if i == 0 || i == 1 {
			return 1
		}
		return 0
	})
	_ = lh
}
