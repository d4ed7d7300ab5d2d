package e2e

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/group"
)

// invite runs 'ipopd invite' on the owner and returns the token.
func (s *site) invite(t *testing.T, args ...string) string {
	t.Helper()
	out := s.mustIpopd(append([]string{"invite", "-c", s.config, "--state", s.state, "--endpoint", s.wanIP + ":" + port}, args...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	tok := strings.TrimSpace(lines[len(lines)-1])
	if !strings.HasPrefix(tok, "ipop1") {
		t.Fatalf("invite printed no token:\n%s", out)
	}
	return tok
}

// startUnconfigured starts a daemon with no group and no endpoints: it
// waits for a join.
func (s *site) startUnconfigured() {
	s.w.t.Helper()
	s.writeConfigWith(nil)
	s.proc = s.router.Start("ipopd", s.w.ipopd, "run", "-c", s.config, "--state", s.state)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(s.socket()); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.w.t.Fatalf("%s: control socket did not appear:\n%s", s.name, s.proc.Log())
}

func (s *site) join(tok string) (string, error) {
	return s.ipopd("join", tok, "-c", s.config, "--state", s.state, "--name", s.name)
}

// TestInviteJoinRevoke: the owner invites two routers, both join with
// their tokens through the running daemons, every LAN reaches every other,
// bad tokens are refused with a clear message and no state change, and a
// revoked member loses its links and cannot come back.
func TestInviteJoinRevoke(t *testing.T) {
	w := newWorld(t)
	owner, b, c := w.addSite(), w.addSite(), w.addSite()
	owner.mustIpopd("group", "create", "--name", groupArg, "--subnet", overlay, "--node-name", owner.name, "--state", owner.state)
	// The owner is also the lighthouse: b and c find each other through it.
	owner.options["lighthouse"] = "1"
	owner.writeConfigWith(nil)
	owner.proc = owner.router.Start("ipopd", w.ipopd, "run", "-c", owner.config, "--state", owner.state)
	owner.waitLog("member running", 5*time.Second)
	b.startUnconfigured()
	c.startUnconfigured()

	tokB := owner.invite(t, "--name", "for-b")
	tokC := owner.invite(t, "--name", "for-c")

	// A typo is reported as a typo, before any network traffic.
	typo := []byte(tokB)
	typo[len(typo)/2] ^= 0x01
	if out, err := b.join(string(typo)); err == nil || !strings.Contains(out, "typo") {
		t.Fatalf("join with a typo: %v\n%s", err, out)
	}
	// The name in the invite wins over the name b proposes.
	if out, err := b.join(tokB); err != nil || !strings.Contains(out, `as "for-b"`) {
		t.Fatalf("b join: %v\n%s\n%s", err, out, owner.proc.Log())
	}
	// The token is single use: c cannot use b's.
	if out, err := c.join(tokB); err == nil || !strings.Contains(strings.ToLower(out), "used") {
		t.Fatalf("reused token: %v\n%s", err, out)
	}
	if _, err := os.Stat(c.state + "/node.key"); err == nil {
		t.Fatal("a refused join left a key behind")
	}
	if out, err := c.join(tokC); err != nil {
		t.Fatalf("c join: %v\n%s", err, out)
	}
	owner.host.WaitPing(t, b.lanIP, 15*time.Second)
	owner.host.WaitPing(t, c.lanIP, 15*time.Second)
	b.host.WaitPing(t, c.lanIP, 15*time.Second)

	// Addresses distinct.
	addrB := b.mustIpopd("group", "show", "--state", b.state)
	addrC := c.mustIpopd("group", "show", "--state", c.state)
	if lineOf(addrB, "address") == lineOf(addrC, "address") {
		t.Fatalf("same address:\n%s\n%s", addrB, addrC)
	}

	// Revoke c: every member drops it within 10 s; it cannot come back.
	owner.mustIpopd("revoke", "for-c", "-c", owner.config, "--state", owner.state)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err1 := owner.host.Ping(c.lanIP, 1)
		_, err2 := b.host.Ping(c.lanIP, 1)
		if err1 != nil && err2 != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revoked member still reachable after 10 s")
		}
	}
	c.stop()
	c.proc = c.router.Start("ipopd", w.ipopd, "run", "-c", c.config, "--state", c.state)
	time.Sleep(5 * time.Second)
	if out, err := c.host.Ping(owner.lanIP, 2); err == nil {
		t.Fatalf("revoked member came back after a restart:\n%s", out)
	}
	// Owner restart: the revocation list and the allocations survive.
	owner.stop()
	owner.proc = owner.router.Start("ipopd", w.ipopd, "run", "-c", owner.config, "--state", owner.state)
	owner.host.WaitPing(t, b.lanIP, 15*time.Second)
	time.Sleep(3 * time.Second)
	if out, err := c.host.Ping(owner.lanIP, 2); err == nil {
		t.Fatalf("revoked member came back after the owner restarted:\n%s", out)
	}
}

// TestJoinWhileOwnerDown: a join while the owner is unreachable says so
// and changes nothing; retried once the owner is back, it works.
func TestJoinWhileOwnerDown(t *testing.T) {
	w := newWorld(t)
	owner, b := w.addSite(), w.addSite()
	owner.mustIpopd("group", "create", "--name", groupArg, "--subnet", overlay, "--node-name", owner.name, "--state", owner.state)
	owner.writeConfigWith(nil)
	tok := owner.invite(t, "--ttl", "1h")
	b.startUnconfigured()
	out, err := b.join(tok)
	if err == nil || !strings.Contains(out, "reach") {
		t.Fatalf("join with the owner down: %v\n%s", err, out)
	}
	if _, err := os.Stat(b.state + "/node.key"); err == nil {
		t.Fatal("failed join left state behind")
	}
	owner.proc = owner.router.Start("ipopd", w.ipopd, "run", "-c", owner.config, "--state", owner.state)
	owner.waitLog("member running", 5*time.Second)
	if out, err := b.join(tok); err != nil {
		t.Fatalf("retried join: %v\n%s", err, out)
	}
	owner.host.WaitPing(t, b.lanIP, 15*time.Second)

	// A second router with b's host name joins too, with a suffix.
	twin := w.addSite()
	twin.startUnconfigured()
	out, err = twin.ipopd("join", owner.invite(t), "-c", twin.config, "--state", twin.state, "--name", b.name)
	if want := `as "` + b.name + `-2"`; err != nil || !strings.Contains(out, want) {
		t.Fatalf("join of a second %q: %v, want %s in\n%s", b.name, err, want, out)
	}

	// An expired token is refused.
	short := owner.invite(t, "--ttl", "1s")
	time.Sleep(1500 * time.Millisecond)
	other := w.addSite()
	other.startUnconfigured()
	if out, err := other.join(short); err == nil || !strings.Contains(strings.ToLower(out), "expired") {
		t.Fatalf("expired token: %v\n%s", err, out)
	}
	// A token of another group whose bootstrap endpoint is this group's
	// owner: the owner's CA is not the one the token names.
	foreign := w.addSite()
	foreign.mustIpopd("group", "create", "--name", "other", "--subnet", "10.88.0.0/16", "--node-name", "x", "--state", foreign.state)
	foreignTok := foreign.invite(t)
	if out, err := other.join(retarget(t, foreignTok, owner.wanIP+":"+port)); err == nil || !strings.Contains(out, "not of the invited group") {
		t.Fatalf("token of another group: %v\n%s", err, out)
	}
	if _, err := os.Stat(other.state + "/node.key"); err == nil {
		t.Fatal("a refused join left state behind")
	}
}

// retarget rewrites a token's bootstrap endpoint (as a confused user's
// copy-paste of another group's token with this owner's address would).
func retarget(t *testing.T, tok, endpoint string) string {
	t.Helper()
	tk, err := group.DecodeToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	tk.Endpoints = []string{endpoint}
	return tk.Encode()
}

func lineOf(s, key string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), key) {
			return l
		}
	}
	return ""
}
