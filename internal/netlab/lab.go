package netlab

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// labSeq numbers the Labs of this process; the number is the <lab> part of
// namespace names, so parallel tests in one binary never collide.
var labSeq atomic.Int64

// sweepOnce runs SweepStale before the first Lab of the process.
var sweepOnce sync.Once

// Lab is one test's set of namespaces and processes. Create it with New;
// t.Cleanup tears it down.
type Lab struct {
	t   testing.TB
	pid int
	seq int
	dir string // per-test directory for process logs and scratch files

	// mu guards the fields below.
	mu     sync.Mutex
	hosts  []*Host
	procs  []*Proc
	impSeq int // numbers impairer namespaces
	closed bool
}

// New returns an empty Lab whose namespaces and processes are removed when
// the test ends. It skips the test unless it runs as root with ip(8)
// available, and sweeps namespaces orphaned by dead test binaries once per
// process.
func New(t testing.TB) *Lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs root: network namespaces (ip command not found)")
	}
	sweepOnce.Do(func() {
		if _, err := SweepStale(); err != nil {
			t.Logf("netlab: sweeping stale namespaces: %v", err)
		}
	})
	l := &Lab{
		t:   t,
		pid: os.Getpid(),
		seq: int(labSeq.Add(1)),
		// TempDir is created before the cleanup is registered, so it is
		// removed after the processes writing into it have been killed.
		dir: t.TempDir(),
	}
	t.Cleanup(l.cleanup)
	return l
}

// Dir returns a directory owned by the test for logs and scratch files.
func (l *Lab) Dir() string { return l.dir }

func (l *Lab) fatalf(format string, args ...any) {
	l.t.Helper()
	l.t.Fatalf("netlab: "+format, args...)
}

// Host creates a namespace for the logical host name: loopback up, IPv6
// duplicate address detection off (addresses usable at once), forwarding
// off, reverse-path filtering off (lab paths are often asymmetric).
func (l *Lab) Host(name string) *Host {
	l.t.Helper()
	if err := checkHostName(name); err != nil {
		l.fatalf("%v", err)
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		l.fatalf("Host(%q): lab already cleaned up", name)
	}
	for _, h := range l.hosts {
		if h.name == name {
			l.mu.Unlock()
			l.fatalf("Host(%q): a host with this name already exists in the lab", name)
		}
	}
	h := &Host{lab: l, name: name, ns: nsName(l.pid, l.seq, name)}
	// Reserve the name before creating the namespace, so that a parallel
	// Host call with the same name fails on the check above.
	l.hosts = append(l.hosts, h)
	l.mu.Unlock()

	if _, err := runTimeout(setupTimeout, "ip", "netns", "add", h.ns); err != nil {
		l.mu.Lock()
		l.hosts = slices.DeleteFunc(l.hosts, func(x *Host) bool { return x == h })
		l.mu.Unlock()
		l.fatalf("Host(%q): %v", name, err)
	}

	h.mustIP("link", "set", "lo", "up")
	// IPv4 conf is inherited from the root namespace: reset what differs
	// between machines so that every lab behaves the same.
	h.sysctls(
		"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
		"net.ipv4.ip_forward=0", "net.ipv6.conf.all.forwarding=0",
		"net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
	)
	return h
}

// Router is Host with IPv4 and IPv6 forwarding on.
func (l *Lab) Router(name string) *Host {
	l.t.Helper()
	h := l.Host(name)
	h.Forwarding(true)
	return h
}

// Hosts returns the lab's hosts in creation order.
func (l *Lab) Hosts() []*Host {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*Host(nil), l.hosts...)
}

// cleanup stops every process, prints their logs when the test failed and
// deletes every namespace, killing processes still inside.
func (l *Lab) cleanup() {
	l.mu.Lock()
	l.closed = true
	procs, hosts := l.procs, l.hosts
	l.mu.Unlock()

	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].terminate()
	}
	if l.t.Failed() {
		for _, p := range procs {
			l.t.Logf("netlab: log of %s (exit: %v):\n%s", p, p.exitErr(), tail(p.Log(), logTailLines))
		}
	}
	// Namespaces go in parallel: a lab of hundreds (Star) would otherwise
	// take minutes of ip(8) runs one after the other.
	var wg sync.WaitGroup
	sem := make(chan struct{}, starWorkers)
	for i := len(hosts) - 1; i >= 0; i-- {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := deleteNS(hosts[i].ns); err != nil {
				l.t.Errorf("netlab: cleanup: %v", err)
			}
		}()
	}
	wg.Wait()
}

// logTailLines is how much of each process log a failed test prints: enough
// for a daemon's last state changes without drowning the test output.
const logTailLines = 60

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d lines skipped)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// deleteNS kills every process left in namespace ns and deletes it. The
// processes are ours: only a process inside one of our namespaces is listed.
func deleteNS(ns string) error {
	out, err := runTimeout(setupTimeout, "ip", "netns", "pids", ns)
	if err != nil {
		return err
	}
	for _, f := range strings.Fields(out) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 1 && pid != os.Getpid() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	_, err = runTimeout(setupTimeout, "ip", "netns", "del", ns)
	return err
}
