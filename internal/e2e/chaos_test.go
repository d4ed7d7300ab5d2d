package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/control"
	"github.com/ipopd/ipopd/internal/netlab"
)

// The chaos soak: a lighthouse L, site A behind a NAT and public site B,
// with a 20 Hz ping and a TCP stream between the LAN hosts of A and B,
// while a schedule of faults runs. Each router's LAN bridge (which holds
// the TAP) carries the member's own address in the group subnet, as the
// OpenWRT package sets up its ipop network.
//
// TestChaos runs the schedule once (about two minutes, part of make
// test); IPOP_CHAOS=long (make chaos) repeats it for ten minutes with
// longer faults. See docs/chaos.md.

// chaosFault is one row of the schedule.
type chaosFault struct {
	name string
	// inject starts the fault; heal, when set, ends it hold later.
	inject, heal func(c *chaos)
	hold         func(c *chaos) time.Duration
	// uplink: the fault cuts the link on purpose. Its goal is a quick
	// recovery once it returns, not a short gap.
	uplink bool
	// lossy: random loss is the fault; lost pings are expected.
	lossy bool
}

// chaosRun is what happened during one fault, from its injection to the
// next fault's.
type chaosRun struct {
	name      string
	at, end   time.Time
	ref       time.Time // recovery is measured from here (daemon start, link back)
	uplink    bool
	lossy     bool
	pathAfter string
	// measured
	sent, lost  int
	gap, recov  time.Duration
	stallSecs   int
	tcpMeasured bool
}

// chaosInstance is one run of one daemon, with its size at the start
// (once settled) and at the end.
type chaosInstance struct {
	site         string
	pid          int
	start, end   chaosSnap
	haveStart    bool
	startAt, til time.Time
}

type chaosSnap struct {
	goroutines int
	rssKiB     int
}

type chaos struct {
	t        *testing.T
	w        *world
	long     bool
	lh, a, b *site
	imp      *netlab.Host // the namespace on A's uplink that can impair it
	impProc  *netlab.Proc
	cycle    int
	cur      *chaosRun
	daemons  []*netlab.Proc // every daemon instance, for the panic check
	inst     map[*site]*chaosInstance
	done     []*chaosInstance
	bAddrs   [2]string // B's two public addresses; the fault swaps them
	remaps   int
}

const (
	chaosPingInterval = 50 * time.Millisecond
	// chaosGoal is the longest gap any fault but a down uplink may cause.
	chaosGoal = 2 * time.Second
	// chaosUplinkGoal: a down uplink's traffic flows this soon after it
	// returns.
	chaosUplinkGoal = time.Second
	chaosLongRun    = 10 * time.Minute
)

// chaosSchedule is the fault table. Restarts come first so that each
// daemon instance then lives through the other faults, and its goroutines
// and memory at the end of its life tell whether they leaked anything.
func chaosSchedule() []chaosFault {
	dur := func(short, long time.Duration) func(c *chaos) time.Duration {
		return func(c *chaos) time.Duration {
			if c.long {
				return long
			}
			return short
		}
	}
	return []chaosFault{
		{name: "restart A (behind NAT)", inject: func(c *chaos) { c.restart(c.a) }},
		{name: "restart B (public)", inject: func(c *chaos) { c.restart(c.b) }},
		{name: "restart lighthouse", inject: func(c *chaos) { c.restart(c.lh) }},
		{name: "B crashes (SIGKILL), restarts", inject: func(c *chaos) { c.kill(c.b); c.startDaemon(c.b) }},
		{name: "NAT of A remaps its port", inject: func(c *chaos) { c.remapNAT() }},
		{name: "NAT of A flushes conntrack", inject: func(c *chaos) { c.w.lab.FlushConntrack(c.a.natBox) }},
		{name: "lighthouse dies, returns", inject: func(c *chaos) { c.kill(c.lh) },
			hold: dur(8*time.Second, 30*time.Second), heal: func(c *chaos) { c.startDaemon(c.lh) }},
		{name: "A's uplink down 3 s", inject: func(c *chaos) { c.a.router.MustExec(c.t, "ip", "link", "set", "wan0", "down") },
			hold: dur(3*time.Second, 3*time.Second), heal: func(c *chaos) { c.uplinkUp() }, uplink: true},
		{name: "5% loss, 50 ms delay on A", inject: func(c *chaos) { c.impair(true) },
			hold: dur(12*time.Second, time.Minute), heal: func(c *chaos) { c.impair(false) }, lossy: true},
		{name: "B's public address changes", inject: func(c *chaos) { c.moveB() }},
		{name: "SIGHUP A (endpoints, flood limit)", inject: func(c *chaos) { c.reload(c.a) }},
		{name: "SIGHUP B (log level, flood burst)", inject: func(c *chaos) { c.reload(c.b) }},
	}
}

func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos soak")
	}
	if !netlab.HasCommand("iperf3") {
		t.Skip("needs iperf3")
	}
	c := &chaos{t: t, long: os.Getenv("IPOP_CHAOS") == "long", inst: map[*site]*chaosInstance{}}
	c.setup()

	settle := 5 * time.Second
	if c.long {
		settle = 12 * time.Second
	}
	// Traffic: a 20 Hz ping and a TCP stream between the LAN hosts of A
	// and B, with per-second reports to find stalls.
	iperfFor := 4 * time.Minute
	if c.long {
		iperfFor = chaosLongRun + 3*time.Minute
	}
	c.b.host.Start("iperf3-server", "iperf3", "-s", "-i", "1")
	time.Sleep(300 * time.Millisecond)
	pingProc := c.a.host.Start("ping", "ping", "-D", "-i", "0.05", "-W", "1", c.b.lanIP)
	tcpStart := time.Now()
	tcpProc := c.a.host.Start("iperf3", "iperf3", "-c", c.b.lanIP, "-t", strconv.Itoa(int(iperfFor.Seconds())),
		"-i", "1", "-b", "4M", "--forceflush")
	time.Sleep(settle)

	var runs []*chaosRun
	start := time.Now()
	sched := chaosSchedule()
schedule:
	for c.cycle = 0; ; c.cycle++ {
		for _, f := range sched {
			if c.long && time.Since(start) >= chaosLongRun || !c.long && c.cycle > 0 {
				break schedule
			}
			c.snapStarts()
			r := &chaosRun{name: f.name, at: time.Now(), uplink: f.uplink, lossy: f.lossy}
			r.ref = r.at
			c.cur = r
			t.Logf("%s t=%v fault: %s", r.at.Format("15:04:05.000"), time.Since(start).Round(100*time.Millisecond), f.name)
			f.inject(c)
			if f.heal != nil {
				time.Sleep(f.hold(c))
				f.heal(c)
				if f.uplink {
					r.ref = time.Now()
				}
			}
			time.Sleep(settle)
			r.end = time.Now()
			r.pathAfter = c.a.peerPath(t, c.b.name)
			runs = append(runs, r)
		}
	}
	soak := time.Since(start)
	c.snapStarts()
	_ = pingProc.Signal(syscall.SIGINT)
	_ = pingProc.Wait()
	_ = tcpProc.Signal(syscall.SIGINT)
	<-tcpProc.Done()

	// Nothing left broken: a final burst loses nothing.
	burst, _ := c.a.host.Exec("ping", "-c", "100", "-i", "0.05", "-W", "1", c.b.lanIP)
	burstLost := lostOf(burst, 100)
	for s, in := range c.inst {
		c.endInstance(s, in)
	}

	pings, sent := parsePings(pingProc.Log())
	tcp := parseIperfIntervals(tcpProc.Log(), tcpStart)
	for _, r := range runs {
		r.measure(pings, sent, tcp)
	}
	t.Log(chaosTable(runs, c.done, soak, burstLost))

	// Goals.
	for _, r := range runs {
		switch {
		case r.uplink && r.recov > chaosUplinkGoal:
			t.Errorf("%s: traffic back %v after the uplink returned (goal %v)", r.name, r.recov, chaosUplinkGoal)
		case !r.uplink && r.gap > chaosGoal:
			t.Errorf("%s: longest gap %v (goal %v)", r.name, r.gap, chaosGoal)
		}
	}
	if burstLost != 0 {
		t.Errorf("final burst lost %d of 100 pings:\n%s", burstLost, lastLines(burst, 10))
	}
	for _, in := range c.done {
		if !in.haveStart {
			continue
		}
		if g := in.end.goroutines - in.start.goroutines; g > chaosGoroutineSlack {
			t.Errorf("%s[%d]: goroutines grew from %d to %d", in.site, in.pid, in.start.goroutines, in.end.goroutines)
		}
		if r := in.end.rssKiB - in.start.rssKiB; r > chaosRSSSlackKiB {
			t.Errorf("%s[%d]: RSS grew from %d KiB to %d KiB", in.site, in.pid, in.start.rssKiB, in.end.rssKiB)
		}
	}
	if dir := os.Getenv("IPOP_CHAOS_LOGS"); dir != "" {
		c.saveLogs(dir, pingProc, tcpProc)
	}
	for _, p := range c.daemons {
		if l := p.Log(); strings.Contains(l, "panic:") || strings.Contains(l, "fatal error:") || strings.Contains(l, "DATA RACE") {
			t.Errorf("%s: panic in the log:\n%s", p, lastLines(l, 40))
		}
	}
}

// saveLogs copies every daemon's log and the traffic logs into dir
// (IPOP_CHAOS_LOGS), to read after the lab is gone.
func (c *chaos) saveLogs(dir string, extra ...*netlab.Proc) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		c.t.Errorf("IPOP_CHAOS_LOGS: %v", err)
		return
	}
	for i, p := range append(c.daemons, extra...) {
		name := fmt.Sprintf("%02d-%s.log", i, strings.NewReplacer("/", "-", "[", "-", "]", "").Replace(p.String()))
		if err := os.WriteFile(filepath.Join(dir, name), []byte(p.Log()), 0o644); err != nil {
			c.t.Errorf("IPOP_CHAOS_LOGS: %v", err)
		}
	}
	c.t.Logf("logs saved in %s", dir)
}

// Slack for "flat": a session or two in flight at the snapshot, and the
// heap's natural breathing under a 4 Mbit/s stream.
const (
	chaosGoroutineSlack = 6
	chaosRSSSlackKiB    = 6 * 1024
)

// setup builds the lab: lighthouse r1, site r2 behind a port-restricted
// NAT whose uplink passes a namespace that can impair it, public site r3.
func (c *chaos) setup() {
	t := c.t
	w := newWorld(t)
	c.w = w
	w.uplinkVia = func(box *netlab.Host, n int) {
		// box wan0 <-> [ia imp ib] <-> switch port pN. Normally a plain
		// bridge; the loss fault swaps the bridge for the impair tool.
		c.imp = w.lab.Host("imp")
		c.imp.MustExec(t, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
		w.lab.Link(box, "wan0", c.imp, "ia")
		w.lab.Link(c.imp, "ib", w.inet, fmt.Sprintf("p%d", n))
		c.imp.Bridge("br0", "ia", "ib")
	}
	c.lh = w.addSite()
	c.a = w.addNATSite(netlab.PortRestricted)
	w.uplinkVia = nil
	c.b = w.addSite()
	c.bAddrs = [2]string{c.b.wanIP, inetPfx + "103"}
	w.provision()

	eps := []string{c.lh.wanIP + ":" + port}
	c.lh.options["lighthouse"] = "1"
	for _, s := range []*site{c.lh, c.a, c.b} {
		// The shipped keepalive, not the 1 s other e2e tests use: dead
		// peer detection must not be what makes recovery quick.
		s.options["keepalive"] = "5"
		s.options["flood_limit"] = "500"
		s.options["flood_burst"] = "1000"
		if s == c.lh {
			s.writeConfigWith(nil)
		} else {
			s.writeConfigWith(eps)
		}
		c.startDaemon(s)
	}
	for _, s := range []*site{c.lh, c.a, c.b} {
		s.waitLog("member running", 10*time.Second)
	}
	c.a.host.WaitPing(t, c.b.lanIP, 45*time.Second)
	// The OpenWRT layout: the member's address on the bridge that holds
	// the TAP (br-lan here, br-ipop in the package).
	for _, s := range []*site{c.lh, c.a, c.b} {
		st := c.status(s)
		if st == nil || st.Address == "" {
			t.Fatalf("%s: no member address in status", s.name)
		}
		addr := strings.TrimSuffix(st.Address, "/32")
		if !strings.Contains(addr, "/") {
			addr += "/16"
		}
		s.router.Addr("br-lan", addr)
		t.Logf("%s: member address %s on br-lan", s.name, addr)
	}
	// Links settle (punched direct) before the first fault.
	deadline := time.Now().Add(30 * time.Second)
	for c.a.peerPath(t, c.b.name) != "direct" && time.Now().Before(deadline) {
		_, _ = c.a.host.Ping(c.b.lanIP, 1)
	}
	t.Logf("A-B path before the schedule: %s", c.a.peerPath(t, c.b.name))
}

func (c *chaos) status(s *site) *control.Status {
	out, err := s.ipopd("status", "--json", "-c", s.config)
	if err != nil {
		return nil
	}
	var st control.Status
	if json.Unmarshal([]byte(out), &st) != nil {
		return nil
	}
	return &st
}

// startDaemon starts the site's daemon with its current config file.
func (c *chaos) startDaemon(s *site) {
	s.proc = s.router.Start("ipopd", c.w.ipopd, "run", "-c", s.config, "--state", s.state)
	c.daemons = append(c.daemons, s.proc)
	c.inst[s] = &chaosInstance{site: s.name, pid: s.proc.Pid(), startAt: time.Now()}
	if c.cur != nil {
		c.cur.ref = time.Now()
	}
}

// restart is SIGTERM, a clean exit, and a new start.
func (c *chaos) restart(s *site) {
	if in := c.inst[s]; in != nil {
		c.endInstance(s, in)
	}
	s.stop()
	c.startDaemon(s)
}

// kill is SIGKILL: no goodbye to anyone.
func (c *chaos) kill(s *site) {
	if in := c.inst[s]; in != nil {
		c.endInstance(s, in)
	}
	_ = s.proc.Signal(syscall.SIGKILL)
	<-s.proc.Done()
}

func (c *chaos) snap(s *site) (chaosSnap, bool) {
	st := c.status(s)
	if st == nil {
		return chaosSnap{}, false
	}
	return chaosSnap{goroutines: st.Goroutines, rssKiB: rssKiB(s.proc.Pid())}, true
}

// snapStarts records the size of daemons started since the last fault,
// now that they have settled.
func (c *chaos) snapStarts() {
	for s, in := range c.inst {
		if !in.haveStart {
			if sn, ok := c.snap(s); ok {
				in.start, in.haveStart = sn, true
			}
		}
	}
}

func (c *chaos) endInstance(s *site, in *chaosInstance) {
	if sn, ok := c.snap(s); ok {
		in.end = sn
	} else {
		in.haveStart = false // nothing to compare
	}
	in.til = time.Now()
	c.done = append(c.done, in)
	delete(c.inst, s)
}

func rssKiB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// remapNAT moves A's NAT to another external port range and flushes its
// mappings: every flow gets a new external port, as when a CGNAT
// reassigns.
func (c *chaos) remapNAT() {
	c.remaps++
	ranges := []string{"20000-29999", "30000-39999", ""}
	r := ranges[(c.remaps-1)%len(ranges)]
	c.a.natBox.MustExec(c.t, "nft", "flush", "chain", "ip", "ipopd_nat", "nat_postrouting")
	if r != "" {
		c.a.natBox.MustExec(c.t, "sh", "-c", "nft add rule ip ipopd_nat nat_postrouting oifname wan0 meta l4proto udp masquerade to :"+r)
	}
	c.a.natBox.MustExec(c.t, "sh", "-c", "nft add rule ip ipopd_nat nat_postrouting oifname wan0 masquerade")
	c.w.lab.FlushConntrack(c.a.natBox)
}

// uplinkUp brings A's uplink back, and its default route, as netifd would.
func (c *chaos) uplinkUp() {
	c.a.router.MustExec(c.t, "ip", "link", "set", "wan0", "up")
	c.a.router.Route("default", "via", fmt.Sprintf("192.168.%d.1", c.a.n))
}

// impair swaps the bridge on A's uplink for the impair tool (5% loss and
// 50 ms of delay each way), or back.
func (c *chaos) impair(on bool) {
	if on {
		c.imp.MustExec(c.t, "ip", "link", "set", "ia", "nomaster")
		c.imp.MustExec(c.t, "ip", "link", "set", "ib", "nomaster")
		c.impProc = c.imp.Start("impair", netlab.BuildTool(c.t, netlab.ImpairTool), "-a", "ia", "-b", "ib", "-delay", "50ms", "-loss", "0.05")
		c.impProc.WaitLog(c.t, "impair: ready", 10*time.Second)
		return
	}
	_ = c.impProc.Stop()
	c.imp.Bridge("br0", "ia", "ib")
}

// moveB gives B's uplink its other public address.
func (c *chaos) moveB() {
	old := c.b.wanIP
	nw := c.bAddrs[0]
	if old == nw {
		nw = c.bAddrs[1]
	}
	// The new address comes first and is promoted when the old one goes:
	// without promote_secondaries the kernel would drop both.
	c.b.router.Sysctl("net.ipv4.conf.wan0.promote_secondaries", "1")
	c.b.router.Addr("wan0", nw+"/24")
	c.b.router.MustExec(c.t, "ip", "addr", "del", old+"/24", "dev", "wan0")
	c.b.wanIP = nw
}

// reload changes some settings and sends SIGHUP.
func (c *chaos) reload(s *site) {
	odd := c.cycle%2 == 0
	eps := []string{c.lh.wanIP + ":" + port}
	switch s {
	case c.a:
		s.options["flood_limit"] = map[bool]string{true: "400", false: "500"}[odd]
		if odd {
			eps = append(eps, c.b.wanIP+":"+port)
		}
	case c.b:
		s.options["log_level"] = map[bool]string{true: "info", false: "debug"}[odd]
		s.options["flood_burst"] = map[bool]string{true: "800", false: "1000"}[odd]
	}
	s.writeConfigWith(eps)
	if err := s.proc.Signal(syscall.SIGHUP); err != nil {
		c.t.Fatal(err)
	}
}

var pingLineRE = regexp.MustCompile(`(?m)^\[(\d+)\.(\d+)\] .*icmp_seq=(\d+) .*time=([\d.]+) ms`)
var pingSentRE = regexp.MustCompile(`(\d+) packets transmitted`)

// parsePings reads ping -D output: the replies by sequence number (first
// reply only) and how many requests were sent.
func parsePings(out string) (map[int]time.Time, int) {
	got := map[int]time.Time{}
	for _, m := range pingLineRE.FindAllStringSubmatch(out, -1) {
		sec, _ := strconv.ParseInt(m[1], 10, 64)
		frac := m[2]
		for len(frac) < 9 {
			frac += "0"
		}
		ns, _ := strconv.ParseInt(frac[:9], 10, 64)
		seq, _ := strconv.Atoi(m[3])
		rtt, _ := strconv.ParseFloat(m[4], 64)
		if _, dup := got[seq]; dup {
			continue
		}
		got[seq] = time.Unix(sec, ns).Add(-time.Duration(rtt * float64(time.Millisecond)))
	}
	sent := 0
	if m := pingSentRE.FindStringSubmatch(out); m != nil {
		sent, _ = strconv.Atoi(m[1])
	}
	for s := range got {
		sent = max(sent, s)
	}
	return got, sent
}

// sendTimes estimates when every request 1..sent left: replies say, and
// requests without one are placed between their neighbours.
func sendTimes(got map[int]time.Time, sent int) []time.Time {
	ts := make([]time.Time, sent+1)
	var seqs []int
	for s := range got {
		seqs = append(seqs, s)
	}
	sort.Ints(seqs)
	if len(seqs) == 0 {
		return ts
	}
	for s := 1; s <= sent; s++ {
		i := sort.SearchInts(seqs, s)
		switch {
		case i < len(seqs) && seqs[i] == s:
			ts[s] = got[s]
		case i == 0:
			ts[s] = got[seqs[0]].Add(-time.Duration(seqs[0]-s) * chaosPingInterval)
		case i == len(seqs):
			p := seqs[len(seqs)-1]
			ts[s] = got[p].Add(time.Duration(s-p) * chaosPingInterval)
		default:
			p, q := seqs[i-1], seqs[i]
			span := got[q].Sub(got[p])
			ts[s] = got[p].Add(span * time.Duration(s-p) / time.Duration(q-p))
		}
	}
	return ts
}

// tcpInterval is one iperf3 report: when it began and the bytes it moved.
type tcpInterval struct {
	at    time.Time
	bytes float64
}

var iperfLineRE = regexp.MustCompile(`\]\s+(\d+\.\d+)-(\d+\.\d+)\s+sec\s+([\d.]+)\s+(\w?)Bytes`)

func parseIperfIntervals(out string, start time.Time) []tcpInterval {
	var iv []tcpInterval
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "sender") || strings.Contains(l, "receiver") {
			continue
		}
		m := iperfLineRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		from, _ := strconv.ParseFloat(m[1], 64)
		to, _ := strconv.ParseFloat(m[2], 64)
		if to-from > 1.5 {
			continue // a summary
		}
		n, _ := strconv.ParseFloat(m[3], 64)
		switch m[4] {
		case "K":
			n *= 1 << 10
		case "M":
			n *= 1 << 20
		case "G":
			n *= 1 << 30
		}
		iv = append(iv, tcpInterval{at: start.Add(time.Duration(from * float64(time.Second))), bytes: n})
	}
	return iv
}

// measure fills in the run's figures from the ping replies and the TCP
// reports that fall in its window.
func (r *chaosRun) measure(got map[int]time.Time, sent int, tcp []tcpInterval) {
	ts := sendTimes(got, sent)
	var lastEnd time.Time // end of the last run of losses
	runStart := -1
	for s := 1; s <= sent; s++ {
		if ts[s].Before(r.at) || !ts[s].Before(r.end) {
			continue
		}
		r.sent++
		if _, ok := got[s]; !ok {
			r.lost++
			if runStart < 0 {
				runStart = s
			}
			continue
		}
		if runStart >= 0 {
			// A run of losses ends with this reply.
			prev := ts[runStart].Add(-chaosPingInterval)
			if runStart > 1 {
				prev = ts[runStart-1]
			}
			r.gap = max(r.gap, ts[s].Sub(prev)-chaosPingInterval)
			lastEnd = ts[s]
			runStart = -1
		}
	}
	if runStart >= 0 { // still losing at the window's end
		r.gap = max(r.gap, r.end.Sub(ts[runStart]))
		lastEnd = r.end
	}
	if r.lost > 0 && lastEnd.After(r.ref) {
		r.recov = lastEnd.Sub(r.ref)
	}
	for _, iv := range tcp {
		if iv.at.Before(r.at) || !iv.at.Before(r.end) {
			continue
		}
		r.tcpMeasured = true
		if iv.bytes == 0 {
			r.stallSecs++
		}
	}
}

// lostOf reads "N packets transmitted, M received" of a ping run.
func lostOf(out string, count int) int {
	m := regexp.MustCompile(`(\d+) packets transmitted, (\d+) received`).FindStringSubmatch(out)
	if m == nil {
		return count
	}
	tx, _ := strconv.Atoi(m[1])
	rx, _ := strconv.Atoi(m[2])
	return tx - rx
}

func chaosTable(runs []*chaosRun, inst []*chaosInstance, soak time.Duration, burstLost int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "chaos soak: %d faults in %v; ping every %v A->B, TCP stream A->B at 4 Mbit/s\n", len(runs), soak.Round(time.Second), chaosPingInterval)
	fmt.Fprintf(&b, "%-36s %6s %6s %9s %9s %-9s %-8s %s\n", "fault", "sent", "lost", "gap", "recover", "tcp", "path", "goal")
	for _, r := range runs {
		tcp := "no stall"
		switch {
		case !r.tcpMeasured:
			tcp = "-"
		case r.stallSecs > 0:
			tcp = fmt.Sprintf("stall %ds", r.stallSecs)
		}
		goal := "ok"
		switch {
		case r.uplink && r.recov > chaosUplinkGoal:
			goal = "FAIL (recover > 1 s)"
		case !r.uplink && r.gap > chaosGoal:
			goal = "FAIL (gap > 2 s)"
		}
		fmt.Fprintf(&b, "%-36s %6d %6d %9v %9v %-9s %-8s %s\n", r.name, r.sent, r.lost,
			r.gap.Round(10*time.Millisecond), r.recov.Round(10*time.Millisecond), tcp, r.pathAfter, goal)
	}
	fmt.Fprintf(&b, "final burst: %d of 100 lost\n", burstLost)
	fmt.Fprintf(&b, "%-4s %8s %9s %12s %16s\n", "node", "pid", "lived", "goroutines", "RSS KiB")
	for _, in := range inst {
		if !in.haveStart {
			fmt.Fprintf(&b, "%-4s %8d %9v %12s %16s\n", in.site, in.pid, in.til.Sub(in.startAt).Round(time.Second), "-", "-")
			continue
		}
		fmt.Fprintf(&b, "%-4s %8d %9v %5d -> %-4d %7d -> %-7d\n", in.site, in.pid, in.til.Sub(in.startAt).Round(time.Second),
			in.start.goroutines, in.end.goroutines, in.start.rssKiB, in.end.rssKiB)
	}
	return b.String()
}
