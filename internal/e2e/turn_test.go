package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/netlab"
)

// TestTURN: with the lighthouse's relay turned off, two members behind
// symmetric NATs (which hole punching cannot join) still reach each other,
// through a real TURN server (coturn) configured in UCI.
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
	a, b := w.addNATSite(netlab.Symmetric), w.addNATSite(netlab.Symmetric)
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
	for _, s := range []*site{a, b} {
		s.options["turn_server"] = turnIP + ":3478"
		s.options["turn_username"] = "ipop"
		s.options["turn_password"] = "s3cret"
		s.writeConfigWith(eps)
		s.proc = s.router.Start("ipopd", w.ipopd, "run", "-c", s.config, "--state", s.state)
	}
	a.waitLog("TURN relayed address allocated", 15*time.Second)
	b.waitLog("TURN relayed address allocated", 15*time.Second)
	a.host.WaitPing(t, b.lanIP, 45*time.Second)
	pa, pb := a.peerPath(t, b.name), b.peerPath(t, a.name)
	t.Logf("paths: %s sees %s %q, %s sees %s %q", a.name, b.name, pa, b.name, a.name, pb)
	if !strings.HasPrefix(pa, "TURN") && !strings.HasPrefix(pb, "TURN") {
		t.Fatalf("neither side goes through TURN: %q / %q", pa, pb)
	}
	if out, err := a.host.Exec("ping", "-c", "5", "-i", "0.2", "-M", "do", "-s", "1472", b.lanIP); err != nil {
		t.Fatalf("full-size frames through TURN: %v\n%s", err, out)
	}
	for _, s := range []*site{a, b} {
		if strings.Contains(s.proc.Log(), "s3cret") {
			t.Fatalf("%s logged the TURN password", s.name)
		}
	}
}
