package e2e

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/netlab"
)

// make bench's end-to-end half: ipopd against wireguard-go, nebula and the
// bare underlay, between the same two router namespaces, one contender at
// a time, three interleaved repetitions, medians reported.

const (
	// benchReps: repetitions of the whole round of contenders. Interleaving
	// spreads the drift of a shared machine over every contender alike.
	benchReps = 3
	// idleSettle: how long a freshly linked tunnel sits idle before its
	// daemons' RSS counts as idle RSS.
	idleSettle = 2 * time.Second
	// linkUpTimeout bounds the wait for a tunnel to carry its first ping:
	// ipopd's DTLS handshake plus ARP through the overlay, nebula's and
	// WireGuard's handshakes, all on a loaded 2-core machine.
	linkUpTimeout = 20 * time.Second
	// stopTimeout bounds the wait for a stopped daemon's interface to go.
	stopTimeout = 3 * time.Second
	// finishReserve is kept free before the test binary's deadline for the
	// report and the cleanups (TestBenchPeers, in an earlier file, has run).
	finishReserve = 30 * time.Second
)

// Row names of the table, in print order.
const (
	rowRaw      = "raw veth (ceiling)"
	rowIpopd    = "ipopd"
	rowIpopdLAN = "ipopd LAN host to LAN host"
	rowWG       = "wireguard-go"
	rowNebula   = "nebula"
	rowNebulaLB = "nebula, large buffers"
)

// TestBenchThroughput prints the comparison table of issue 8 (IPOP_BENCH=1):
// TCP throughput both ways and with 4 streams, CPU seconds per GB, 64-byte
// UDP packet rate, idle and peak RSS and added round-trip time for each
// contender, then ipopd's ratios to the peers and the goals.
func TestBenchThroughput(t *testing.T) {
	if os.Getenv("IPOP_BENCH") == "" {
		t.Skip("benchmark: run with IPOP_BENCH=1 (make bench)")
	}
	for _, c := range []string{"iperf3", "ping"} {
		if !netlab.HasCommand(c) {
			t.Skipf("needs %s", c)
		}
	}
	bn := newBenchNet(t)
	contenders := bn.contenders()
	rows := map[string]*benchRow{}
	var order []*benchRow
	for _, name := range []string{rowRaw, rowIpopd, rowIpopdLAN, rowWG, rowNebula, rowNebulaLB} {
		r := &benchRow{name: name}
		rows[name] = r
		order = append(order, r)
	}
	for _, c := range contenders {
		rows[c.row].note = c.note
	}

	var baseRTTs []float64
	reps := 0
	var repTime time.Duration
	for rep := 1; rep <= benchReps; rep++ {
		if dl, ok := t.Deadline(); ok && rep > 1 && time.Until(dl) < repTime*5/4+finishReserve {
			t.Logf("bench: stopping after %d repetitions: the test deadline is %v away", reps, time.Until(dl).Round(time.Second))
			break
		}
		start := time.Now()
		baseRTT := math.NaN()
		for _, c := range contenders {
			if c.note != "" {
				continue
			}
			t.Logf("bench: repetition %d: %s (%v into the repetition)", rep, c.row, time.Since(start).Round(time.Second))
			if err := bn.runContender(c, rows, &baseRTT); err != nil {
				t.Errorf("bench: repetition %d, %s: %v", rep, c.row, err)
				c.note = "failed, see the test log"
				rows[c.row].note = c.note
				if c.lanRow != "" {
					rows[c.lanRow].note = c.note
				}
			}
		}
		if !math.IsNaN(baseRTT) {
			baseRTTs = append(baseRTTs, baseRTT)
		}
		reps++
		repTime = time.Since(start)
	}

	report := renderReport(order, rows, baseRTTs, reps)
	t.Log("\n" + report)
	if err := writeBenchOut(report); err != nil {
		t.Error(err)
	}
}

// benchNet is the world of two sites the contenders share: routers r1, r2
// on one switch (wan 172.31.0.1, .2), each with a LAN host behind br-lan.
type benchNet struct {
	t    *testing.T
	w    *world
	a, b *site
	dir  string // keys and configs of the peer VPNs
}

func newBenchNet(t *testing.T) *benchNet {
	t.Helper()
	w := newWorld(t)
	bn := &benchNet{t: t, w: w, dir: t.TempDir()}
	bn.a, bn.b = w.addSite(), w.addSite()
	for _, s := range []*site{bn.a, bn.b} {
		s.options["log_level"] = "info"
		s.options["keepalive"] = "5"
	}
	w.provision()
	// The routers' own overlay addresses: router-to-router traffic then
	// crosses ipopd's TAP just as it crosses the peers' TUNs.
	for _, s := range []*site{bn.a, bn.b} {
		s.router.Addr("br-lan", routerOverlayIP(s)+"/16")
	}
	return bn
}

// routerOverlayIP is router s's own address in the overlay subnet, on br-lan.
func routerOverlayIP(s *site) string { return fmt.Sprintf("%s%d.1", lanPfx, s.n) }

// contender is one row (or two) of the table.
type contender struct {
	row    string
	daemon bool   // has tunnel daemons: CPU and RSS columns
	lanRow string // extra 1-stream row measured LAN host to LAN host
	start  func() (*tunnel, error)
	note   string // why it does not run; set before the first or after a failed repetition
}

// contenders lists the contenders in the order each repetition runs them.
// The raw underlay goes first: its ping is the base of the added RTTs.
func (bn *benchNet) contenders() []*contender {
	cs := []*contender{
		{row: rowRaw, start: func() (*tunnel, error) { return &tunnel{addr: bn.b.wanIP}, nil }},
		{row: rowIpopd, daemon: true, lanRow: rowIpopdLAN, start: bn.startIpopd},
	}
	dir, dirErr := benchToolsDir()
	tool := func(bt benchTool) (string, string) {
		if dirErr != nil {
			return "", "not installed: " + dirErr.Error()
		}
		exe, err := bt.ensure(dir)
		if err != nil {
			bn.t.Logf("%v", err)
			return "", fmt.Sprintf("not installed (go install %s@%s failed, see the log)", bt.bin, bt.version)
		}
		return exe, ""
	}
	wg, wgNote := tool(wireguardGo)
	cs = append(cs, &contender{row: rowWG, daemon: true, note: wgNote,
		start: func() (*tunnel, error) { return bn.startWireguard(wg) }})
	neb, nebNote := tool(nebulaTool)
	cert, certNote := tool(nebulaCert)
	if nebNote == "" {
		nebNote = certNote
	}
	if nebNote == "" {
		if err := makeNebulaPKI(cert, bn.dir); err != nil {
			bn.t.Errorf("%v", err)
			nebNote = "no certificates (see the log)"
		}
	}
	cs = append(cs,
		&contender{row: rowNebula, daemon: true, note: nebNote,
			start: func() (*tunnel, error) { return bn.startNebula(neb, false) }},
		&contender{row: rowNebulaLB, daemon: true, note: nebNote,
			start: func() (*tunnel, error) { return bn.startNebula(neb, true) }},
	)
	return cs
}

// runContender brings c's tunnel up, measures every column, stops it and
// checks that its daemons and interfaces are gone. The raw underlay's
// average ping sets *baseRTT.
func (bn *benchNet) runContender(c *contender, rows map[string]*benchRow, baseRTT *float64) error {
	tn, err := c.start()
	if err != nil {
		return err
	}
	row := rows[c.row]
	if err := bn.measure(tn, row, c.daemon, baseRTT); err != nil {
		return tn.failStop(err)
	}
	if c.lanRow != "" && tn.lan != nil {
		if err := bn.measureTCP1(tn.lan.client, tn.lan.server, tn.lan.addr, tn.pids(), rows[c.lanRow]); err != nil {
			return tn.failStop(fmt.Errorf("%s: %w", c.lanRow, err))
		}
	}
	return tn.stop()
}

// measure fills one sample of every column of row from router r1 to
// router r2 through tn.
func (bn *benchNet) measure(tn *tunnel, row *benchRow, daemon bool, baseRTT *float64) error {
	r1, r2 := bn.a.router, bn.b.router
	pids := tn.pids()
	if daemon {
		time.Sleep(idleSettle)
		idle, err := maxStatusMiB(pids, "VmRSS")
		if err != nil {
			return err
		}
		row.add(colIdleRSS, idle)
	}
	rtt, err := pingAvg(r1, tn.addr)
	if err != nil {
		return err
	}
	if daemon {
		row.add(colRTT, rtt-*baseRTT) // NaN, so not recorded, when the raw run failed
	} else {
		*baseRTT = rtt
	}
	if err := bn.measureTCP1(r1, r2, tn.addr, pids, row); err != nil {
		return err
	}
	rev, err := runIperf(r1, r2, tn.addr, false, "-t", iperfSeconds, "-O", iperfOmit, "-R")
	if err != nil {
		return err
	}
	row.add(colTCPR, rev.bps/1e9)

	var sampler *rssSampler
	if daemon {
		sampler = sampleRSS(pids)
	}
	four, err := runIperf(r1, r2, tn.addr, false, "-t", iperfSeconds, "-O", iperfOmit, "-P", "4")
	if sampler != nil {
		peak, serr := sampler.stopPeak()
		if err == nil && serr != nil {
			err = serr
		}
		row.add(colRSS4, peak)
	}
	if err != nil {
		return err
	}
	row.add(colTCP4, four.bps/1e9)

	udp, err := runIperf(r1, r2, tn.addr, true, "-u", "-l", "64", "-b", "0", "-t", udpSeconds)
	if err != nil {
		return err
	}
	row.add(colPPS, udp.rxPPS)
	if daemon {
		hwm, err := maxStatusMiB(pids, "VmHWM")
		if err != nil {
			return err
		}
		row.add(colPeakRSS, hwm)
	}
	return nil
}

// measureTCP1 runs the single-stream TCP test and, when there are daemons,
// their CPU seconds per GB carried during it.
func (bn *benchNet) measureTCP1(client, server *netlab.Host, addr string, pids []int, row *benchRow) error {
	cpu0, err := cpuSeconds(pids)
	if err != nil {
		return err
	}
	res, err := runIperf(client, server, addr, false, "-t", iperfSeconds, "-O", iperfOmit)
	if err != nil {
		return err
	}
	cpu1, err := cpuSeconds(pids)
	if err != nil {
		return err
	}
	row.add(colTCP1, res.bps/1e9)
	if len(pids) > 0 && res.totalBytes > 0 {
		row.add(colCPU, (cpu1-cpu0)/(res.totalBytes/1e9))
	}
	return nil
}

// tunnel is one contender's running link from r1 to r2.
type tunnel struct {
	addr    string         // r2's address through the tunnel
	procs   []*netlab.Proc // the tunnel daemons; none for the raw underlay
	hosts   []*netlab.Host // the namespace of each daemon
	ifnames []string       // the interface each daemon made; gone after stop
	lan     *lanRun        // the LAN-host row measured over the same link
}

// lanRun is an extra single-stream run over a tunnel.
type lanRun struct {
	client, server *netlab.Host
	addr           string
}

func (tn *tunnel) add(p *netlab.Proc, h *netlab.Host, ifname string) {
	tn.procs = append(tn.procs, p)
	tn.hosts = append(tn.hosts, h)
	tn.ifnames = append(tn.ifnames, ifname)
}

func (tn *tunnel) pids() []int {
	var ps []int
	for _, p := range tn.procs {
		ps = append(ps, p.Pid())
	}
	return ps
}

// stop sends every daemon SIGTERM, waits for it to exit and then for its
// interface to disappear: the next contender starts on a clean slate.
func (tn *tunnel) stop() error {
	var errs []error
	for _, p := range tn.procs {
		if err := p.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("%s did not exit cleanly: %w\n%s", p, err, p.Log()))
		}
	}
	for i, h := range tn.hosts {
		if err := waitGone(h, tn.ifnames[i], stopTimeout); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// failStop stops the tunnel after err and returns err with any stop
// failure added.
func (tn *tunnel) failStop(err error) error {
	return errors.Join(err, tn.stop())
}

// waitGone waits until interface ifname no longer exists in h.
func waitGone(h *netlab.Host, ifname string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		out, err := h.Exec("ip", "link", "show", "dev", ifname)
		if err != nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: %s still has %s %v after its daemon stopped:\n%s", h, ifname, within, strings.TrimSpace(out))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitReach pings addr from h once per try until a reply arrives.
func waitReach(h *netlab.Host, addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		out, err := h.Ping(addr, 1)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: %s cannot reach %s within %v: %w\n%s", h, addr, within, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startIpopd starts the world's two daemons (TAP ipop0 on br-lan) and waits
// until router r1 reaches router r2's overlay address and LAN host h1
// reaches h2.
func (bn *benchNet) startIpopd() (*tunnel, error) {
	tn := &tunnel{addr: routerOverlayIP(bn.b), lan: &lanRun{client: bn.a.host, server: bn.b.host, addr: bn.b.lanIP}}
	for _, s := range []*site{bn.a, bn.b} {
		s.start()
		tn.add(s.proc, s.router, "ipop0")
	}
	if err := waitReach(bn.a.router, tn.addr, linkUpTimeout); err != nil {
		return nil, tn.failStop(err)
	}
	if err := waitReach(bn.a.host, bn.b.lanIP, linkUpTimeout); err != nil {
		return nil, tn.failStop(err)
	}
	return tn, nil
}
