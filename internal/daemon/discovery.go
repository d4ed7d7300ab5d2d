package daemon

import (
	"context"
	"errors"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipopd/ipopd/internal/transport"
	"github.com/ipopd/ipopd/internal/wire"
)

// Discovery through lighthouses.
//
// Lighthouse side: every member announces its own addresses; the
// lighthouse adds the address it sees the member at (its NAT's mapping)
// and sends every member the directory of members and their candidates
// whenever it changes. On a PunchRequest it sends Punch to both members at
// once, so that both probe each other's candidates at the same moment.
//
// Member side: members in a directory are linked on demand. When the
// switch floods a frame, members without a session get a copy staged and
// are woken: a session is made at once through the lighthouse's relay (or
// the member's TURN address), the staged frames follow, and the lighthouse
// is asked to coordinate a punch. The session moves to the direct path by
// itself when a probe gets through (package transport, probe.go). Links
// that carry no frame for link_idle are closed; the next frame makes them
// again.

const (
	// directoryEvery resends the directory even without changes: a member
	// that lost one catches up.
	directoryEvery = 30 * time.Second
	// announceEvery re-announces candidates (interface addresses change).
	announceEvery = 60 * time.Second
	// repunchEvery retries punching for sessions still relayed: longer than
	// the 30 s Linux keeps an unanswered UDP conntrack entry, which is
	// what spoils a punch whose probes did not cross.
	repunchEvery = 35 * time.Second
	// viaRetry is the pause between attempts to reach a member through a
	// relay that failed.
	viaRetry = 5 * time.Second
)

type discovery struct {
	d  *Daemon
	m  *member
	mu sync.Mutex // guards the fields below
	// Lighthouse: what members announced.
	announced map[string][]string // node id -> host candidates
	relayedBy map[string][]string // node id -> TURN relayed addresses
	dirty     bool
	// Member: candidates of members, from directories.
	cands   map[string][]netip.AddrPort
	turns   map[string][]netip.AddrPort // members' TURN relayed addresses
	dialing map[string]bool
	rewake  map[string]bool            // woken while a reach was finishing: reach again
	via     map[string]*transport.Peer // member -> the lighthouse that listed it
	// lastTURN is the relayed address we announced last.
	lastTURN netip.AddrPort
	// activity tracks, per linked member, the frame count and when it last
	// moved, to close idle links.
	activity map[string]activity

	// waiting lists the members known from directories that have no
	// session: the switch stages frames for them and wakes them.
	waiting atomic.Pointer[[]string]
}

type activity struct {
	frames uint64
	since  time.Time
}

func newDiscovery(d *Daemon, m *member) *discovery {
	return &discovery{d: d, m: m, announced: map[string][]string{}, relayedBy: map[string][]string{},
		cands: map[string][]netip.AddrPort{}, turns: map[string][]netip.AddrPort{}, dialing: map[string]bool{},
		via: map[string]*transport.Peer{}, activity: map[string]activity{}, rewake: map[string]bool{}}
}

func (x *discovery) isLighthouse() bool {
	x.d.mu.Lock()
	defer x.d.mu.Unlock()
	return x.d.cfg.Lighthouse
}

// peerUp: announce ourselves to a lighthouse; a lighthouse publishes the
// new member.
func (x *discovery) peerUp(p *transport.Peer) {
	if p.Roles()&wire.RoleLighthouse != 0 {
		x.announce(p)
	}
	x.refreshWaiting()
	// No probing here: a probe that reaches the far NAT before that NAT
	// has sent anything our way makes a port-restricted NAT (Linux
	// conntrack) remap the far side's own probes, and the punch fails.
	// Both ends probe only when the lighthouse's Punch tells them to, at
	// the same moment.
	if x.isLighthouse() {
		x.mu.Lock()
		x.dirty = true
		x.mu.Unlock()
	}
}

func (x *discovery) peerDown(p *transport.Peer) {
	x.refreshWaiting()
	if x.isLighthouse() {
		x.mu.Lock()
		x.dirty = true
		x.mu.Unlock()
	}
}

func (x *discovery) announce(p *transport.Peer) {
	x.d.mu.Lock()
	cfg := x.d.cfg
	x.d.mu.Unlock()
	a := &wire.Announce{}
	if st := x.d.groupState(); st != nil {
		a.Candidates = LocalEndpoints(cfg, st.Subnet)
	}
	if r, ok := x.m.tr.TURNRelayed(); ok {
		a.Relayed = []string{r.String()}
	}
	_ = x.m.tr.SendControl(p, a)
}

// handle takes discovery messages; it reports whether msg was one.
func (x *discovery) handle(p *transport.Peer, msg any) bool {
	switch msg := msg.(type) {
	case *wire.Announce:
		if !x.isLighthouse() {
			return true
		}
		// What a member announces on the overlay itself is dropped: a
		// peer probing it would go through the tunnel.
		f := x.m.filter.get()
		c := filterCandidates(f, msg.Candidates, 16)
		r := filterCandidates(f, msg.Relayed, 4)
		x.mu.Lock()
		x.announced[p.NodeID] = c
		x.relayedBy[p.NodeID] = r
		x.dirty = true
		x.mu.Unlock()
	case *wire.Directory:
		if p.Roles()&wire.RoleLighthouse == 0 {
			return true // only lighthouses publish directories
		}
		x.directory(p, msg)
	case *wire.PunchRequest:
		if x.isLighthouse() {
			x.punch(p, msg.Target)
		}
	case *wire.Punch:
		if p.Roles()&wire.RoleLighthouse == 0 {
			return true
		}
		if target := x.peer(msg.NodeID); target != nil {
			x.m.tr.Probe(target, parseCandidates(msg.Candidates))
		}
	default:
		return false
	}
	return true
}

func (x *discovery) peer(id string) *transport.Peer {
	for _, p := range x.m.tr.Peers() {
		if p.NodeID == id {
			return p
		}
	}
	return nil
}

// candidatesOf is what a lighthouse knows of a member: the address it
// sees it at first, then what it announced.
func (x *discovery) candidatesOfLocked(p *transport.Peer) []string {
	var out []string
	if st := p.Status(); st.State == "up" && st.Path == "direct" && st.Endpoint.IsValid() && x.m.filter.get().Path(st.Endpoint.Addr()) {
		out = append(out, st.Endpoint.String())
	}
	for _, c := range x.announced[p.NodeID] {
		if len(out) == 0 || c != out[0] {
			out = append(out, c)
		}
	}
	return out
}

// publish sends the directory to every member (lighthouse only).
func (x *discovery) publish(force bool) {
	x.mu.Lock()
	if !x.dirty && !force {
		x.mu.Unlock()
		return
	}
	x.dirty = false
	up := x.m.tr.UpPeers()
	dir := &wire.Directory{}
	for _, p := range up {
		dir.Members = append(dir.Members, wire.DirectoryEntry{NodeID: p.NodeID, Name: p.DisplayName(),
			Candidates: x.candidatesOfLocked(p), Relayed: x.relayedBy[p.NodeID]})
	}
	x.mu.Unlock()
	sort.Slice(dir.Members, func(i, j int) bool { return dir.Members[i].NodeID < dir.Members[j].NodeID })
	for _, p := range up {
		_ = x.m.tr.SendControl(p, dir)
	}
}

// punch tells both members to probe each other now.
func (x *discovery) punch(from *transport.Peer, target string) {
	t := x.peer(target)
	if t == nil || !t.Up() {
		return
	}
	x.mu.Lock()
	ca, cb := x.candidatesOfLocked(from), x.candidatesOfLocked(t)
	x.mu.Unlock()
	_ = x.m.tr.SendControl(t, &wire.Punch{NodeID: from.NodeID, Candidates: ca})
	_ = x.m.tr.SendControl(from, &wire.Punch{NodeID: t.NodeID, Candidates: cb})
}

// directory takes a lighthouse's directory: remember candidates, and
// reach the members we have no session with.
func (x *discovery) directory(lh *transport.Peer, dir *wire.Directory) {
	st := x.d.groupState()
	if st == nil {
		return
	}
	// Let every member reach our TURN relayed address, if we have one
	// (TURN permissions are per IP address).
	var ips []netip.Addr
	for _, e := range dir.Members {
		for _, c := range parseCandidates(e.Candidates) {
			ips = append(ips, c.Addr())
		}
	}
	x.m.tr.PermitTURN(ips)
	for _, e := range dir.Members {
		if e.NodeID == st.NodeID {
			continue
		}
		cands := parseCandidates(e.Candidates)
		x.mu.Lock()
		x.cands[e.NodeID] = cands
		x.turns[e.NodeID] = parseCandidates(e.Relayed)
		x.via[e.NodeID] = lh
		x.mu.Unlock()
	}
	x.refreshWaiting()
}

// refreshWaiting republishes the members without a session.
func (x *discovery) refreshWaiting() {
	st := x.d.groupState()
	x.mu.Lock()
	var w []string
	for id := range x.via {
		if st != nil && id == st.NodeID {
			continue
		}
		if p := x.peer(id); p == nil || !p.Up() {
			w = append(w, id)
		}
	}
	x.mu.Unlock()
	sort.Strings(w)
	x.waiting.Store(&w)
}

// Waiting returns the members that have no session now (shared slice).
func (x *discovery) Waiting() []string {
	if w := x.waiting.Load(); w != nil {
		return *w
	}
	return nil
}

// wake makes a link to member id on demand: through its lighthouse's
// relay (or its TURN address) at once, then punched to a direct path.
func (x *discovery) wake(id string) {
	x.mu.Lock()
	lh := x.via[id]
	if x.dialing[id] {
		x.rewake[id] = true
		x.mu.Unlock()
		return
	}
	if lh == nil {
		x.mu.Unlock()
		return
	}
	x.dialing[id] = true
	x.mu.Unlock()
	x.m.wg.Add(1)
	go x.reach(lh, id)
}

// reach makes a session with member id, through relay lh or the
// member's TURN address, and then asks lh to coordinate a punch; while the
// session stays relayed it asks again every repunchEvery. It returns when
// the session ends, or after a few failed attempts (the next frame for the
// member wakes it again). One goroutine per member being reached.
func (x *discovery) reach(lh *transport.Peer, id string) {
	defer x.m.wg.Done()
	defer func() {
		x.mu.Lock()
		delete(x.dialing, id)
		again := x.rewake[id] && x.m.ctx.Err() == nil
		delete(x.rewake, id)
		x.mu.Unlock()
		if again {
			x.wake(id)
		}
	}()
	failures := 0
	wasUp := false
	var lastPunch time.Time
	for x.m.ctx.Err() == nil && failures < 3 {
		if p := x.peer(id); p != nil && p.Up() {
			wasUp = true
			if st := p.Status(); st.Path != "direct" && time.Since(lastPunch) >= repunchEvery {
				_ = x.m.tr.SendControl(lh, &wire.PunchRequest{Target: id})
				lastPunch = time.Now()
			}
			sleepCtx(x.m.ctx, time.Second)
			continue
		}
		if wasUp || !lh.Up() {
			return // closed (idle, gone) or no lighthouse: the next frame wakes us
		}
		ctx, cancel := context.WithTimeout(x.m.ctx, 15*time.Second)
		var p *transport.Peer
		var err error
		if lh.Roles()&wire.RoleRelay != 0 {
			p, err = x.m.tr.ConnectVia(ctx, lh, id)
		} else {
			// The lighthouse does not relay: reach the member through
			// its TURN relayed address, if it has one.
			x.mu.Lock()
			turns := x.turns[id]
			x.mu.Unlock()
			err = errNoRelay
			for _, r := range turns {
				if p, err = x.m.tr.Connect(ctx, r); err == nil {
					break
				}
			}
		}
		cancel()
		if err != nil {
			failures++
			x.d.log.Debug("no session through the relay yet", "node", id, "relay", lh.DisplayName(), "err", err)
			sleepCtx(x.m.ctx, viaRetry)
			continue
		}
		// Let the far end see the session up before the punch starts.
		sleepCtx(x.m.ctx, 500*time.Millisecond)
		if p.Up() {
			_ = x.m.tr.SendControl(lh, &wire.PunchRequest{Target: id})
			lastPunch = time.Now()
		}
	}
}

// run is the discovery timer: directory publishing on a lighthouse and
// periodic announcements. One goroutine per member run.
func (x *discovery) run() {
	defer x.m.wg.Done()
	tk := time.NewTicker(time.Second)
	defer tk.Stop()
	var sinceDir, sinceAnnounce time.Duration
	sinceFilter := 0
	for {
		select {
		case <-x.m.ctx.Done():
			return
		case <-tk.C:
		}
		sinceDir += time.Second
		sinceAnnounce += time.Second
		if sinceFilter++; sinceFilter >= filterEvery {
			sinceFilter = 0
			x.d.refreshFilter(x.m)
		}
		x.closeIdle(time.Now())
		if r, _ := x.m.tr.TURNRelayed(); r != x.lastTURN {
			// A new TURN allocation: tell the lighthouses now.
			x.lastTURN = r
			sinceAnnounce = announceEvery
		}
		if x.isLighthouse() {
			x.publish(sinceDir >= directoryEvery)
			if sinceDir >= directoryEvery {
				sinceDir = 0
			}
		}
		if sinceAnnounce >= announceEvery {
			sinceAnnounce = 0
			for _, p := range x.m.tr.UpPeers() {
				if p.Roles()&wire.RoleLighthouse != 0 {
					x.announce(p)
				}
			}
		}
	}
}

// closeIdle closes links to members that carried no frame for link_idle.
// Links to lighthouses and configured endpoints stay, and a lighthouse
// closes nothing: its links carry the directory and relayed traffic, and
// the members would only dial it again.
func (x *discovery) closeIdle(now time.Time) {
	x.d.mu.Lock()
	idle := x.d.cfg.LinkIdle
	x.d.mu.Unlock()
	if idle <= 0 || x.isLighthouse() {
		return
	}
	for _, p := range x.m.tr.UpPeers() {
		if p.Roles()&wire.RoleLighthouse != 0 || x.m.tr.Maintained(p) {
			continue
		}
		n := p.Frames()
		x.mu.Lock()
		a, ok := x.activity[p.NodeID]
		if !ok || a.frames != n {
			x.activity[p.NodeID] = activity{frames: n, since: now}
			x.mu.Unlock()
			continue
		}
		x.mu.Unlock()
		if now.Sub(a.since) >= idle {
			id := p.NodeID
			x.m.tr.DropIf(func(i transport.Identity) bool { return i.NodeID == id }, "idle")
			x.mu.Lock()
			delete(x.activity, id)
			x.mu.Unlock()
			x.d.log.Info("link closed: idle", "peer", p.DisplayName(), "after", idle.String())
		}
	}
}

var errNoRelay = errors.New("the lighthouse does not relay and the member has no TURN address")

// viaTURN reports whether ep is one of a member's TURN relayed addresses.
func (x *discovery) viaTURN(nodeID string, ep netip.AddrPort) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, r := range x.turns[nodeID] {
		if r == ep {
			return true
		}
	}
	return false
}

func parseCandidates(in []string) []netip.AddrPort {
	var out []netip.AddrPort
	for _, c := range in {
		if ap, err := netip.ParseAddrPort(c); err == nil && ap.Port() != 0 {
			out = append(out, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
		}
	}
	return out
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
