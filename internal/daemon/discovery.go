package daemon

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ipopd/ipopd/internal/addrwatch"
	"github.com/ipopd/ipopd/internal/transport"
	"github.com/ipopd/ipopd/internal/wire"
)

// Discovery through lighthouses, sized for groups of a thousand members.
//
// Lighthouse side: every member registers with every lighthouse it is
// configured with (a session, then an Announce of its own candidates and
// TURN relayed addresses); the lighthouse adds the address it sees the
// member at (its NAT's mapping). Nothing is pushed to the members: a
// member asks (Query) about the one member it has traffic for, and the
// lighthouse answers (QueryReply) from what it holds. A change of
// membership therefore costs nothing to the others, and no message grows
// with the group. On a PunchRequest the lighthouse sends Punch to both
// members at once, so that both probe each other's candidates at the same
// moment.
//
// Member side: a link to another member is made on demand, when the
// switch has a frame for it (wake). The member asks its lighthouses, in a
// stable order, which of them has the target; the session is made at once
// through that lighthouse's relay (or the target's TURN relayed address),
// the staged frames follow, and the lighthouse is asked to coordinate a
// punch. The session moves to the direct path by itself when a probe gets
// through (package transport, probe.go). Losing a lighthouse loses
// nothing: the next one answers, and the transport moves sessions that
// were relayed through it to another relay. Links that carry no frame for
// link_idle are closed; the next frame makes them again.

const (
	// announceEvery re-announces candidates (interface addresses change).
	announceEvery = 60 * time.Second
	// repunchEvery retries punching for sessions still relayed: longer than
	// the 30 s Linux keeps an unanswered UDP conntrack entry, which is
	// what spoils a punch whose probes did not cross.
	repunchEvery = 35 * time.Second
	// queryTimeout is how long one lighthouse has to answer a Query: a
	// round trip, with room for a busy lighthouse.
	queryTimeout = time.Second
	// reachRetry is the pause after a round in which no lighthouse could
	// reach the member.
	reachRetry = 2 * time.Second
	// reachAttempts bounds the rounds per wake; the next frame for the
	// member wakes it again.
	reachAttempts = 3
	// maxCandidates and maxRelayed bound what a lighthouse keeps per member.
	maxCandidates = 16
	maxRelayed    = 4
)

type discovery struct {
	d  *Daemon
	m  *member
	mu sync.Mutex // guards the fields below
	// Lighthouse: what members announced.
	announced map[string]wire.Announce // node id -> its candidates (filtered)
	// Member: links being made, and the answers waited for.
	dialing map[string]bool
	rewake  map[string]bool                      // woken while a reach was finishing: reach again
	via     map[string]*transport.Peer           // member -> the lighthouse that last had it
	turns   map[string][]netip.AddrPort          // members' TURN relayed addresses, from answers
	waiters map[queryKey][]chan *wire.QueryReply // queries in flight
	// lastTURN is the relayed address we announced last.
	lastTURN netip.AddrPort
	// activity tracks, per linked member, the frame count and when it last
	// moved, to close idle links.
	activity map[string]activity
}

type activity struct {
	frames uint64
	since  time.Time
}

func newDiscovery(d *Daemon, m *member) *discovery {
	return &discovery{d: d, m: m, announced: map[string]wire.Announce{}, dialing: map[string]bool{},
		rewake: map[string]bool{}, via: map[string]*transport.Peer{}, turns: map[string][]netip.AddrPort{},
		waiters: map[queryKey][]chan *wire.QueryReply{}, activity: map[string]activity{}}
}

func (x *discovery) isLighthouse() bool {
	x.d.mu.Lock()
	defer x.d.mu.Unlock()
	return x.d.cfg.Lighthouse
}

// peerUp: register with a lighthouse.
//
// No probing here: a probe that reaches the far NAT before that NAT has
// sent anything our way makes a port-restricted NAT (Linux conntrack)
// remap the far side's own probes, and the punch fails. Both ends probe
// only when the lighthouse's Punch tells them to, at the same moment.
func (x *discovery) peerUp(p *transport.Peer) {
	if p.Roles()&wire.RoleLighthouse != 0 {
		x.announce(p)
	}
}

// peerDown: a lighthouse forgets what the member announced; it answers
// queries about it with "not found" until it registers again.
func (x *discovery) peerDown(p *transport.Peer) {
	x.mu.Lock()
	delete(x.announced, p.NodeID)
	delete(x.activity, p.NodeID)
	for id, lh := range x.via {
		if lh == p {
			delete(x.via, id)
		}
	}
	x.mu.Unlock()
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
		a := wire.Announce{Candidates: filterCandidates(f, msg.Candidates, maxCandidates), Relayed: filterCandidates(f, msg.Relayed, maxRelayed)}
		x.mu.Lock()
		x.announced[p.NodeID] = a
		x.mu.Unlock()
	case *wire.Query:
		if x.isLighthouse() {
			x.answer(p, msg.NodeID)
		}
	case *wire.QueryReply:
		if p.Roles()&wire.RoleLighthouse == 0 {
			return true // only lighthouses answer
		}
		x.reply(p, msg)
	case *wire.PunchRequest:
		if x.isLighthouse() {
			x.punch(p, msg.Target)
		}
	case *wire.Punch:
		if p.Roles()&wire.RoleLighthouse == 0 {
			return true
		}
		if target := x.m.tr.Peer(msg.NodeID); target != nil {
			x.m.tr.Probe(target, parseCandidates(msg.Candidates))
		}
	default:
		return false
	}
	return true
}

// entryLocked is what a lighthouse knows of member p: the address it
// sees it at first, then what it announced.
func (x *discovery) entryLocked(p *transport.Peer) *wire.QueryReply {
	e := &wire.QueryReply{NodeID: p.NodeID, Found: true, Name: p.DisplayName()}
	if st := p.Status(); st.State == "up" && st.Path == "direct" && st.Endpoint.IsValid() && x.m.filter.get().Path(st.Endpoint.Addr()) {
		e.Candidates = append(e.Candidates, st.Endpoint.String())
	}
	a := x.announced[p.NodeID]
	for _, c := range a.Candidates {
		if !slices.Contains(e.Candidates, c) {
			e.Candidates = append(e.Candidates, c)
		}
	}
	e.Relayed = a.Relayed
	return e
}

// answer tells asker where member id is, if this lighthouse has it. When
// the member has TURN relayed addresses, it is told about the asker too,
// so that its allocation admits the asker's handshake.
func (x *discovery) answer(asker *transport.Peer, id string) {
	t := x.m.tr.Peer(id)
	if t == nil || !t.Up() || t == asker {
		_ = x.m.tr.SendControl(asker, &wire.QueryReply{NodeID: id})
		return
	}
	x.mu.Lock()
	e, intro := x.entryLocked(t), x.entryLocked(asker)
	x.mu.Unlock()
	if len(e.Relayed) > 0 {
		_ = x.m.tr.SendControl(t, intro)
	}
	_ = x.m.tr.SendControl(asker, e)
}

// queryKey names a query in flight: the lighthouse asked and the member
// asked about. An answer is taken only from the lighthouse it was asked
// of (a late one from a lighthouse that timed out must not pass for the
// next one's).
type queryKey struct {
	lh *transport.Peer
	id string
}

// reply takes lighthouse lh's answer: for a query in flight, or an
// introduction of a member about to reach us through our TURN address
// (which, if we are asking lh about that member just then, is as good
// an answer).
func (x *discovery) reply(lh *transport.Peer, r *wire.QueryReply) {
	if r.Found {
		// TURN permissions are per IP address: let the member's
		// addresses reach our relayed address.
		var ips []netip.Addr
		for _, c := range parseCandidates(r.Candidates) {
			if x.m.filter.get().Path(c.Addr()) {
				ips = append(ips, c.Addr())
			}
		}
		x.m.tr.PermitTURN(ips)
	}
	x.mu.Lock()
	k := queryKey{lh, r.NodeID}
	ws := x.waiters[k]
	delete(x.waiters, k)
	x.mu.Unlock()
	for _, w := range ws {
		w <- r // buffered: one answer per waiter
	}
}

// punch tells both members to probe each other now.
func (x *discovery) punch(from *transport.Peer, target string) {
	t := x.m.tr.Peer(target)
	if t == nil || !t.Up() {
		return
	}
	x.mu.Lock()
	ca, cb := x.entryLocked(from), x.entryLocked(t)
	x.mu.Unlock()
	_ = x.m.tr.SendControl(t, &wire.Punch{NodeID: from.NodeID, Candidates: ca.Candidates})
	_ = x.m.tr.SendControl(from, &wire.Punch{NodeID: t.NodeID, Candidates: cb.Candidates})
}

// lighthouses returns the up lighthouses in a stable order (by node id),
// the one that last had member id first.
func (x *discovery) lighthouses(id string) []*transport.Peer {
	var out []*transport.Peer
	for _, p := range x.m.tr.UpPeers() {
		if p.Roles()&wire.RoleLighthouse != 0 && p.NodeID != id {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *transport.Peer) int { return strings.Compare(a.NodeID, b.NodeID) })
	x.mu.Lock()
	last := x.via[id]
	x.mu.Unlock()
	if i := slices.Index(out, last); i > 0 {
		out[0], out[i] = out[i], out[0]
	}
	return out
}

// query asks lighthouse lh about member id and waits for the answer.
func (x *discovery) query(lh *transport.Peer, id string) (*wire.QueryReply, error) {
	w := make(chan *wire.QueryReply, 1)
	k := queryKey{lh, id}
	x.mu.Lock()
	x.waiters[k] = append(x.waiters[k], w)
	x.mu.Unlock()
	defer func() {
		x.mu.Lock()
		ws := x.waiters[k]
		if i := slices.Index(ws, w); i >= 0 {
			ws = slices.Delete(ws, i, i+1)
		}
		if len(ws) == 0 {
			delete(x.waiters, k)
		} else {
			x.waiters[k] = ws
		}
		x.mu.Unlock()
	}()
	if err := x.m.tr.SendControl(lh, &wire.Query{NodeID: id}); err != nil {
		return nil, err
	}
	tm := time.NewTimer(queryTimeout)
	defer tm.Stop()
	select {
	case r := <-w:
		return r, nil
	case <-tm.C:
		return nil, errors.New("no answer")
	case <-x.m.ctx.Done():
		return nil, x.m.ctx.Err()
	}
}

// locate finds a lighthouse that has member id up, asking them in turn.
func (x *discovery) locate(id string) (*transport.Peer, *wire.QueryReply) {
	for _, lh := range x.lighthouses(id) {
		r, err := x.query(lh, id)
		if err != nil || !r.Found {
			continue
		}
		x.mu.Lock()
		x.via[id] = lh
		x.turns[id] = parseCandidates(r.Relayed)
		x.mu.Unlock()
		return lh, r
	}
	return nil, nil
}

// wake makes a link to member id on demand, unless one is being made.
func (x *discovery) wake(id string) {
	if st := x.d.groupState(); st == nil || id == st.NodeID {
		return
	}
	x.mu.Lock()
	if x.dialing[id] {
		x.rewake[id] = true
		x.mu.Unlock()
		return
	}
	x.dialing[id] = true
	x.mu.Unlock()
	x.m.wg.Add(1)
	go x.reach(id)
}

// reach makes a session with member id through a lighthouse's relay or
// the member's TURN address, and then asks the lighthouse to coordinate
// a punch; while the session stays relayed it asks again every
// repunchEvery. It returns when the session ends, or after a few failed
// rounds (the next frame for the member wakes it again). One goroutine
// per member being reached.
func (x *discovery) reach(id string) {
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
	for x.m.ctx.Err() == nil && failures < reachAttempts {
		if p := x.m.tr.Peer(id); p != nil && p.Up() {
			wasUp = true
			if st := p.Status(); st.Path != "direct" && time.Since(lastPunch) >= repunchEvery {
				if lh := x.punchVia(id); lh != nil {
					_ = x.m.tr.SendControl(lh, &wire.PunchRequest{Target: id})
				}
				lastPunch = time.Now()
			}
			sleepCtx(x.m.ctx, time.Second)
			continue
		}
		if wasUp {
			return // closed (idle, gone): the next frame wakes us
		}
		p, lh, err := x.connect(id)
		if err != nil {
			failures++
			x.d.log.Debug("member not reachable yet", "node", id, "err", err)
			sleepCtx(x.m.ctx, reachRetry)
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

// connect makes one session with member id: located through the
// lighthouses, reached through the relay of the one that has it, or
// through the member's TURN relayed address when that lighthouse does
// not relay.
func (x *discovery) connect(id string) (*transport.Peer, *transport.Peer, error) {
	lh, r := x.locate(id)
	if lh == nil {
		return nil, nil, errNotLocated
	}
	ctx, cancel := context.WithTimeout(x.m.ctx, 15*time.Second)
	defer cancel()
	if lh.Roles()&wire.RoleRelay != 0 {
		p, err := x.m.tr.ConnectVia(ctx, lh, id)
		return p, lh, err
	}
	err := errNoRelay
	for _, t := range parseCandidates(r.Relayed) {
		var p *transport.Peer
		if p, err = x.m.tr.Connect(ctx, t); err == nil {
			return p, lh, nil
		}
	}
	return nil, nil, err
}

// punchVia is the lighthouse to ask for a punch with member id: the one
// that located it, if still up, else any.
func (x *discovery) punchVia(id string) *transport.Peer {
	if lhs := x.lighthouses(id); len(lhs) > 0 {
		return lhs[0]
	}
	return nil
}

// watchAddrs follows this router's address changes (a new public address,
// a DHCP renewal on the WAN): peers learn the new address from a
// keepalive at once, the overlay filter is rebuilt, and the lighthouses
// get the new candidates. One goroutine per member run.
func (x *discovery) watchAddrs() {
	defer x.m.wg.Done()
	err := addrwatch.Watch(x.m.ctx, func() {
		x.m.tr.AddressesChanged()
		x.d.refreshFilter(x.m)
		for _, p := range x.m.tr.UpPeers() {
			if p.Roles()&wire.RoleLighthouse != 0 {
				x.announce(p)
			}
		}
	})
	if err != nil {
		x.d.log.Warn("not watching address changes; peers learn a new address at the next keepalive", "err", err)
	}
}

// run is the discovery timer: periodic announcements, the overlay filter
// refresh and idle links. One goroutine per member run.
func (x *discovery) run() {
	defer x.m.wg.Done()
	tk := time.NewTicker(time.Second)
	defer tk.Stop()
	var sinceAnnounce time.Duration
	sinceFilter := 0
	for {
		select {
		case <-x.m.ctx.Done():
			return
		case <-tk.C:
		}
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
// closes nothing: its links carry the queries and relayed traffic, and
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

var (
	errNotLocated = errors.New("no lighthouse has the member up")
	errNoRelay    = errors.New("the lighthouse does not relay and the member has no TURN address")
)

// viaTURN reports whether ep is one of a member's TURN relayed addresses.
func (x *discovery) viaTURN(nodeID string, ep netip.AddrPort) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.Contains(x.turns[nodeID], ep)
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
