package daemon

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/ipopd/ipopd/internal/overlay"
	"github.com/ipopd/ipopd/internal/transport"
	"github.com/ipopd/ipopd/internal/wire"
)

// Floods at scale. A member does not send a flooded frame to each peer:
//
//   - an ARP request or neighbour solicitation for an address in a
//     linked member's slice (address and DHCP pool in its certificate)
//     goes to that member only;
//   - with a lighthouse up, every other flood goes as one copy to one
//     lighthouse (the up one with the lowest node id), marked reflect;
//     the lighthouse delivers it, and sends it to every other member it
//     holds a link to, marked reflected with the origin's node number
//     (or, for a question about a member's address, to that member only);
//   - a reflected frame is never reflected again, and nothing else is
//     forwarded from one member to another (split horizon), so there are
//     no loops;
//   - with no lighthouse up (a small full mesh of configured endpoints),
//     and on a lighthouse for its own LAN, a flood goes to every up peer.
//
// A receiver learns the source MAC of a reflected frame on the origin,
// which it may have no link with: the MAC table holds nodes, not links.
// A unicast frame for a node without a link is staged and wakes the link
// (discovery.wake), so links form only where unicast traffic is.

// node is a member as the switch knows it, linked or not. It is made the
// first time the member is seen (a link, or a frame reflected for it) and
// kept for the life of the member's data plane.
type node struct {
	// Set once.
	id    string
	num   uint64 // the node id's 8 bytes (transport.NodeNumber)
	named bool   // id is a well-formed node id, so num names it
	// peer is the member's transport peer, set when it first links.
	peer atomic.Pointer[transport.Peer]
	// Flood limiters, swapped whole when a reload changes the limit:
	// floods from this member (direct or reflected) and to its link.
	floodIn, floodOut atomic.Pointer[overlay.RateLimiter]
}

// linked returns the member's peer when its link is up.
func (n *node) linked() *transport.Peer {
	if p := n.peer.Load(); p != nil && p.Up() {
		return p
	}
	return nil
}

// maxNodes bounds the node registry: far above a group's size (reflected
// origins come only from authenticated lighthouses), so a broken one
// cannot grow memory without end.
const maxNodes = 1 << 16

// nodes is the switch's registry of members.
type nodes struct {
	rate func() [2]int // the current flood limit, for new nodes

	mu    sync.RWMutex // guards the maps
	byID  map[string]*node
	byNum map[uint64]*node
}

// get returns the node for id, made if new (nil when the registry is
// full).
func (ns *nodes) get(id string) *node {
	ns.mu.RLock()
	n := ns.byID[id]
	ns.mu.RUnlock()
	if n != nil {
		return n
	}
	num, _ := transport.NodeNumber(id)
	return ns.add(id, num)
}

// byNumber returns the node with number num, made if new. It allocates
// only the first time a member is seen.
func (ns *nodes) byNumber(num uint64) *node {
	ns.mu.RLock()
	n := ns.byNum[num]
	ns.mu.RUnlock()
	if n != nil {
		return n
	}
	return ns.add(transport.NodeIDString(num), num)
}

func (ns *nodes) add(id string, num uint64) *node {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if n := ns.byID[id]; n != nil {
		return n
	}
	if ns.byID == nil {
		ns.byID, ns.byNum = map[string]*node{}, map[uint64]*node{}
	}
	if len(ns.byID) >= maxNodes {
		return nil
	}
	_, named := transport.NodeNumber(id)
	n := &node{id: id, num: num, named: named}
	r := ns.rate()
	n.floodIn.Store(overlay.NewRateLimiter(r[0], r[1]))
	n.floodOut.Store(overlay.NewRateLimiter(r[0], r[1]))
	ns.byID[id] = n
	if named {
		ns.byNum[num] = n
	}
	return n
}

// all returns every node (for a reload).
func (ns *nodes) all() []*node {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	out := make([]*node, 0, len(ns.byID))
	for _, n := range ns.byID {
		out = append(out, n)
	}
	return out
}

// addrPlan finds the linked member whose address or pool slice holds an
// address. It is rebuilt whole when a link comes up or goes down and
// read without a lock.
type addrPlan struct {
	addrs map[netip.Addr]*transport.Peer
	pools map[netip.Prefix]*transport.Peer
	bits  []int // the pool prefix lengths present
	// lighthouse is the up lighthouse floods go to: the one with the
	// lowest node id, so every member picks the same one and the choice
	// moves only when it goes down.
	lighthouse *transport.Peer
}

func newAddrPlan(peers []*transport.Peer) *addrPlan {
	pl := &addrPlan{addrs: map[netip.Addr]*transport.Peer{}, pools: map[netip.Prefix]*transport.Peer{}}
	for _, p := range peers {
		if p.Roles()&wire.RoleLighthouse != 0 && (pl.lighthouse == nil || p.NodeID < pl.lighthouse.NodeID) {
			pl.lighthouse = p
		}
		a, pool := p.Slice()
		if a.IsValid() {
			pl.addrs[a] = p
		}
		if pool.IsValid() {
			pl.pools[pool.Masked()] = p
			if !slices.Contains(pl.bits, pool.Bits()) {
				pl.bits = append(pl.bits, pool.Bits())
			}
		}
	}
	return pl
}

// owner returns the linked member whose slice holds a, or nil.
func (pl *addrPlan) owner(a netip.Addr) *transport.Peer {
	if pl == nil {
		return nil
	}
	if p := pl.addrs[a]; p != nil {
		return p
	}
	for _, b := range pl.bits {
		if b > a.BitLen() {
			continue
		}
		if pf, err := a.Prefix(b); err == nil {
			if p := pl.pools[pf]; p != nil {
				return p
			}
		}
	}
	return nil
}

// ownSlice reports whether a is this member's address or in its pool.
func (s *sw) ownSlice(a netip.Addr) bool {
	return a == s.selfAddr || (s.selfPool.IsValid() && s.selfPool.Contains(a))
}

// peerUp and peerDown keep the address plan current and hand a new link
// what was staged for it. Links are not forgotten in the MAC table when
// they go down: the MACs still belong to the member, and the next unicast
// frame for one wakes the link again.
func (s *sw) peerUp(p *transport.Peer) {
	s.rebuildPlan()
	s.flush(p)
}

func (s *sw) peerDown(*transport.Peer) { s.rebuildPlan() }

func (s *sw) rebuildPlan() {
	s.planMu.Lock()
	s.plan.Store(newAddrPlan(s.tr.UpPeers()))
	s.planMu.Unlock()
}

// lighthouse returns the up lighthouse floods go to (see addrPlan), nil
// when none is up or when this member is a lighthouse itself (its floods
// go to every peer directly).
func (s *sw) lighthouse() *transport.Peer {
	if s.isLighthouse {
		return nil
	}
	if pl := s.plan.Load(); pl != nil && pl.lighthouse != nil && pl.lighthouse.Up() {
		return pl.lighthouse
	}
	return nil
}

// flood sends frames that are not for one known MAC: to the owner of an
// asked address, to the lighthouse to reflect, or to every up peer. The
// caller has flushed s.run.
func (s *sw) flood(frames [][]byte, now int64) {
	first := frames[0]
	if !s.floodAllow.Load().Allow(first) {
		s.stats.floodFiltered.Add(uint64(len(frames)))
		return
	}
	s.stats.floodedOut.Add(uint64(len(frames)))
	if a, ok := overlay.ResolveTarget(first); ok && !s.ownSlice(a) {
		if p := s.plan.Load().owner(a); p != nil && p.Up() {
			s.floodTo(p, frames, now, transport.Via{}, &s.stats.floodCopiesOut)
			return
		}
	}
	if lh := s.lighthouse(); lh != nil {
		s.floodTo(lh, frames, now, transport.Via{Kind: transport.FrameReflect}, &s.stats.floodCopiesOut)
		return
	}
	for _, p := range s.tr.UpPeers() {
		s.floodTo(p, frames, now, transport.Via{}, &s.stats.floodCopiesOut)
	}
}

// floodTo sends flooded frames to one peer through its outgoing flood
// limiter and counts the copies sent in copies. Reflected copies pass no
// outgoing limiter: the origin's own (floodIn, at the lighthouse) limits
// them, or every member's floods would share one allowance per receiver.
func (s *sw) floodTo(p *transport.Peer, frames [][]byte, now int64, via transport.Via, copies *atomic.Uint64) {
	allowed := frames
	if n, ok := p.Ext.(*node); ok && via.Kind != transport.FrameReflected {
		lim := n.floodOut.Load()
		for i := range frames {
			if !lim.Allow(now) {
				s.stats.floodLimitedOut.Add(uint64(len(frames) - i))
				allowed = frames[:i]
				break
			}
		}
	}
	if len(allowed) == 0 {
		return
	}
	copies.Add(uint64(len(allowed)))
	if via.Kind == transport.FramePlain {
		s.sendBatch(p, allowed)
		return
	}
	for _, f := range allowed {
		if err := s.tr.SendFrameVia(p, f, via); err != nil {
			s.stats.sendErrors.Add(1)
		}
	}
}

// receiveFlood is the in path of floods through a lighthouse (the
// transport's OnFlood): a reflect frame from member p (this node is the
// lighthouse), or a frame lighthouse p reflected for its origin.
func (s *sw) receiveFlood(p *transport.Peer, frame []byte, via transport.Via) {
	if !overlay.ValidFrame(frame) || s.guardsIn.Drop(frame) {
		return
	}
	from, _ := p.Ext.(*node)
	origin := from
	if via.Kind == transport.FrameReflected {
		if via.Origin == s.selfNum {
			return // our own flood, back through a second lighthouse
		}
		origin = s.nodes.byNumber(via.Origin)
	}
	if origin == nil {
		return
	}
	now := s.now()
	s.macs.Learn(overlay.Src(frame), origin, now)
	if !origin.floodIn.Load().Allow(now) {
		s.stats.floodLimitedIn.Add(1)
		return
	}
	if via.Kind == transport.FrameReflect && s.isLighthouse {
		if !s.reflect(p, origin, frame, now) {
			return // a question for another member only
		}
	}
	s.deliver(frame)
}

// reflect sends a member's flood to the other members this lighthouse
// holds links to, marked with its origin. It reports whether the frame
// is for this node's LAN too: a question about another member's address
// is not.
func (s *sw) reflect(from *transport.Peer, origin *node, frame []byte, now int64) bool {
	if !origin.named {
		return true // cannot be named in a reflected frame
	}
	via := transport.Via{Kind: transport.FrameReflected, Origin: origin.num}
	s.stats.reflected.Add(1)
	one := [][]byte{frame}
	if a, ok := overlay.ResolveTarget(frame); ok {
		switch {
		case s.ownSlice(a):
			return true
		default:
			// The origin's own slice (an announcement) goes to everyone.
			if q := s.plan.Load().owner(a); q != nil && q != from && q.Up() {
				s.floodTo(q, one, now, via, &s.stats.reflectedCopies)
				return false
			}
		}
	}
	for _, q := range s.tr.UpPeers() {
		if q != from {
			s.floodTo(q, one, now, via, &s.stats.reflectedCopies)
		}
	}
	return true
}

// setFloodAllow replaces the flood_allow filter.
func (s *sw) setFloodAllow(entries []string) error {
	f, err := overlay.ParseFloodAllow(entries)
	if err != nil {
		return err
	}
	s.floodAllow.Store(f)
	return nil
}
