package daemon

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"maps"
	"math/big"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/group"
	"github.com/ipopd/ipopd/internal/netsim"
	"github.com/ipopd/ipopd/uci/ipopconf"
)

// The in-process group of the scale measurement (issue 11): members on one
// netsim network, each with a fake TAP, member 0 the owner, members 1..3
// the lighthouses, everyone else configured with the lighthouses as its
// endpoints. Members can be stopped and started again with their state.

// scaleSubnet holds the group; it is created for the number of members
// measured, so every member gets its own DHCP pool (group.PlanLayout).
var scaleSubnet = netip.MustParsePrefix("10.64.0.0/12")

type scaleGroup struct {
	t    *testing.T
	dir  string
	net  *netsim.Network
	ms   []*scaleMember
	lhs  []*scaleMember
	logs *logTally
}

type scaleMember struct {
	i      int
	name   string
	addr   netip.AddrPort // underlay
	cfg    ipopconf.Config
	nodeID string
	ip     netip.Addr // overlay address from the certificate
	serial *big.Int

	mu     sync.Mutex // guards the fields below
	d      *Daemon
	dev    *fakeDevice
	cancel context.CancelFunc
	done   chan error
}

func (m *scaleMember) daemon() (*Daemon, *fakeDevice) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d, m.dev
}

// newScaleGroup provisions n members (certificates and state directories).
func newScaleGroup(t *testing.T, n, lighthouses int) *scaleGroup {
	t.Helper()
	g := &scaleGroup{t: t, dir: t.TempDir(), net: netsim.New(), logs: newLogTally()}
	now := time.Now()
	// The group is planned for n members: pools sized so that every one
	// gets its DHCP slice (see group.PlanLayout).
	owner, err := group.Create(filepath.Join(g.dir, "m0"), group.CreateOptions{Name: "scale", Subnet: scaleSubnet, NodeName: "m0", Now: now, LocalPrefixes: noPrefixes, Members: n})
	if err != nil {
		t.Fatal(err)
	}
	bundles := make([][]byte, n)
	for i := 1; i < n; i++ {
		if bundles[i], err = owner.Issue(fmt.Sprintf("m%d", i), netip.Addr{}, now); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		m := &scaleMember{i: i, name: fmt.Sprintf("m%d", i), addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte((i + 1) >> 8), byte(i + 1)}), 6464)}
		g.ms = append(g.ms, m)
		if i >= 1 && i <= lighthouses {
			g.lhs = append(g.lhs, m)
		}
	}
	// Installing is file work per member: in parallel.
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	for i := 1; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := group.Install(filepath.Join(g.dir, g.ms[i].name), bundles[i], group.InstallOptions{Now: now, LocalPrefixes: noPrefixes}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, m := range g.ms {
		st, err := group.Load(filepath.Join(g.dir, m.name))
		if err != nil {
			t.Fatal(err)
		}
		m.nodeID, m.ip, m.serial = st.NodeID, st.Address, st.NodeCert.SerialNumber
		cfg := ipopconf.Default()
		cfg.ControlSocket, cfg.UbusSocket = "", ""
		for _, lh := range g.lhs {
			if lh != m {
				cfg.Endpoints = append(cfg.Endpoints, lh.addr.String())
			}
		}
		for _, lh := range g.lhs {
			if lh == m {
				cfg.Lighthouse = true
			}
		}
		m.cfg = cfg
	}
	t.Cleanup(func() { g.stop(g.ms) })
	return g
}

// start runs the members' daemons (all at once: each Run goes on its own).
func (g *scaleGroup) start(ms []*scaleMember) {
	g.t.Helper()
	for _, m := range ms {
		conn, err := g.net.Listen(m.addr)
		if err != nil {
			g.t.Fatal(err)
		}
		dev := newFakeDevice()
		d, err := New(Options{
			Config:   m.cfg,
			StateDir: filepath.Join(g.dir, m.name),
			Version:  "scale",
			Logger:   slog.New(g.logs.handler(m.name)),
			Conn:     conn,
			Device:   dev,
		})
		if err != nil {
			g.t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		m.mu.Lock()
		m.d, m.dev, m.cancel, m.done = d, dev, cancel, done
		m.mu.Unlock()
		go func() { done <- d.Run(ctx, nil) }()
	}
}

// stop ends the members' daemons, in parallel, and waits for them.
func (g *scaleGroup) stop(ms []*scaleMember) {
	var wg sync.WaitGroup
	for _, m := range ms {
		m.mu.Lock()
		cancel, done := m.cancel, m.done
		m.d, m.dev, m.cancel, m.done = nil, nil, nil, nil
		m.mu.Unlock()
		if cancel == nil {
			continue
		}
		cancel()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := <-done; err != nil {
				g.t.Errorf("%s: Run: %v", m.name, err)
			}
		}()
	}
	wg.Wait()
}

// running returns the members whose daemon runs.
func (g *scaleGroup) running() []*scaleMember {
	var out []*scaleMember
	for _, m := range g.ms {
		if d, _ := m.daemon(); d != nil {
			out = append(out, m)
		}
	}
	return out
}

func (g *scaleGroup) isLighthouse(m *scaleMember) bool {
	for _, lh := range g.lhs {
		if lh == m {
			return true
		}
	}
	return false
}

// upIDs returns the node ids m has an up session with.
func upIDs(m *scaleMember) map[string]bool {
	out := map[string]bool{}
	d, _ := m.daemon()
	if d == nil {
		return out
	}
	if mm := d.member(); mm != nil {
		for _, p := range mm.tr.UpPeers() {
			out[p.NodeID] = true
		}
	}
	return out
}

// registered reports whether m has up sessions with every running
// lighthouse other than itself.
func (g *scaleGroup) registered(m *scaleMember) bool {
	up := upIDs(m)
	for _, lh := range g.lhs {
		if d, _ := lh.daemon(); lh != m && d != nil && !up[lh.nodeID] {
			return false
		}
	}
	return true
}

// waitRegistered waits until every running member is registered; it
// returns how long that took, how many were registered at the end and how
// many had a session with at least one lighthouse.
func (g *scaleGroup) waitRegistered(start time.Time, within time.Duration) (time.Duration, int, int) {
	ms := g.running()
	for {
		n, some := 0, 0
		for _, m := range ms {
			if g.registered(m) {
				n++
			}
			up := upIDs(m)
			for _, lh := range g.lhs {
				if up[lh.nodeID] || lh == m {
					some++
					break
				}
			}
		}
		if n == len(ms) || time.Since(start) > within {
			return time.Since(start), n, some
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// hostMAC is the MAC of the LAN host behind member i.
func hostMAC(i int) [6]byte { return [6]byte{2, 0x5c, 0, byte(i >> 16), byte(i >> 8), byte(i)} }

// arp builds an ARP request (op 1, broadcast) or reply (op 2, to dst).
func arp(op uint16, src, dst [6]byte, srcIP, dstIP netip.Addr) []byte {
	f := make([]byte, 14+28, 60)
	if op == 1 {
		copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	} else {
		copy(f, dst[:])
	}
	copy(f[6:], src[:])
	binary.BigEndian.PutUint16(f[12:], 0x0806)
	a := f[14:]
	binary.BigEndian.PutUint16(a[0:], 1)      // Ethernet
	binary.BigEndian.PutUint16(a[2:], 0x0800) // IPv4
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:], op)
	copy(a[8:], src[:])
	s4, d4 := srcIP.As4(), dstIP.As4()
	copy(a[14:], s4[:])
	if op == 2 {
		copy(a[18:], dst[:])
	}
	copy(a[24:], d4[:])
	return append(f, make([]byte, 60-len(f))...)
}

// firstFrame does what the first ping from a's LAN to b does: an ARP
// request for b's address (resent every second, like the kernel) until b's
// LAN has it, then b's unicast reply back. It returns the round trip, or
// false when it did not complete within the time given.
func (g *scaleGroup) firstFrame(a, b *scaleMember, within time.Duration) (time.Duration, bool) {
	_, da := a.daemon()
	_, db := b.daemon()
	if da == nil || db == nil {
		return 0, false
	}
	req := arp(1, hostMAC(a.i), [6]byte{}, a.ip, b.ip)
	rep := arp(2, hostMAC(b.i), hostMAC(a.i), b.ip, a.ip)
	start := time.Now()
	deadline := start.Add(within)
	var lastReq time.Time
	gotReq := false
	for time.Now().Before(deadline) {
		if !gotReq {
			if db.got(req[14:42]) > 0 {
				gotReq = true
				db.in <- rep
			} else if time.Since(lastReq) >= time.Second {
				da.in <- req
				lastReq = time.Now()
			}
		} else if da.got(rep[14:42]) > 0 {
			return time.Since(start), true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start), false
}

// unicast sends a frame a -> b (MACs learned already) and reports whether
// it arrived within the time given.
func (g *scaleGroup) unicast(a, b *scaleMember, marker string, within time.Duration) bool {
	_, da := a.daemon()
	_, db := b.daemon()
	if da == nil || db == nil {
		return false
	}
	da.in <- frame(hostMAC(b.i), hostMAC(a.i), marker)
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if db.got([]byte(marker)) > 0 {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// logTally counts log records by level and message across all members and
// keeps the first few of each kind at warning level or above, so a run
// reports what broke without printing thousands of lines.
type logTally struct {
	mu      sync.Mutex
	counts  map[string]int
	samples map[string][]string
	// timeouts counts failed handshakes and dials that timed out.
	timeouts int
}

func newLogTally() *logTally {
	return &logTally{counts: map[string]int{}, samples: map[string][]string{}}
}

func (l *logTally) reset() {
	l.mu.Lock()
	l.counts, l.samples, l.timeouts = map[string]int{}, map[string][]string{}, 0
	l.mu.Unlock()
}

func (l *logTally) handler(member string) slog.Handler { return &tallyHandler{l: l, member: member} }

// summary lists the kinds of records, most frequent first, with samples
// of warnings and skipped messages.
func (l *logTally) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := slices.Collect(maps.Keys(l.counts))
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(l.counts[b]-l.counts[a], strings.Compare(a, b)) })
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%8d x %s\n", l.counts[k], k)
		for _, s := range l.samples[k] {
			fmt.Fprintf(&b, "             e.g. %s\n", s)
		}
	}
	return b.String()
}

func (l *logTally) count(prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for k, v := range l.counts {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

type tallyHandler struct {
	l      *logTally
	member string
	attrs  []slog.Attr
}

// Enabled takes debug records too: "control message skipped" (a message
// the decoder refused) is one, and it is what breaks first at size.
func (h *tallyHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *tallyHandler) Handle(_ context.Context, r slog.Record) error {
	key := r.Level.String() + " " + r.Message
	timeout := false
	var line strings.Builder
	sample := r.Level >= slog.LevelWarn || strings.Contains(r.Message, "skipped")
	if sample || strings.Contains(r.Message, "handshake") || strings.Contains(r.Message, "reach") {
		fmt.Fprintf(&line, "%s: %s", h.member, r.Message)
		r.Attrs(func(a slog.Attr) bool {
			v := a.Value.String()
			fmt.Fprintf(&line, " %s=%q", a.Key, v)
			if a.Key == "err" && (strings.Contains(v, "timeout") || strings.Contains(v, "deadline")) {
				timeout = true
			}
			return true
		})
	}
	h.l.mu.Lock()
	h.l.counts[key]++
	if timeout {
		h.l.timeouts++
	}
	if sample && len(h.l.samples[key]) < 3 {
		h.l.samples[key] = append(h.l.samples[key], line.String())
	}
	h.l.mu.Unlock()
	return nil
}

func (h *tallyHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &tallyHandler{l: h.l, member: h.member, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h *tallyHandler) WithGroup(string) slog.Handler { return h }
