package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/netlab"
	"github.com/ipopd/ipopd/internal/scale"
)

// scaleRoutersEnv sizes TestScaleLab (make scale sets it from
// SCALE_ROUTERS); unset, that test is skipped.
const scaleRoutersEnv = "IPOP_SCALE_ROUTERS"

// The goals of issue 11 that the lab checks, by name.
const (
	goalRegister   = "register"         // every router registered within 60 s
	goalFirstPing  = "first-ping"       // every random pair pings at the first try (10 s)
	goalReach      = "broadcast-reach"  // one broadcast reaches every router
	goalCopies     = "broadcast-copies" // and the sender sends at most one copy per lighthouse
	goalNoMesh     = "no-full-mesh"     // links: the lighthouses and the unicast partners only
	goalRSS        = "rss"              // member <= 10 MiB; lighthouse <= 10 MiB + 32 KiB per link
	goalRevocation = "revocation"       // every router drops a revoked one within 10 s
	goalLoss       = "lighthouse-loss"  // 1 of 3 lighthouses lost: new links within 5 s, old ones carry on
	goalHerd       = "herd"             // all restart at once: registered within 60 s, no handshake timeouts
)

var allScaleGoals = []string{goalRegister, goalFirstPing, goalReach, goalCopies, goalNoMesh, goalRSS, goalRevocation, goalLoss, goalHerd}

// scaleGoalsAsserted lists the goals TestScaleLab100 (in make test)
// asserts: those the code meets today (main at 80e53eb met all but rss:
// a lighthouse of 100 members had 22 MiB resident). Add a goal here when
// the feature that meets it lands. IPOP_SCALE_GOALS=all, or a
// comma-separated list of goal names, asserts others on one run.
var scaleGoalsAsserted = []string{goalRegister, goalFirstPing, goalReach, goalCopies, goalNoMesh, goalRevocation, goalLoss, goalHerd}

func assertedGoals() map[string]bool {
	list := scaleGoalsAsserted
	switch env := os.Getenv("IPOP_SCALE_GOALS"); env {
	case "":
	case "all":
		list = allScaleGoals
	default:
		list = strings.Split(env, ",")
	}
	out := map[string]bool{}
	for _, g := range list {
		out[strings.TrimSpace(g)] = true
	}
	return out
}

// TestScaleLab100 is the 100-router lab of make test: it asserts the goals
// in scaleGoalsAsserted and prints every figure.
func TestScaleLab100(t *testing.T) {
	if testing.Short() {
		t.Skip("100 routers in network namespaces")
	}
	runScaleLab(t, 100, assertedGoals())
}

// TestScaleLab is the namespace half of make scale: IPOP_SCALE_ROUTERS
// routers, every figure printed, goals asserted only when IPOP_SCALE_GOALS
// names them.
func TestScaleLab(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv(scaleRoutersEnv))
	if n == 0 {
		t.Skipf("set %s (make scale) to run", scaleRoutersEnv)
	}
	goals := map[string]bool{}
	if os.Getenv("IPOP_SCALE_GOALS") != "" {
		goals = assertedGoals()
	}
	runScaleLab(t, n, goals)
}

func runScaleLab(t *testing.T, n int, goals map[string]bool) {
	if n < 30 {
		t.Fatalf("need at least 30 routers, not %d", n)
	}
	tb := &scale.Table{Title: fmt.Sprintf("Namespace lab of %d routers, 3 lighthouses (one routed /31 uplink each)", n)}
	t.Cleanup(func() { tb.Write(os.Stdout) })
	var missed []string
	check := func(goal string, met bool, format string, args ...any) {
		if !met {
			missed = append(missed, goal)
			if goals[goal] {
				t.Errorf("goal %s missed: "+format, append([]any{goal}, args...)...)
			}
		}
	}
	t.Cleanup(func() {
		var asserted []string
		for _, g := range allScaleGoals {
			if goals[g] {
				asserted = append(asserted, g)
			}
		}
		fmt.Printf("goals asserted: %v; missed: %v\n", asserted, missed)
	})

	t0 := time.Now()
	l := newScaleLab(t, n)
	tb.Add("lab setup (namespaces, uplinks, provisioning)", "", "%s: %s", scale.Secs(time.Since(t0)), l.prov)

	start := time.Now()
	l.start(l.routers)
	took, reg := l.waitRegistered(start, 120*time.Second)
	tb.Add("time to register with the lighthouses", "", "%d/%d in %s", reg, n, scale.Secs(took))
	check(goalRegister, reg == n && took <= 60*time.Second, "%d/%d registered in %s", reg, n, took)
	time.Sleep(3 * time.Second) // directories go out once a second

	rng := rand.New(rand.NewPCG(7, uint64(n)))
	var ordinary []*scaleRouter
	for _, r := range l.routers {
		if !l.isLighthouse(r) {
			ordinary = append(ordinary, r)
		}
	}
	used := map[*scaleRouter]bool{}
	pick := func() *scaleRouter {
		if len(used) >= len(ordinary)-2 {
			clear(used)
		}
		for {
			r := ordinary[rng.IntN(len(ordinary))]
			if !used[r] {
				used[r] = true
				return r
			}
		}
	}
	type pair struct {
		a, b *scaleRouter
		ok   bool
		rtt  time.Duration
	}
	runPairs := func(k int, within time.Duration) ([]*pair, int, string) {
		ps := make([]*pair, k)
		for i := range ps {
			ps[i] = &pair{a: pick(), b: pick()}
		}
		var wg sync.WaitGroup
		for _, p := range ps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.rtt, p.ok = l.firstPing(p.a, p.b, within)
			}()
		}
		wg.Wait()
		ok := 0
		var lat []time.Duration
		for _, p := range ps {
			if p.ok {
				ok++
				lat = append(lat, p.rtt)
			}
		}
		return ps, ok, scale.Durations(lat)
	}
	pairs, ok, lat := runPairs(20, 10*time.Second)
	tb.Add("first ping between random pairs (router to router overlay address, 20 pairs)", "all", "%d/20 within 10 s; %s", ok, lat)
	check(goalFirstPing, ok == 20, "%d/20 pairs", ok)

	// One broadcast frame from one router's bridge.
	sender := pick()
	type counts struct{ delivered, copies, framesOut uint64 }
	snapshot := func() map[*scaleRouter]counts {
		out := map[*scaleRouter]counts{}
		var mu sync.Mutex
		l.each(l.running(), func(r *scaleRouter) {
			st, err := r.status()
			if err != nil {
				return
			}
			c := counts{delivered: st.Counters["delivered_in"], copies: st.Counters["flood_copies_out"]}
			if r == sender {
				ps, _ := r.peers()
				for _, p := range ps {
					c.framesOut += p.FramesOut
				}
			}
			mu.Lock()
			out[r] = c
			mu.Unlock()
		})
		return out
	}
	before := snapshot()
	_, hasCopies := func() (uint64, bool) {
		st, _ := sender.status()
		v, ok := st.Counters["flood_copies_out"]
		return v, ok
	}()
	rawframe := netlab.BuildTool(t, "github.com/ipopd/ipopd/internal/testtools/rawframe")
	if out, err := sender.host.Exec(rawframe, "-i", "br-lan", "-kind", "bcast", "-msg", "scale"); err != nil {
		t.Fatalf("broadcast: %v\n%s", err, out)
	}
	time.Sleep(3 * time.Second)
	after := snapshot()
	reach, others := 0, 0
	for r, c := range after {
		if r == sender {
			continue
		}
		others++
		if c.delivered > before[r].delivered {
			reach++
		}
	}
	copies, how := after[sender].framesOut-before[sender].framesOut, "frames sent to peers while the broadcast went out"
	if hasCopies {
		copies, how = after[sender].copies-before[sender].copies, "flood_copies_out"
	}
	tb.Add("broadcast reach (one broadcast frame; routers whose delivered_in grew)", "every router, no new link", "%d/%d", reach, others)
	check(goalReach, reach == others, "%d/%d", reach, others)
	tb.Add("copies sent by the broadcasting router", "O(1)", "%d (%s)", copies, how)
	check(goalCopies, copies <= scaleLighthouses, "%d copies", copies)
	time.Sleep(2 * time.Second) // links the flood opened come up

	var links, lhLinks []int
	var memRSS, lhRSS []float64
	var mu sync.Mutex
	unanswered := 0
	l.each(l.running(), func(r *scaleRouter) {
		up := r.upNames()
		k := len(up)
		m, err := rss(r.process().Pid())
		mu.Lock()
		defer mu.Unlock()
		if up == nil {
			unanswered++
		} else if l.isLighthouse(r) {
			lhLinks = append(lhLinks, k)
		} else {
			links = append(links, k)
		}
		if err != nil {
			return
		}
		if l.isLighthouse(r) {
			lhRSS = append(lhRSS, m)
		} else {
			memRSS = append(memRSS, m)
		}
	})
	mean, mx := scale.MeanMax(links)
	lhMean, _ := scale.MeanMax(lhLinks)
	tb.Add("links per router (after the pings and the broadcast)", "lighthouses + unicast partners", "mean %.1f, max %d; lighthouses %.0f (%d daemons did not answer)", mean, mx, lhMean, unanswered)
	check(goalNoMesh, mx <= scaleLighthouses+2, "max %d links", mx)
	mRSS, mMax := meanMaxF(memRSS)
	lRSS, lMax := meanMaxF(lhRSS)
	tb.Add("RSS per router (VmRSS)", "<= 10 MiB with 10 links", "mean %s, max %s", scale.MiB(mRSS), scale.MiB(mMax))
	tb.Add("RSS per lighthouse", "<= 48 MiB with 1000 members", "mean %s, max %s (%s per member)", scale.MiB(lRSS), scale.MiB(lMax), scale.KiB(lRSS/float64(n-1)))
	check(goalRSS, mMax <= 10<<20 && lMax <= 10<<20+32<<10*float64(n), "member max %s, lighthouse max %s", scale.MiB(mMax), scale.MiB(lMax))

	var cpu0 []float64
	for _, r := range l.running() {
		c, _ := cpuTicks(r.process().Pid())
		cpu0 = append(cpu0, c)
	}
	time.Sleep(5 * time.Second)
	var idle float64
	for i, r := range l.running() {
		c, _ := cpuTicks(r.process().Pid())
		idle += c - cpu0[i]
	}
	tb.Add("CPU when idle (all daemons)", "", "%.0f%% of one core", idle/5) // 100 ticks a second

	// Revocation: the owner revokes a router that took part in a pair.
	victim := pairs[0].b
	owner := l.routers[0]
	start = time.Now()
	if out, err := owner.host.Exec(l.ipopd, "revoke", victim.name, "-c", owner.config, "--state", owner.state); err != nil {
		t.Fatalf("revoke: %v\n%s", err, out)
	}
	var refused, total int
	for {
		var cnt, tot int
		l.each(l.running(), func(r *scaleRouter) {
			if r == victim {
				return
			}
			got := strings.Contains(r.process().Log(), "revocation list updated") || r == owner
			up := r.upNames()
			dropped := up != nil && !up[victim.name]
			mu.Lock()
			tot++
			if got && dropped {
				cnt++
			}
			mu.Unlock()
		})
		refused, total = cnt, tot
		if refused == total || time.Since(start) > 30*time.Second {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	revTook := time.Since(start)
	tb.Add("revocation spread (routers that logged the new list and hold no link to the revoked one)", "all within 10 s", "%d/%d in %s", refused, total, scale.Secs(revTook))
	check(goalRevocation, refused == total && revTook <= 10*time.Second, "%d/%d in %s", refused, total, revTook)
	l.stop([]*scaleRouter{victim})

	// Lighthouse loss: one of three stops.
	l.stop([]*scaleRouter{l.lhs[2]})
	time.Sleep(time.Second)
	_, ok, lat = runPairs(10, 5*time.Second)
	tb.Add("lighthouse loss (1 of 3): first ping between new pairs", "all within 5 s", "%d/10; %s", ok, lat)
	var kept, keptOK int
	var wg sync.WaitGroup
	for _, p := range pairs {
		if !p.ok || p.a == victim || p.b == victim {
			continue
		}
		kept++
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, ok := l.firstPing(p.a, p.b, 5*time.Second); ok {
				mu.Lock()
				keptOK++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	tb.Add("lighthouse loss: earlier pairs still ping", "all", "%d/%d", keptOK, kept)
	check(goalLoss, ok == 10 && keptOK == kept, "new %d/10, earlier %d/%d", ok, keptOK, kept)

	// Thundering herd: every router but the revoked one restarts at once.
	l.stop(l.running())
	var fleet []*scaleRouter
	for _, r := range l.routers {
		if r != victim {
			fleet = append(fleet, r)
		}
	}
	start = time.Now()
	l.start(fleet)
	took, reg = l.waitRegistered(start, 120*time.Second)
	var limited uint64
	for _, lh := range l.lhs {
		if st, err := lh.status(); err == nil {
			limited += st.Counters["dropped_handshake_limit"]
		}
	}
	timeouts := 0
	for _, r := range fleet {
		for _, line := range strings.Split(r.process().Log(), "\n") {
			if (strings.Contains(line, "handshake failed") || strings.Contains(line, "cannot reach endpoint")) &&
				(strings.Contains(line, "timeout") || strings.Contains(line, "deadline")) {
				timeouts++
			}
		}
	}
	tb.Add("thundering herd (all restart at once): registered", "all within 60 s", "%d/%d in %s", reg, len(fleet), scale.Secs(took))
	tb.Add("thundering herd: ClientHellos dropped at the lighthouses' pending-handshake limit", "rate limited", "%d", limited)
	tb.Add("thundering herd: handshakes and dials that timed out (log lines)", "none", "%d", timeouts)
	check(goalHerd, reg == len(fleet) && took <= 60*time.Second && timeouts == 0, "%d/%d in %s, %d timeouts", reg, len(fleet), took, timeouts)
	warnings(t, fleet)
}

// warnings prints the kinds of warnings the daemons logged, with counts
// and one example each: what broke at size.
func warnings(t *testing.T, rs []*scaleRouter) {
	counts := map[string]int{}
	example := map[string]string{}
	for _, r := range rs {
		p := r.process()
		if p == nil {
			continue
		}
		for _, line := range strings.Split(p.Log(), "\n") {
			if !strings.Contains(line, "level=WARN") && !strings.Contains(line, "level=ERROR") {
				continue
			}
			msg := line
			if i := strings.Index(line, "msg="); i >= 0 {
				msg = line[i:]
				if j := strings.Index(msg, `" `); j > 0 {
					msg = msg[:j+1]
				}
			}
			counts[msg]++
			if _, ok := example[msg]; !ok {
				example[msg] = r.name + ": " + line
			}
		}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return counts[b] - counts[a] })
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%6d x %s\n         e.g. %s\n", counts[k], k, example[k])
	}
	fmt.Printf("warnings logged after the fleet restart:\n%s\n", b.String())
}

func meanMaxF(v []float64) (mean, mx float64) {
	for _, x := range v {
		mean += x
		mx = max(mx, x)
	}
	if len(v) > 0 {
		mean /= float64(len(v))
	}
	return mean, mx
}
