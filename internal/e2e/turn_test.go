package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/netlab"
)

// TestTURN: with the lighthouse's relay turned off, members behind NATs
// that hole punching cannot always join (two address-and-port-dependent
// filtering, two symmetric) reach each other through a real TURN server
// (coturn) configured in UCI. Every pair's first ping gets through within
// 2 s of the first try, and every pair keeps working after (10 of 10 at
// +2 s and +10 s): a path only moves to a direct one that punching proved,
// never to an address on the overlay.
func TestTURN(t *testing.T) {
	if testing.Short() {
		t.Skip("TURN")
	}
	if !netlab.HasCommand("turnserver") {
		t.Skip("needs coturn (turnserver)")
	}
	w := newWorld(t)
	w.uplinkDelay = 10 * time.Millisecond
	lh := w.addSite()
	sites := []*site{w.addNATSite(netlab.Symmetric), w.addNATSite(netlab.Symmetric),
		w.addNATSite(netlab.PortRestricted), w.addNATSite(netlab.PortRestricted)}
	w.provision()

	// coturn on the simulated internet.
	turnHost := w.lab.Host("turn")
	w.lab.Link(turnHost, "eth0", w.inet, "pturn")
	w.inet.MustExec(t, "ip", "link", "set", "pturn", "master", "br-inet")
	turnIP := inetPfx + "250"
	turnHost.Addr("eth0", turnIP+"/24")
	turnHost.Start("coturn", "turnserver", "-n", "--no-cli", "--no-tls", "--no-dtls",
		"--listening-ip="+turnIP, "--relay-ip="+turnIP, "--listening-port=3478",
		"--min-port=50000", "--max-port=50100", "--realm=ipop", "--lt-cred-mech", "--user=ipop:s3cret",
		"--fingerprint", "--log-file=stdout", "--simple-log", "--no-software-attribute",
		"--pidfile="+t.TempDir()+"/turn.pid", "--userdb="+t.TempDir()+"/turn.db")
	time.Sleep(500 * time.Millisecond)

	eps := []string{lh.wanIP + ":" + port}
	lh.options["lighthouse"] = "1"
	lh.options["relay"] = "0"
	lh.writeConfigWith(nil)
	lh.proc = lh.router.Start("ipopd", w.ipopd, "run", "-c", lh.config, "--state", lh.state)
	for _, s := range sites {
		s.options["turn_server"] = turnIP + ":3478"
		s.options["turn_username"] = "ipop"
		s.options["turn_password"] = "s3cret"
		// As on OpenWRT: the member's own address of the group subnet
		// on the bridge the TAP is in. It must never become a path.
		s.router.Addr("br-lan", fmt.Sprintf("%s%d.1/16", lanPfx, s.n))
		s.writeConfigWith(eps)
		s.proc = s.router.Start("ipopd", w.ipopd, "run", "-c", s.config, "--state", s.state)
	}
	for _, s := range sites {
		s.waitLog("TURN relayed address allocated", 15*time.Second)
	}
	// Registered with the lighthouse, with the TURN address announced
	// (the allocation is announced on the next discovery tick).
	time.Sleep(2 * time.Second)

	type pair struct{ a, b *site }
	var pairs []pair
	for i, a := range sites {
		for _, b := range sites[i+1:] {
			pairs = append(pairs, pair{a, b})
		}
	}
	for _, p := range pairs {
		// 0.1 s apart, from the first try.
		out, _ := p.a.host.Exec("ping", "-c", "40", "-i", "0.1", "-W", "1", "-w", "6", p.b.lanIP)
		first, ok := firstReplyAt(out, 100*time.Millisecond)
		if !ok {
			t.Fatalf("%s -> %s: no reply\n%s", p.a.name, p.b.name, out)
		}
		t.Logf("%s -> %s: first reply after %v", p.a.name, p.b.name, first)
		if first > 2*time.Second {
			t.Errorf("%s -> %s: first frame after %v, want <= 2s", p.a.name, p.b.name, first)
		}
	}
	for _, after := range []time.Duration{2 * time.Second, 10 * time.Second} {
		time.Sleep(after)
		for _, p := range pairs {
			out, _ := p.a.host.Exec("ping", "-c", "10", "-i", "0.05", "-W", "1", p.b.lanIP)
			if n := len(icmpSeqRE.FindAllString(out, -1)); n != 10 {
				t.Errorf("+%v: %s -> %s: %d of 10 replies (paths %q / %q)\n%s", after, p.a.name, p.b.name, n,
					p.a.peerPath(t, p.b.name), p.b.peerPath(t, p.a.name), out)
			}
		}
	}
	turned := 0
	for _, p := range pairs {
		pa, pb := p.a.peerPath(t, p.b.name), p.b.peerPath(t, p.a.name)
		t.Logf("paths: %s sees %s %q, %s sees %s %q", p.a.name, p.b.name, pa, p.b.name, p.a.name, pb)
		if strings.HasPrefix(pa, "TURN") || strings.HasPrefix(pb, "TURN") {
			turned++
		}
		for _, path := range []string{pa, pb} {
			if strings.Contains(path, lanPfx) {
				t.Errorf("%s-%s: a path on the overlay itself: %q", p.a.name, p.b.name, path)
			}
		}
	}
	if turned == 0 {
		t.Fatal("no pair goes through TURN")
	}
	// Two symmetric NATs: no punch can join them, so TURN must.
	a, b := sites[0], sites[1]
	if pa, pb := a.peerPath(t, b.name), b.peerPath(t, a.name); !strings.HasPrefix(pa, "TURN") && !strings.HasPrefix(pb, "TURN") {
		t.Fatalf("the symmetric pair %s-%s does not go through TURN: %q / %q", a.name, b.name, pa, pb)
	}
	if out, err := a.host.Exec("ping", "-c", "5", "-i", "0.2", "-M", "do", "-s", "1472", b.lanIP); err != nil {
		t.Fatalf("full-size frames through TURN: %v\n%s", err, out)
	}
	for _, s := range sites {
		if strings.Contains(s.proc.Log(), "s3cret") {
			t.Fatalf("%s logged the TURN password", s.name)
		}
		if strings.Contains(s.proc.Log(), "panic") {
			t.Fatalf("%s panicked:\n%s", s.name, s.proc.Log())
		}
	}
}

var replyRE = regexp.MustCompile(`icmp_seq=(\d+) .*time=([0-9.]+) ms`)

// firstReplyAt reads the output of ping -i interval and returns when the
// first reply arrived, counted from the first request: its request went
// out (seq-1) intervals after the first, and came back after its RTT.
func firstReplyAt(out string, interval time.Duration) (time.Duration, bool) {
	best, ok := time.Duration(0), false
	for _, m := range replyRE.FindAllStringSubmatch(out, -1) {
		seq, _ := strconv.Atoi(m[1])
		ms, _ := strconv.ParseFloat(m[2], 64)
		at := time.Duration(seq-1)*interval + time.Duration(ms*float64(time.Millisecond))
		if !ok || at < best {
			best, ok = at, true
		}
	}
	return best, ok
}
