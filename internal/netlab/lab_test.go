package netlab

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestTwoHostsPing(t *testing.T) {
	lab := New(t)
	a, b := lab.Host("a"), lab.Host("b")
	lab.Link(a, "eth0", b, "eth1")
	a.Addr("eth0", "10.0.0.1/24")
	b.Addr("eth1", "10.0.0.2/24")
	a.Addr("eth0", "10.0.0.1/24") // idempotent
	a.Addr("eth0", "fd00:1::1/64")
	b.Addr("eth1", "fd00:1::2/64")

	a.WaitPing(t, "10.0.0.2", 5*time.Second)
	a.WaitPing(t, "fd00:1::2", 5*time.Second)
	b.WaitPing(t, a.LinkLocal("eth0")+"%eth1", 5*time.Second)

	mac := a.MAC("eth0")
	if len(mac) != 17 || strings.Count(mac, ":") != 5 {
		t.Errorf("MAC = %q", mac)
	}
	if !strings.HasPrefix(a.Name(), "ipl") || !strings.HasSuffix(a.Name(), "-a") {
		t.Errorf("Name = %q", a.Name())
	}
	if got := a.MustExec(t, "cat", "/proc/sys/net/ipv6/conf/eth0/accept_dad"); strings.TrimSpace(got) != "0" {
		t.Errorf("accept_dad on a moved veth = %q, want 0", got)
	}
	if got := a.MustExec(t, "cat", "/proc/sys/net/ipv4/ip_forward"); strings.TrimSpace(got) != "0" {
		t.Errorf("ip_forward on a host = %q, want 0", got)
	}
}

func TestRoutedPathBehindBridges(t *testing.T) {
	lab := New(t)
	h1, r1, r2, h2 := lab.Host("h1"), lab.Router("r1"), lab.Router("r2"), lab.Host("h2")
	lab.Link(h1, "eth0", r1, "lan0")
	lab.Link(r1, "wan0", r2, "wan0")
	lab.Link(r2, "lan0", h2, "eth0")
	for _, r := range []*Host{r1, r2} {
		r.Bridge("br-lan", "lan0")
		r.Bridge("br-lan", "lan0") // reconfiguring is harmless
	}
	r1.Addr("br-lan", "10.1.0.1/24")
	r1.Addr("br-lan", "fd00:a1::1/64")
	r2.Addr("br-lan", "10.2.0.1/24")
	r2.Addr("br-lan", "fd00:a2::1/64")
	r1.Addr("wan0", "172.16.0.1/30")
	r2.Addr("wan0", "172.16.0.2/30")
	r1.Addr("wan0", "fd00:f::1/64")
	r2.Addr("wan0", "fd00:f::2/64")
	r1.Route("10.2.0.0/24", "via", "172.16.0.2")
	r1.Route("add", "10.2.0.0/24", "via", "172.16.0.2") // "add" is made idempotent
	r2.Route("10.2.0.0/24", "dev", "br-lan")            // replacing the connected route is harmless
	r2.Route("10.1.0.0/24", "via", "172.16.0.1")
	r1.Route("fd00:a2::/64", "via", "fd00:f::2")
	r2.Route("fd00:a1::/64", "via", "fd00:f::1")
	h1.Addr("eth0", "10.1.0.2/24")
	h1.Addr("eth0", "fd00:a1::2/64")
	h2.Addr("eth0", "10.2.0.2/24")
	h2.Addr("eth0", "fd00:a2::2/64")
	h1.Route("default", "via", "10.1.0.1")
	h1.Route("default", "via", "fd00:a1::1")
	h2.Route("default", "via", "10.2.0.1")
	h2.Route("default", "via", "fd00:a2::1")

	h1.WaitPing(t, "10.2.0.2", 5*time.Second)
	h1.WaitPing(t, "fd00:a2::2", 5*time.Second)

	out := r1.MustExec(t, "ip", "-d", "link", "show", "dev", "br-lan")
	for _, want := range []string{"stp_state 0", "forward_delay 0", "mcast_snooping 0"} {
		if !strings.Contains(out, want) {
			t.Errorf("bridge lacks %q:\n%s", want, out)
		}
	}
	if got := r1.MustExec(t, "cat", "/proc/sys/net/ipv4/ip_forward"); strings.TrimSpace(got) != "1" {
		t.Errorf("ip_forward on a router = %q", got)
	}
}

func TestExecErrors(t *testing.T) {
	lab := New(t)
	h := lab.Host("h")
	_, err := h.Exec("sh", "-c", "echo some output; exit 3")
	if !errors.Is(err, ErrCommand) || !strings.Contains(err.Error(), "some output") || !strings.Contains(err.Error(), `sh -c "echo some output; exit 3"`) {
		t.Fatalf("error %v should name the command and carry its output", err)
	}
	if _, err := h.Exec(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty Exec: %v", err)
	}
	if out := h.MustExec(t, "sh", "-c", "echo hi >&2"); out != "hi\n" {
		t.Fatalf("stderr not captured: %q", out)
	}
}

func TestProcLifecycle(t *testing.T) {
	lab := New(t)
	h := lab.Host("h")

	p := h.Start("graceful", "sh", "-c", `trap 'echo bye; exit 0' TERM; echo hello; while :; do sleep 0.05; done`)
	p.WaitLog(t, "hello", 5*time.Second)
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop of a process that exits 0 on SIGTERM: %v", err)
	}
	if !strings.Contains(p.Log(), "bye") {
		t.Fatalf("log %q lacks the SIGTERM handler's output", p.Log())
	}
	if err := p.Signal(syscall.SIGTERM); !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("Signal after exit: %v", err)
	}

	q := h.Start("exit3", "sh", "-c", "exit 3")
	var ee *exec.ExitError
	if err := q.Wait(); !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("Wait = %v, want exit status 3", err)
	}

	start := time.Now()
	stubborn := h.Start("stubborn", "sh", "-c", `trap '' TERM; echo up; while :; do sleep 0.05; done`)
	stubborn.WaitLog(t, "up", 5*time.Second)
	err := stubborn.Stop()
	if err == nil || !strings.Contains(err.Error(), "ignored SIGTERM") {
		t.Fatalf("Stop of a SIGTERM-ignoring process: %v", err)
	}
	if d := time.Since(start); d < stopGrace {
		t.Fatalf("killed after %v, before the %v grace period", d, stopGrace)
	}
}

// TestCleanupRemovesEverything runs a lab in a subtest and checks that its
// namespaces and processes are gone once the subtest's cleanups ran.
func TestCleanupRemovesEverything(t *testing.T) {
	var prefix string
	var pids []int
	t.Run("lab", func(t *testing.T) {
		lab := New(t)
		a, b := lab.Host("a"), lab.Router("b")
		lab.Link(a, "eth0", b, "eth0")
		b.Bridge("br0", "eth0")
		p := a.Start("sleeper", "sleep", "1000")
		pids = append(pids, p.Pid())
		// A process the lab did not start itself, detached from Exec.
		out := b.MustExec(t, "sh", "-c", "sleep 1000 >/dev/null 2>&1 & echo $!")
		pid, err := strconv.Atoi(strings.TrimSpace(out))
		if err != nil {
			t.Fatalf("background pid %q: %v", out, err)
		}
		pids = append(pids, pid)
		prefix = nsName(lab.pid, lab.seq, "")
	})
	out, err := runTimeout(setupTimeout, "ip", "netns", "list")
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range parseNetnsList(out) {
		if strings.HasPrefix(ns, prefix) {
			t.Errorf("namespace %s survived the lab's cleanup", ns)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for _, pid := range pids {
		for !processGone(pid) {
			if time.Now().After(deadline) {
				t.Errorf("process %d survived the lab's cleanup", pid)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestSweepStale(t *testing.T) {
	New(t) // skip unless root; also runs the once-per-process sweep
	// A pid that just died: a reaped child.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := nsName(cmd.Process.Pid, 1, "sweep")
	alive := nsName(os.Getpid(), 1<<30, "sweep") // our pid, a lab number no New hands out
	foreign := "iplnotours-sweep"
	for _, ns := range []string{dead, alive, foreign} {
		if _, err := runTimeout(setupTimeout, "ip", "netns", "add", ns); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, ns := range []string{dead, alive, foreign} {
			if nsExists(ns) {
				_, _ = runTimeout(setupTimeout, "ip", "netns", "del", ns)
			}
		}
	})
	if _, err := SweepStale(); err != nil {
		t.Fatalf("SweepStale: %v", err)
	}
	if nsExists(dead) {
		t.Errorf("namespace %s of a dead pid survived the sweep", dead)
	}
	if !nsExists(alive) {
		t.Errorf("namespace %s of a live pid was swept", alive)
	}
	if !nsExists(foreign) {
		t.Errorf("foreign namespace %s was swept", foreign)
	}
}

// processGone reports whether pid has exited: no such process, or a zombie
// waiting for init to reap it.
func processGone(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && (s[i+2] == 'Z' || s[i+2] == 'X')
}
