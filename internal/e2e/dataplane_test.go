package e2e

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/control"
	"github.com/ipopd/ipopd/internal/netlab"
)

// listen starts a rawframe listener on a LAN host; read its result with
// listened after the frames were sent.
func listen(w *world, h *netlab.Host, kind string, d time.Duration) *netlab.Proc {
	rawframe := netlab.BuildTool(w.t, "github.com/ipopd/ipopd/internal/testtools/rawframe")
	p := h.Start("listen-"+kind, rawframe, "-i", "eth0", "-listen", "-kind", kind, "-timeout", d.String())
	time.Sleep(300 * time.Millisecond) // let it open its socket
	return p
}

func listened(t *testing.T, p *netlab.Proc) (int, string) {
	t.Helper()
	if err := p.Wait(); err != nil {
		t.Fatalf("rawframe listener: %v\n%s", err, p.Log())
	}
	return count(t, p.Log()), p.Log()
}

func send(w *world, h *netlab.Host, kind string, extra ...string) {
	w.t.Helper()
	rawframe := netlab.BuildTool(w.t, "github.com/ipopd/ipopd/internal/testtools/rawframe")
	h.MustExec(w.t, append([]string{rawframe, "-i", "eth0", "-kind", kind}, extra...)...)
}

// TestTwoSites: two routers join their LANs; ping, full-size frames, ARP,
// broadcast and a 200 MB TCP transfer cross the overlay.
func TestTwoSites(t *testing.T) {
	w := newWorld(t)
	a, b := w.addSite(), w.addSite()
	w.provision()
	w.startAll()
	a.host.WaitPing(t, b.lanIP, 15*time.Second)

	// Full 1500-byte packets with DF set: the overlay fragments its own
	// frames, the LAN MTU stays 1500.
	if out, err := a.host.Exec("ping", "-c", "3", "-M", "do", "-s", "1472", "-W", "2", b.lanIP); err != nil {
		t.Fatalf("ping -M do -s 1472: %v\n%s", err, out)
	}
	// ARP resolved across the overlay: h1 knows h2's MAC.
	neigh := a.host.MustExec(t, "ip", "neigh", "show", b.lanIP)
	if !strings.Contains(neigh, strings.ToLower(b.host.MAC("eth0"))) {
		t.Fatalf("h1 has no ARP entry with h2's MAC %s: %q", b.host.MAC("eth0"), neigh)
	}
	// A broadcast from one LAN reaches the other.
	l := listen(w, b.host, "bcast", 3*time.Second)
	send(w, a.host, "bcast", "-msg", "hello-from-h1")
	if n, out := listened(t, l); n != 1 || !strings.Contains(out, "hello-from-h1") {
		t.Fatalf("broadcast arrived %d times, want 1:\n%s", n, out)
	}

	// 200 MB of TCP, checked by iperf3's own accounting.
	srv := b.host.Start("iperf3-server", "iperf3", "-s", "-1")
	time.Sleep(300 * time.Millisecond)
	out, err := a.host.Exec("iperf3", "-c", b.lanIP, "-n", "200M", "--connect-timeout", "3000")
	if err != nil {
		t.Fatalf("iperf3 200M: %v\n%s", err, out)
	}
	if !strings.Contains(out, "iperf Done") {
		t.Fatalf("iperf3 did not finish:\n%s", out)
	}
	_ = srv.Wait()
	t.Logf("iperf3:\n%s", lastLines(out, 4))
	// The bulk went through the offloads: the sender's TAP handed over
	// TSO frames that were cut, the receiver glued segments back.
	if cut := counter(t, a, "tso_frames_cut"); cut == 0 {
		t.Error("the sender cut no TSO frames: TAP offloads not in use")
	}
	if glued := counter(t, b, "gro_frames_glued"); glued == 0 {
		t.Error("the receiver glued no segments")
	}
	for _, s := range []*site{a, b} {
		if n := counter(t, s, "offload_errors"); n != 0 {
			t.Errorf("%s: %d offload errors", s.name, n)
		}
	}

	// SIGTERM: clean exit, the TAP is gone.
	a.stop()
	if out, err := a.router.Exec("ip", "link", "show", "ipop0"); err == nil {
		t.Fatalf("ipop0 still exists after shutdown:\n%s", out)
	}
}

// TestThreeSitesBroadcastOnce: in a full mesh of three, a broadcast from
// one LAN reaches each other LAN exactly once.
func TestThreeSitesBroadcastOnce(t *testing.T) {
	w := newWorld(t)
	a, b, c := w.addSite(), w.addSite(), w.addSite()
	w.provision()
	w.startAll()
	a.host.WaitPing(t, b.lanIP, 15*time.Second)
	a.host.WaitPing(t, c.lanIP, 15*time.Second)
	b.host.WaitPing(t, c.lanIP, 15*time.Second)

	lb := listen(w, b.host, "bcast", 4*time.Second)
	lc := listen(w, c.host, "bcast", 4*time.Second)
	la := listen(w, a.host, "bcast", 4*time.Second)
	send(w, a.host, "bcast", "-msg", "once")
	for name, l := range map[string]*netlab.Proc{"h2": lb, "h3": lc} {
		if n, out := listened(t, l); n != 1 {
			t.Errorf("%s got the broadcast %d times, want 1:\n%s", name, n, out)
		}
	}
	// It must not come back to the sender's LAN either (split horizon).
	if n, out := listened(t, la); n != 0 { // rawframe ignores what eth0 itself sent
		t.Errorf("h1's broadcast came back to it %d times:\n%s", n, out)
	}
}

// TestGuards: a DHCP server on one LAN serves no one on the other while the
// guard is on, and does once it is switched off; an RA never crosses.
func TestGuards(t *testing.T) {
	if !netlab.HasCommand("dnsmasq") || !netlab.HasCommand("busybox") {
		t.Skip("needs dnsmasq and busybox (udhcpc)")
	}
	w := newWorld(t)
	a, b := w.addSite(), w.addSite()
	w.provision()
	w.startAll()
	a.host.WaitPing(t, b.lanIP, 15*time.Second)

	a.host.Start("dnsmasq", "dnsmasq", "--no-daemon", "--port=0", "--interface=eth0", "--bind-interfaces",
		"--dhcp-range=10.77.1.100,10.77.1.150,255.255.0.0,1h", "--dhcp-authoritative", "--log-dhcp",
		"--dhcp-leasefile="+t.TempDir()+"/leases", "--pid-file=")
	time.Sleep(500 * time.Millisecond)
	// b's LAN gets a second interface for the DHCP client so that its test
	// address stays.
	udhcpc := []string{"busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "3", "-T", "1", "-s", "/bin/true"}
	if out, err := b.host.Exec(udhcpc...); err == nil || strings.Contains(out, "lease of") {
		t.Fatalf("DHCP offer crossed the overlay with the guard on:\n%s", out)
	}
	// An RA sent on a's LAN never reaches b's LAN.
	l := listen(w, b.host, "ra", 3*time.Second)
	send(w, a.host, "ra")
	if n, out := listened(t, l); n != 0 {
		t.Fatalf("router advertisement crossed with the guard on:\n%s", out)
	}
	for _, s := range []*site{a, b} {
		if out := s.proc.Log(); strings.Contains(out, "panic") {
			t.Fatalf("%s panicked:\n%s", s.name, out)
		}
	}

	// Switch the guards off on both routers (reload, links stay up).
	for _, s := range []*site{a, b} {
		s.options["guard_dhcp"] = "0"
		s.options["guard_ra"] = "0"
		s.reload()
		s.waitLog("configuration reloaded", 5*time.Second)
	}
	out, err := b.host.Exec(udhcpc...)
	if err != nil || !strings.Contains(out, "lease of 10.77.1.1") {
		t.Fatalf("no DHCP lease through the overlay with the guard off: %v\n%s", err, out)
	}
	l = listen(w, b.host, "ra", 3*time.Second)
	send(w, a.host, "ra")
	if n, out := listened(t, l); n != 1 {
		t.Fatalf("router advertisement arrived %d times with the guard off, want 1:\n%s", n, out)
	}
}

// TestOtherGroupCannotJoin: a router with a certificate from another
// group's CA is refused; no frame of its crosses; both daemons say why.
func TestOtherGroupCannotJoin(t *testing.T) {
	w := newWorld(t)
	a, b := w.addSite(), w.addSite()
	intruder := w.addSite()
	// a and b form the group; the intruder makes its own group and dials a.
	owner := a
	owner.mustIpopd("group", "create", "--name", groupArg, "--subnet", overlay, "--node-name", "r1", "--state", owner.state)
	bundle := t.TempDir() + "/b.bundle"
	owner.mustIpopd("group", "issue", "--name", "r2", "--out", bundle, "--state", owner.state)
	b.mustIpopd("group", "install", bundle, "--state", b.state)
	intruder.mustIpopd("group", "create", "--name", "other", "--subnet", overlay, "--node-name", "evil", "--state", intruder.state)
	w.startAll()
	a.host.WaitPing(t, b.lanIP, 15*time.Second)

	intruder.waitLog("handshake", 15*time.Second)
	a.waitLog("handshake failed", 15*time.Second)
	if out, err := intruder.host.Exec("ping", "-c", "3", "-W", "1", a.lanIP); err == nil {
		t.Fatalf("intruder's LAN reached a's LAN:\n%s", out)
	}
	for _, s := range []*site{a, b} {
		if strings.Contains(s.proc.Log(), "node=evil") && strings.Contains(s.proc.Log(), "peer session up") {
			t.Fatalf("%s brought up a session with the intruder:\n%s", s.name, s.proc.Log())
		}
	}
	t.Logf("a says: %s", grep(a.proc.Log(), "handshake failed"))
	t.Logf("intruder says: %s", grep(intruder.proc.Log(), "handshake"))
}

// TestRestartMidTransfer: router b's daemon restarts during a TCP
// transfer; the link comes back by itself within 10 s and the transfer
// completes.
func TestRestartMidTransfer(t *testing.T) {
	w := newWorld(t)
	a, b := w.addSite(), w.addSite()
	w.provision()
	w.startAll()
	a.host.WaitPing(t, b.lanIP, 15*time.Second)

	b.host.Start("iperf3-server", "iperf3", "-s", "-1")
	time.Sleep(300 * time.Millisecond)
	client := a.host.Start("iperf3-client", "iperf3", "-c", b.lanIP, "-t", "25", "--connect-timeout", "3000")
	time.Sleep(4 * time.Second)

	if err := b.proc.Signal(syscall.SIGKILL); err != nil { // a crash: no goodbye
		t.Fatal(err)
	}
	_ = b.proc.Wait()
	start := time.Now()
	b.start()
	a.host.WaitPing(t, b.lanIP, 10*time.Second)
	back := time.Since(start)
	t.Logf("link back %v after the restart", back.Round(100*time.Millisecond))
	if back > 10*time.Second {
		t.Fatalf("link took %v to come back, want <= 10s", back)
	}
	if err := client.Wait(); err != nil {
		t.Fatalf("iperf3 across the restart failed: %v\n%s", err, client.Log())
	}
	if !strings.Contains(client.Log(), "iperf Done") {
		t.Fatalf("iperf3 did not finish:\n%s", client.Log())
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func grep(s, what string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, what) {
			out = append(out, l)
		}
	}
	return fmt.Sprint(strings.Join(out, "\n"))
}

// counter reads one of a site's status counters over its control socket.
func counter(t *testing.T, s *site, name string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var st control.Status
	if err := control.Call(ctx, s.socket(), "status", nil, &st); err != nil {
		t.Fatalf("%s: status: %v", s.name, err)
	}
	v, ok := st.Counters[name]
	if !ok {
		t.Fatalf("%s: no counter %q", s.name, name)
	}
	return v
}
