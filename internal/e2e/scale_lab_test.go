package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/control"
	"github.com/ipopd/ipopd/internal/group"
	"github.com/ipopd/ipopd/internal/netlab"
)

// The network-namespace lab of the scale measurements (issue 11): N
// routers on a netlab.Star (each its own /31 uplink to one core router),
// router 0 the group owner, routers 1..3 the lighthouses, every router's
// ipop0 on a bridge br-lan that holds the router's address in the group
// subnet. IPv6 is off in the routers, so that the only frames crossing
// the overlay are the ones a measurement sends.

var scaleLabSubnet = netip.MustParsePrefix("10.64.0.0/12")

const scaleLighthouses = 3

type scaleLab struct {
	t       *testing.T
	lab     *netlab.Lab
	star    *netlab.Star
	ipopd   string
	dir     string
	routers []*scaleRouter
	lhs     []*scaleRouter
	prov    string // how the bundles were made
}

type scaleRouter struct {
	i      int
	name   string
	host   *netlab.Host
	wan    netip.Addr
	ip     netip.Addr // overlay address (certificate)
	nodeID string
	state  string
	config string
	socket string

	mu   sync.Mutex
	proc *netlab.Proc
}

func (r *scaleRouter) process() *netlab.Proc {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.proc
}

// newScaleLab builds the lab and provisions the group; nothing runs yet.
func newScaleLab(t *testing.T, n int) *scaleLab {
	t.Helper()
	l := &scaleLab{t: t, lab: netlab.New(t), ipopd: netlab.BuildTool(t, "github.com/ipopd/ipopd/ipopd"), dir: t.TempDir()}
	// Stop the daemons in parallel before the lab stops them one by one.
	t.Cleanup(func() { l.stop(l.routers) })
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("r%d", i))
	}
	l.star = l.lab.Star("core", names, netip.MustParsePrefix("100.64.0.0/16"))
	for i, h := range l.star.Routers {
		d := filepath.Join(l.dir, names[i])
		r := &scaleRouter{i: i, name: names[i], host: h, wan: l.star.WAN[i], state: filepath.Join(d, "state"),
			config: filepath.Join(d, "ipop"), socket: filepath.Join(d, "ipopd.sock")}
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		l.routers = append(l.routers, r)
		if i >= 1 && i <= scaleLighthouses {
			l.lhs = append(l.lhs, r)
		}
	}
	l.parallel(func(r *scaleRouter) error {
		_, err := r.host.Exec("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
		return err
	})
	l.provision()
	l.parallel(func(r *scaleRouter) error {
		st, err := group.Load(r.state)
		if err != nil {
			return err
		}
		r.ip, r.nodeID = st.Address, st.NodeID
		_, err = r.host.Exec("sh", "-c", fmt.Sprintf("ip link add br-lan type bridge stp_state 0 forward_delay 0 && ip addr add %s/%d dev br-lan && ip link set br-lan up",
			st.Address, scaleLabSubnet.Bits()))
		if err != nil {
			return err
		}
		return os.WriteFile(r.config, []byte(l.configOf(r)), 0o600)
	})
	return l
}

// provision: the owner creates the group and issues every bundle in one
// shell run in its namespace (Issue holds the owner's lock, so issuing in
// parallel would gain nothing), the group planned for every router
// (`--members`), so each gets its DHCP pool. Each router installs its own
// with `ipopd group install`, in parallel.
func (l *scaleLab) provision() {
	l.t.Helper()
	owner := l.routers[0]
	bundles := filepath.Join(l.dir, "bundles")
	if err := os.MkdirAll(bundles, 0o700); err != nil {
		l.t.Fatal(err)
	}
	script := fmt.Sprintf(`set -e
%[1]s group create --name scale --subnet %[2]s --members %[4]d --node-name r0 --state %[3]s >/dev/null
i=1
while [ $i -lt %[4]d ]; do
	%[1]s group issue --name r$i --out %[5]s/r$i.bundle --state %[3]s >/dev/null
	i=$((i+1))
done`, l.ipopd, scaleLabSubnet, owner.state, len(l.routers), bundles)
	if out, err := owner.host.Exec("sh", "-c", script); err != nil {
		l.t.Fatalf("provisioning: %v\n%s", err, out)
	}
	l.prov = fmt.Sprintf("%d issued with ipopd group issue", len(l.routers)-1)
	l.parallel(func(r *scaleRouter) error {
		if r == owner {
			return nil
		}
		out, err := r.host.Exec(l.ipopd, "group", "install", filepath.Join(bundles, r.name+".bundle"), "--state", r.state)
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", r.name, err, out)
		}
		return nil
	})
}

// configOf is the router's /etc/config/ipop: the lighthouses as endpoints.
func (l *scaleLab) configOf(r *scaleRouter) string {
	var b strings.Builder
	b.WriteString("config ipopd 'main'\n\toption enabled '1'\n\toption listen_port '" + port + "'\n")
	b.WriteString("\toption interface 'ipop0'\n\toption bridge 'br-lan'\n\toption log_level 'info'\n")
	b.WriteString("\toption control_socket '" + r.socket + "'\n")
	for _, lh := range l.lhs {
		if lh == r {
			b.WriteString("\toption lighthouse '1'\n")
		} else {
			fmt.Fprintf(&b, "\tlist endpoint '%s:%s'\n", lh.wan, port)
		}
	}
	return b.String()
}

// start runs the routers' daemons, all at once.
func (l *scaleLab) start(rs []*scaleRouter) {
	l.t.Helper()
	for _, r := range rs {
		_ = os.Remove(r.socket)
		p := r.host.Start("ipopd", l.ipopd, "run", "-c", r.config, "--state", r.state)
		r.mu.Lock()
		r.proc = p
		r.mu.Unlock()
	}
}

// stop ends the routers' daemons in parallel (SIGTERM, as a clean stop).
func (l *scaleLab) stop(rs []*scaleRouter) {
	var wg sync.WaitGroup
	for _, r := range rs {
		r.mu.Lock()
		p := r.proc
		r.proc = nil
		r.mu.Unlock()
		if p == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.Stop()
		}()
	}
	wg.Wait()
}

func (l *scaleLab) running() []*scaleRouter {
	var out []*scaleRouter
	for _, r := range l.routers {
		if r.process() != nil {
			out = append(out, r)
		}
	}
	return out
}

func (l *scaleLab) isLighthouse(r *scaleRouter) bool {
	for _, lh := range l.lhs {
		if lh == r {
			return true
		}
	}
	return false
}

// parallel runs do for every router on a few goroutines; the first error
// fails the test.
func (l *scaleLab) parallel(do func(r *scaleRouter) error) {
	l.t.Helper()
	l.each(l.routers, func(r *scaleRouter) {
		if err := do(r); err != nil {
			l.t.Errorf("%s: %v", r.name, err)
		}
	})
	if l.t.Failed() {
		l.t.FailNow()
	}
}

// each runs do for every router of rs on 8 goroutines.
func (l *scaleLab) each(rs []*scaleRouter, do func(r *scaleRouter)) {
	var wg sync.WaitGroup
	next := make(chan *scaleRouter)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range next {
				do(r)
			}
		}()
	}
	for _, r := range rs {
		next <- r
	}
	close(next)
	wg.Wait()
}

// controlWait bounds one control call: generous, since at a few hundred
// daemons on two cores an answer can take seconds.
const controlWait = 15 * time.Second

// status asks a router's daemon through its control socket (reachable
// from the test: it is a file).
func (r *scaleRouter) status() (control.Status, error) {
	var st control.Status
	ctx, cancel := context.WithTimeout(context.Background(), controlWait)
	defer cancel()
	err := control.Call(ctx, r.socket, "status", nil, &st)
	return st, err
}

func (r *scaleRouter) peers() ([]control.Peer, error) {
	var ps []control.Peer
	ctx, cancel := context.WithTimeout(context.Background(), controlWait)
	defer cancel()
	err := control.Call(ctx, r.socket, "peers", nil, &ps)
	return ps, err
}

// upNames returns the names of the peers r has a session up with; nil
// when the daemon did not answer.
func (r *scaleRouter) upNames() map[string]bool {
	ps, err := r.peers()
	if err != nil {
		return nil
	}
	out := map[string]bool{}
	for _, p := range ps {
		if p.State == "up" {
			out[p.Name] = true
		}
	}
	return out
}

// registered reports whether r has sessions up with every running
// lighthouse other than itself.
func (l *scaleLab) registered(r *scaleRouter) bool {
	up := r.upNames()
	for _, lh := range l.lhs {
		if lh != r && lh.process() != nil && !up[lh.name] {
			return false
		}
	}
	return true
}

// waitRegistered waits until every running router is registered.
func (l *scaleLab) waitRegistered(start time.Time, within time.Duration) (time.Duration, int) {
	rs := l.running()
	done := make(map[*scaleRouter]bool)
	var mu sync.Mutex
	for {
		var todo []*scaleRouter
		for _, r := range rs {
			if !done[r] {
				todo = append(todo, r)
			}
		}
		l.each(todo, func(r *scaleRouter) {
			if l.registered(r) {
				mu.Lock()
				done[r] = true
				mu.Unlock()
			}
		})
		if len(done) == len(rs) || time.Since(start) > within {
			return time.Since(start), len(done)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// firstPing pings b's overlay address from a's namespace, one echo
// request a second until the first reply or the deadline.
func (l *scaleLab) firstPing(a, b *scaleRouter, within time.Duration) (time.Duration, bool) {
	start := time.Now()
	_, err := a.host.Exec("ping", "-n", "-q", "-c", "1", "-w", strconv.Itoa(int(within.Seconds())), b.ip.String())
	return time.Since(start), err == nil
}

// rss returns a process's resident memory in bytes (VmRSS).
func rss(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// cpuTicks returns a process's user+system CPU time in clock ticks.
func cpuTicks(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces: fields count from after ")".
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	u, err1 := strconv.ParseFloat(f[11], 64)
	sy, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	return u + sy, nil
}
