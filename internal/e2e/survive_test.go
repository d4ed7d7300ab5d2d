package e2e

import (
	"regexp"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/netlab"
)

var icmpSeqRE = regexp.MustCompile(`icmp_seq=(\d+)`)

// longestGap reads a ping -i INTERVAL log and returns the longest run of
// missing replies, as time, and the share of replies received.
func longestGap(out string, count int, interval time.Duration) (time.Duration, float64) {
	var seqs []int
	for _, m := range icmpSeqRE.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[1])
		seqs = append(seqs, n)
	}
	sort.Ints(seqs)
	gap, prev := 0, 0
	for _, s := range seqs {
		if s-prev-1 > gap {
			gap = s - prev - 1
		}
		prev = s
	}
	if count-prev > gap {
		gap = count - prev
	}
	return time.Duration(gap) * interval, float64(len(seqs)) / float64(count)
}

// natPair builds two lighthouses and two sites behind NATs, provisioned
// and running, and waits until the sites' LAN hosts reach each other.
func natPair(t *testing.T, w *world, ka, kb netlab.NATKind) (lh1, lh2, a, b *site) {
	t.Helper()
	lh1, lh2 = w.addSite(), w.addSite()
	a, b = w.addNATSite(ka), w.addNATSite(kb)
	w.provision()
	eps := []string{lh1.wanIP + ":" + port, lh2.wanIP + ":" + port}
	for _, l := range []*site{lh1, lh2} {
		l.options["lighthouse"] = "1"
		l.writeConfigWith(eps)
		l.proc = l.router.Start("ipopd", w.ipopd, "run", "-c", l.config, "--state", l.state)
	}
	for _, s := range []*site{a, b} {
		s.writeConfigWith(eps)
		s.proc = s.router.Start("ipopd", w.ipopd, "run", "-c", s.config, "--state", s.state)
	}
	a.host.WaitPing(t, b.lanIP, 45*time.Second)
	return lh1, lh2, a, b
}

// TestTransferSurvives: a frame stream between two NATed sites keeps
// flowing while its path moves from relay to direct, while one site's NAT
// loses its mappings (conntrack flushed: a new external port), and while
// one of the two lighthouses dies. No stall longer than 5 s.
func TestTransferSurvives(t *testing.T) {
	if testing.Short() {
		t.Skip("NAT survival")
	}
	w := newWorld(t)
	w.uplinkDelay = 10 * time.Millisecond
	lh1, _, a, b := natPair(t, w, netlab.PortRestricted, netlab.EndpointIndependent)

	const count, interval = 300, 100 * time.Millisecond
	stream := a.host.Start("ping-stream", "ping", "-i", "0.1", "-c", strconv.Itoa(count), "-W", "1", b.lanIP)
	time.Sleep(8 * time.Second)
	if p := a.peerPath(t, b.name); p != "direct" {
		t.Errorf("path before the flush is %q, want direct", p)
	}
	w.lab.FlushConntrack(a.natBox) // a's NAT forgets every mapping
	time.Sleep(8 * time.Second)
	if err := lh1.proc.Signal(syscall.SIGKILL); err != nil { // a lighthouse dies
		t.Fatal(err)
	}
	_ = stream.Wait()
	gap, got := longestGap(stream.Log(), count, interval)
	t.Logf("ping stream: %.0f%% of replies, longest stall %v; path now %q", got*100, gap, a.peerPath(t, b.name))
	if gap > 5*time.Second {
		t.Fatalf("the stream stalled for %v (> 5 s):\n%s", gap, lastLines(stream.Log(), 20))
	}
}

// TestLossyUnderlay: with 5% loss and 50 ms of delay between the sites,
// links still form (handshakes through the relay, punching) and hold.
func TestLossyUnderlay(t *testing.T) {
	if testing.Short() {
		t.Skip("lossy underlay")
	}
	w := newWorld(t)
	// Each site's uplink adds 25 ms and 2.5% loss in each direction: 50 ms
	// and about 5% between the two sites.
	w.uplinkDelay, w.uplinkLoss = 25*time.Millisecond, 0.025
	_, _, a, b := natPair(t, w, netlab.PortRestricted, netlab.PortRestricted)
	const count, interval = 200, 100 * time.Millisecond
	out, _ := a.host.Exec("ping", "-i", "0.1", "-c", strconv.Itoa(count), "-W", "2", b.lanIP)
	gap, got := longestGap(out, count, interval)
	t.Logf("ping over a lossy underlay: %.0f%% of replies, longest stall %v, path %q", got*100, gap, a.peerPath(t, b.name))
	if got < 0.8 || gap > 5*time.Second {
		t.Fatalf("link did not hold: %.0f%% replies, stall %v\n%s", got*100, gap, lastLines(out, 10))
	}
}
