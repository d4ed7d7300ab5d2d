package e2e

import (
	"encoding/json"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/group"
	"github.com/ipopd/ipopd/internal/netlab"
)

// rekeyInterval is the sites' rekey_interval in TestRekeyLive: the UCI
// minimum, so that a 40 s run sees several rekeys.
const rekeyInterval = 10 * time.Second

// noPrefixes stands for the machine's interface prefixes when the test
// process provisions a site: the test's own namespace is not the site's.
func noPrefixes() ([]netip.Prefix, error) { return nil, nil }

// backdatedGroup makes a group whose CA was created a year and an hour
// ago, in a directory of its own: a member issued "a year ago" plus d
// then has a certificate that expires d from now, which the ipopd command
// line cannot make. The owner never runs, so nobody can renew it.
func backdatedGroup(t *testing.T) *group.State {
	t.Helper()
	st, err := group.Create(t.TempDir(), group.CreateOptions{
		Name: groupArg, Subnet: netip.MustParsePrefix(overlay), NodeName: "owner",
		Now: time.Now().AddDate(-1, 0, 0).Add(-time.Hour), LocalPrefixes: noPrefixes,
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// installIssued issues s's certificate as of issued and installs it in
// s's state directory.
func installIssued(t *testing.T, owner *group.State, s *site, issued time.Time) {
	t.Helper()
	bundle, err := owner.Issue(s.name, netip.Addr{}, issued)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := group.Install(s.state, bundle, group.InstallOptions{Now: time.Now(), LocalPrefixes: noPrefixes}); err != nil {
		t.Fatal(err)
	}
}

// TestRekeyLive: two sites behind NATs and a lighthouse, every link
// rekeying every 10 s. A ping every 50 ms for 40 s between the LAN hosts
// loses nothing, both ends count at least 3 rekeys, and a paced iperf3 TCP
// transfer running meanwhile through 2 or 3 rekeys of its link has no
// second without data. A third site whose certificate expires during the
// run is dropped by the lighthouse at the next rekey, and stays out.
func TestRekeyLive(t *testing.T) {
	if testing.Short() {
		t.Skip("rekeying")
	}
	w := newWorld(t)
	owner := backdatedGroup(t)
	lh := w.addSite()
	a, b := w.addNATSite(netlab.PortRestricted), w.addNATSite(netlab.EndpointIndependent)
	c := w.addSite()
	for _, s := range []*site{lh, a, b} {
		installIssued(t, owner, s, time.Now())
	}
	eps := []string{lh.wanIP + ":" + port}
	start := func(s *site) {
		s.options["rekey_interval"] = strconv.Itoa(int(rekeyInterval / time.Second))
		s.writeConfigWith(eps)
		s.proc = s.router.Start("ipopd", w.ipopd, "run", "-c", s.config, "--state", s.state)
	}
	lh.options["lighthouse"] = "1"
	for _, s := range []*site{lh, a, b} {
		start(s)
	}
	a.host.WaitPing(t, b.lanIP, 30*time.Second)

	// c's certificate expires 15 s from now: after its link with the
	// lighthouse made its first rekey, before its second.
	const life = 15 * time.Second
	installIssued(t, owner, c, time.Now().AddDate(-1, 0, 0).Add(life))
	expires := time.Now().Add(life)
	start(c)
	waitFor(t, 10*time.Second, "c up at the lighthouse", func() bool { return peerState(t, lh, c.name) == "up" })

	rekeysBefore := map[*site]uint64{a: counter(t, a, "rekeys"), b: counter(t, b, "rekeys")}
	const pings, gap = 800, 50 * time.Millisecond
	ping := a.host.Start("ping-rekey", "ping", "-i", "0.05", "-c", strconv.Itoa(pings), "-W", "1", b.lanIP)
	srv := b.host.Start("iperf3-s", "iperf3", "-s", "-1", "--forceflush")
	if err := waitOutput(srv, "Server listening", serverReady); err != nil {
		t.Fatal(err)
	}
	// Paced (at a sixth of what the lab carries unpaced): the ping must
	// measure the rekeys, not a queue the transfer filled.
	type result struct {
		out string
		err error
	}
	iperf := make(chan result, 1)
	go func() {
		out, err := a.host.Exec("iperf3", "-c", b.lanIP, "-t", "30", "-b", "300M", "-J", "--connect-timeout", "3000")
		iperf <- result{out, err}
	}()

	// Watch c at the lighthouse while the ping runs.
	var cDown time.Time
	cBack := false
	for done := false; !done; {
		select {
		case <-ping.Done():
			done = true
		case <-time.After(500 * time.Millisecond):
		}
		switch st := peerState(t, lh, c.name); {
		case st != "up" && cDown.IsZero():
			cDown = time.Now()
		case st == "up" && !cDown.IsZero():
			cBack = true
		}
	}
	_ = ping.Wait()
	r := <-iperf
	_ = srv.Wait()

	_, got := longestGap(ping.Log(), pings, gap)
	lost := pings - int(got*pings+0.5)
	t.Logf("ping every 50 ms for 40 s: %d of %d lost (path %s)", lost, pings, a.peerPath(t, b.name))
	if lost != 0 {
		t.Errorf("%d pings lost:\n%s", lost, lastLines(ping.Log(), 5))
	}
	for _, s := range []*site{a, b} {
		n := counter(t, s, "rekeys")
		fails := counter(t, s, "rekey_failures")
		t.Logf("%s: %d rekeys in the run (%d in all), %d failures", s.name, n-rekeysBefore[s], n, fails)
		if n-rekeysBefore[s] < 3 {
			t.Errorf("%s: %d rekeys counted in the run, want >= 3", s.name, n-rekeysBefore[s])
		}
		for _, p := range s.peers(t) {
			if p.State == "up" && (p.KeyAgeSec == nil || time.Duration(*p.KeyAgeSec)*time.Second > rekeyInterval+rekeyInterval/4+2*time.Second) {
				t.Errorf("%s: peer %s key age %v s, over the rekey interval", s.name, p.Name, p.KeyAgeSec)
			}
		}
	}

	if r.err != nil {
		t.Fatalf("iperf3: %v\n%s", r.err, r.out)
	}
	var j iperfJSON
	if err := json.Unmarshal([]byte(r.out), &j); err != nil || len(j.Intervals) == 0 {
		t.Fatalf("iperf3 output: %v\n%s", err, r.out)
	}
	minB, sum := j.Intervals[0].Sum.Bytes, 0.0
	series := make([]string, 0, len(j.Intervals))
	for _, iv := range j.Intervals {
		minB = min(minB, iv.Sum.Bytes)
		sum += iv.Sum.Bytes
		series = append(series, strconv.Itoa(int(iv.Sum.Bytes*8/1e6)))
	}
	mean := sum / float64(len(j.Intervals))
	t.Logf("iperf3 TCP (paced at 300 Mbit/s) for 30 s across rekeys: per second min %.1f Mbit/s, mean %.1f Mbit/s; series %v", minB*8/1e6, mean*8/1e6, series)
	if minB == 0 {
		t.Errorf("the transfer stalled: a second with no data")
	}

	switch {
	case cDown.IsZero():
		t.Errorf("c is still up %v after its certificate expired", time.Since(expires).Round(time.Second))
	case cDown.Before(expires):
		t.Errorf("c went down %v before its certificate expired", expires.Sub(cDown))
	case cDown.Sub(expires) > rekeyInterval+rekeyInterval/4+2*time.Second:
		t.Errorf("c dropped %v after its certificate expired, later than the next rekey", cDown.Sub(expires))
	default:
		t.Logf("c dropped %v after its certificate expired", cDown.Sub(expires).Round(100*time.Millisecond))
	}
	if cBack {
		t.Error("c came back up with an expired certificate")
	}
}

// peerState is a peer's state as s's daemon shows it; "" when unknown.
func peerState(t *testing.T, s *site, name string) string {
	for _, p := range s.peers(t) {
		if p.Name == name {
			return p.State
		}
	}
	return ""
}

// waitFor polls cond until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
