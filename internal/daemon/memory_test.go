package daemon

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/group"
	"github.com/ipopd/ipopd/internal/netlab"
	"github.com/ipopd/ipopd/uci/ipopconf"
)

// Memory per linked peer on a lighthouse (issue 11: at most 32 KiB of
// resident memory a peer, a lighthouse of 1000 members within 48 MiB).
// TestPeerMemory runs a lighthouse daemon in the test process, on a real
// loopback socket and a fake TAP, and links memPeers members to it from
// a child process (internal/testtools/manypeers), so that only the
// daemon's side counts. It measures what the peers added: resident memory
// as the daemon holds it (what a router pays), and the Go heap and stacks
// after a full collection (what is live).

const (
	// memPeers: enough peers that the per-peer figure stands above the
	// noise of a test process (a few hundred KiB), in about ten seconds.
	memPeers = 200
	// memRSSBudget is the most resident memory one linked peer may add to
	// the lighthouse: issue 11's goal. Measured 24-26 KiB here, 2 s after
	// the last handshake and before trimLoop's first pass; 31-35 KiB
	// before issue 11's second round. (On a real daemon with 1000 members,
	// TestBenchLighthouse: 11 KiB.)
	memRSSBudget = 32 << 10
	// memHeapBudget bounds the heap spans and stacks per peer after a full
	// collection: measured 13-14.5 KiB, 18-20 KiB before (a parsed
	// certificate and a reassembler per session).
	memHeapBudget = 17 << 10
	// memLiveBudget bounds the live objects per peer: measured 6.5 KiB.
	// A parsed certificate kept again would break it.
	memLiveBudget = 8 << 10
	// memPeersUp bounds the wait for every member's link.
	memPeersUp = 2 * time.Minute
)

func TestPeerMemory(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes what memory costs")
	}
	if testing.Short() {
		t.Skip("links hundreds of members from a child process")
	}
	n := memPeers
	if os.Getenv("IPOP_MEM_PROFILE") != "" {
		runtime.MemProfileRate = 512
	}
	if s := os.Getenv("IPOP_MEM_PEERS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			t.Fatalf("IPOP_MEM_PEERS=%q", s)
		}
	}
	tool := netlab.BuildTool(t, "github.com/ipopd/ipopd/internal/testtools/manypeers")
	dir := t.TempDir()
	now := time.Now()
	owner, err := group.Create(filepath.Join(dir, "hub"), group.CreateOptions{Name: "mem", NodeName: "hub", Now: now, LocalPrefixes: noPrefixes})
	if err != nil {
		t.Fatal(err)
	}
	bundles := filepath.Join(dir, "bundles")
	if err := os.Mkdir(bundles, 0o700); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		b, err := owner.Issue(fmt.Sprintf("m%04d", i), netip.Addr{}, now)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bundles, fmt.Sprintf("m%04d", i)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	owner = nil

	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	cfg := ipopconf.Default()
	cfg.ControlSocket, cfg.UbusSocket = "", ""
	cfg.Lighthouse = true
	d, err := New(Options{Config: cfg, StateDir: filepath.Join(dir, "hub"), Version: "test",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Conn: conn, Device: newFakeDevice()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, nil) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	for d.member() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Second)
	debug.FreeOSMemory() // what issuing the bundles left is not the daemon's
	rssBefore := vmRSS(t)
	before := liveMem()

	cctx, ccancel := context.WithTimeout(context.Background(), memPeersUp)
	defer ccancel()
	cmd := exec.CommandContext(cctx, tool, "-bundles", bundles, "-hub", conn.LocalAddr().String(), "-stdin")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close() // the members leave and the tool exits
		_ = cmd.Wait()
	}()
	up := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "up ") {
				up <- nil
				_, _ = io.Copy(io.Discard, stdout)
				return
			}
		}
		up <- fmt.Errorf("manypeers ended before its members were up")
	}()
	select {
	case err := <-up:
		if err != nil {
			t.Fatal(err)
		}
	case <-cctx.Done():
		t.Fatal("members not up in time")
	}
	tr := d.member().tr
	for deadline := time.Now().Add(30 * time.Second); len(tr.UpPeers()) < n; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d peers up on the lighthouse", len(tr.UpPeers()), n)
		}
	}
	// As TestBenchPeers measures a daemon: settled, not collected by hand.
	time.Sleep(2 * time.Second)
	rss := vmRSS(t) - rssBefore
	after := liveMem()
	live := after.sub(before)
	if p := os.Getenv("IPOP_MEM_PROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if got := len(tr.UpPeers()); got != n {
		t.Fatalf("%d of %d peers still up after the measurement", got, n)
	}
	perRSS, perHeap, perLive := float64(rss)/float64(n), float64(live.total())/float64(n), float64(live.heapAlloc)/float64(n)
	kib := func(v int64) float64 { return float64(v) / float64(n) / 1024 }
	t.Logf("lighthouse with %d peers: %.1f KiB resident per peer, %.1f KiB heap and stacks per peer after a collection (heap in use %.1f KiB, live objects %.1f KiB, stacks %.1f KiB, goroutines %.2f per peer)",
		n, perRSS/1024, perHeap/1024, kib(live.heapInuse), kib(live.heapAlloc), kib(live.stack), float64(live.goroutines)/float64(n))
	if perRSS > memRSSBudget {
		t.Errorf("one peer costs the lighthouse %.1f KiB resident, budget %d KiB", perRSS/1024, memRSSBudget>>10)
	}
	if perHeap > memHeapBudget {
		t.Errorf("one peer holds %.1f KiB of heap and stacks, budget %d KiB", perHeap/1024, memHeapBudget>>10)
	}
	if perLive > memLiveBudget {
		t.Errorf("one peer holds %.1f KiB of live objects, budget %d KiB", perLive/1024, memLiveBudget>>10)
	}
}

// memSample is the runtime's account of the heap and stacks after a
// full collection.
type memSample struct{ heapInuse, heapAlloc, stack, goroutines int64 }

func (m memSample) total() int64 { return m.heapInuse + m.stack }

func (m memSample) sub(o memSample) memSample {
	return memSample{m.heapInuse - o.heapInuse, m.heapAlloc - o.heapAlloc, m.stack - o.stack, m.goroutines - o.goroutines}
}

// liveMem collects garbage and returns the heap and stacks in use.
func liveMem() memSample {
	for range 2 {
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSample{int64(ms.HeapInuse), int64(ms.HeapAlloc), int64(ms.StackInuse), int64(runtime.NumGoroutine())}
}

// vmRSS returns this process's resident memory in bytes.
func vmRSS(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}
