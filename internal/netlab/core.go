package netlab

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Star is a routed simulated internet for hundreds of routers: one core
// router namespace and, for each router, a namespace with its own
// point-to-point uplink (a veth pair, a /31) to the core, as behind a real
// ISP. A flat bridge would not do at this size: hundreds of hosts on one
// segment overflow the kernel's neighbour table (gc_thresh3 is 1024 and
// shared by all namespaces), and sends fail with ENOBUFS.
//
// Star is built with a few batched ip(8) runs instead of a dozen commands
// per router, so 300 routers take seconds. The veth pairs are created as
// Link creates them: under random names in the root namespace, moved into
// their namespaces at once and renamed only there.
type Star struct {
	Core    *Host
	Routers []*Host
	// WAN[i] is router i's address on its uplink "wan0"; Gateway[i] is the
	// core's end of that uplink ("u<i>" in the core), router i's default
	// route.
	WAN, Gateway []netip.Addr
}

// starWorkers bounds the ip(8) and sysctl runs in flight while a Star is
// built: enough to hide the fork and exec latency on two cores.
const starWorkers = 8

// Star creates the core host and one router host per name, each router
// with wan0 addressed from uplinks (a /31 per router: the core takes the
// even address, the router the odd one) and a default route to the core.
// Routers have forwarding on, like Router; the core forwards between them.
// It must be called from the test goroutine.
func (l *Lab) Star(core string, routers []string, uplinks netip.Prefix) *Star {
	l.t.Helper()
	uplinks = uplinks.Masked()
	if !uplinks.Addr().Is4() || uplinks.Bits() > 31 || 1<<(32-uplinks.Bits()) < 2*len(routers) {
		l.fatalf("Star: %v: %s cannot hold %d /31 uplinks", ErrInvalid, uplinks, len(routers))
	}
	s := &Star{}
	hosts := l.reserveHosts(append([]string{core}, routers...))
	s.Core, s.Routers = hosts[0], hosts[1:]

	var b strings.Builder
	for _, h := range hosts {
		fmt.Fprintf(&b, "netns add %s\n", h.ns)
	}
	if err := l.batch("", b.String()); err != nil {
		l.dropMissing(hosts)
		l.fatalf("Star: creating namespaces: %v", err)
	}
	l.parallel(len(hosts), func(i int) error {
		h := hosts[i]
		// As Host and Router set them: every host of a Star forwards.
		kv := []string{
			"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
			"net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1",
			"net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
		}
		_, err := runTimeout(setupTimeout, "ip", append([]string{"netns", "exec", h.ns, "sysctl", "-q", "-w"}, kv...)...)
		return err
	})

	// The pairs, in the root namespace only as long as it takes to move them.
	tmp := make([][2]string, len(routers))
	b.Reset()
	for i, r := range s.Routers {
		for {
			a, errA := randomIfName()
			c, errC := randomIfName()
			if errA != nil || errC != nil {
				l.fatalf("Star: %v %v", errA, errC)
			}
			if a != c {
				tmp[i] = [2]string{a, c}
				break
			}
		}
		fmt.Fprintf(&b, "link add %s type veth peer name %s\nlink set dev %s netns %s\nlink set dev %s netns %s\n",
			tmp[i][0], tmp[i][1], tmp[i][0], r.ns, tmp[i][1], s.Core.ns)
	}
	if err := l.batch("", b.String()); err != nil {
		for _, p := range tmp {
			for _, n := range p {
				if _, err := runTimeout(setupTimeout, "ip", "link", "show", "dev", n); err == nil {
					_, _ = runTimeout(setupTimeout, "ip", "link", "del", "dev", n)
				}
			}
		}
		l.fatalf("Star: creating uplinks: %v", err)
	}

	base := uplinks.Addr()
	b.Reset()
	b.WriteString("link set dev lo up\n")
	for i := range s.Routers {
		gw := base
		for range 2 * i {
			gw = gw.Next()
		}
		s.Gateway = append(s.Gateway, gw)
		s.WAN = append(s.WAN, gw.Next())
		fmt.Fprintf(&b, "link set dev %s name u%d\naddr add %s/31 dev u%d\nlink set dev u%d up\n", tmp[i][1], i, gw, i, i)
	}
	if err := l.batch(s.Core.ns, b.String()); err != nil {
		l.fatalf("Star: core: %v", err)
	}
	l.parallel(len(s.Routers), func(i int) error {
		return l.batch(s.Routers[i].ns, fmt.Sprintf("link set dev lo up\nlink set dev %s name wan0\naddr add %s/31 dev wan0\nlink set dev wan0 up\nroute add default via %s\n",
			tmp[i][0], s.WAN[i], s.Gateway[i]))
	})
	return s
}

// reserveHosts registers hosts for names (their namespaces are made by
// the caller) so that cleanup deletes them.
func (l *Lab) reserveHosts(names []string) []*Host {
	l.t.Helper()
	seen := map[string]bool{}
	for _, n := range names {
		if err := checkHostName(n); err != nil {
			l.fatalf("%v", err)
		}
		if seen[n] {
			l.fatalf("host name %q given twice", n)
		}
		seen[n] = true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		l.t.Fatalf("netlab: lab already cleaned up")
	}
	for _, h := range l.hosts {
		if seen[h.name] {
			l.t.Fatalf("netlab: a host called %q already exists in the lab", h.name)
		}
	}
	var out []*Host
	for _, n := range names {
		h := &Host{lab: l, name: n, ns: nsName(l.pid, l.seq, n)}
		l.hosts = append(l.hosts, h)
		out = append(out, h)
	}
	return out
}

// dropMissing forgets reserved hosts whose namespace was never made, so
// that cleanup does not report them.
func (l *Lab) dropMissing(hosts []*Host) {
	out, err := runTimeout(setupTimeout, "ip", "netns", "list")
	if err != nil {
		return
	}
	have := map[string]bool{}
	for _, n := range parseNetnsList(out) {
		have[n] = true
	}
	l.mu.Lock()
	l.hosts = slices.DeleteFunc(l.hosts, func(h *Host) bool { return slices.Contains(hosts, h) && !have[h.ns] })
	l.mu.Unlock()
}

// batch runs commands (one ip(8) command per line) with `ip -batch`,
// inside namespace ns unless it is "".
func (l *Lab) batch(ns, commands string) error {
	f, err := os.CreateTemp(l.dir, "ip-batch-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(commands); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	args := []string{"-batch", filepath.Clean(f.Name())}
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	_, err = runTimeout(setupTimeout, "ip", args...)
	return err
}

// parallel runs do(0..n-1) on starWorkers goroutines and fails the test
// with the first error.
func (l *Lab) parallel(n int, do func(i int) error) {
	l.t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range starWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = do(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			l.fatalf("%v", err)
		}
	}
}
