package transport

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Peer is another member this node has (or had) a session with. One Peer
// exists per node id for the life of the Transport; its sessions come and
// go underneath it.
type Peer struct {
	// NodeID is set once and never changes.
	NodeID string
	// Ext is the caller's per-peer state, set by Config.OnNewPeer before the
	// peer is visible anywhere else, and never changed after.
	Ext any

	active atomic.Pointer[session] // the session frames go out on, nil when down

	bytesIn, bytesOut   atomic.Uint64
	framesIn, framesOut atomic.Uint64
	rtt                 atomic.Int64  // ns, last measured
	roles               atomic.Uint32 // wire.Role* from the peer's last Hello

	// mu guards the fields below.
	mu            sync.Mutex
	name          string
	address       netip.Addr
	pool          netip.Prefix
	upSince       time.Time
	downSince     time.Time
	lastHandshake time.Time
}

// Up reports whether the peer has an established session.
func (p *Peer) Up() bool {
	s := p.active.Load()
	return s != nil
}

// Slice returns the peer's address and DHCP pool slice from its
// certificate (the pool is zero when it has none).
func (p *Peer) Slice() (netip.Addr, netip.Prefix) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.address, p.pool
}

// Roles returns the roles the peer announced (wire.RoleLighthouse, wire.RoleRelay).
func (p *Peer) Roles() uint8 { return uint8(p.roles.Load()) }

// PeerStatus is a snapshot of one peer for status output.
type PeerStatus struct {
	NodeID        string
	Name          string
	Address       netip.Addr // virtual address from its certificate
	State         string     // "up" or "down"
	Path          string     // "direct"
	Endpoint      netip.AddrPort
	RTT           time.Duration
	BytesIn       uint64
	BytesOut      uint64
	FramesIn      uint64
	FramesOut     uint64
	Since         time.Time // when the current state began
	LastHandshake time.Time
	Cipher        string
	KeyAge        time.Duration // age of the active session's data channel key (since its handshake)
}

// Status returns a snapshot of the peer.
func (p *Peer) Status() PeerStatus {
	st := PeerStatus{
		NodeID:    p.NodeID,
		State:     "down",
		RTT:       time.Duration(p.rtt.Load()),
		BytesIn:   p.bytesIn.Load(),
		BytesOut:  p.bytesOut.Load(),
		FramesIn:  p.framesIn.Load(),
		FramesOut: p.framesOut.Load(),
	}
	p.mu.Lock()
	st.Name, st.Address, st.LastHandshake, st.Since = p.name, p.address, p.lastHandshake, p.downSince
	up := p.upSince
	p.mu.Unlock()
	if s := p.active.Load(); s != nil {
		st.State, st.Path, st.Since = "up", "direct", up
		pa := s.vc.path()
		switch {
		case pa.turn:
			st.Path = "TURN via " + s.t.turnServer.String()
			st.Endpoint = pa.addr
		case pa.relay != nil:
			st.Path = pa.String()
			if rs := pa.relay.active.Load(); rs != nil {
				st.Endpoint = rs.vc.endpoint()
			}
		default:
			st.Endpoint = pa.addr
		}
		st.Cipher = s.cipher
		st.KeyAge = time.Duration(s.t.now() - s.created)
	}
	return st
}

// DisplayName is the peer's name, or its node id before one is known.
func (p *Peer) DisplayName() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.name != "" {
		return p.name
	}
	return p.NodeID
}

// Frames counts the frames carried both ways (keepalives do not count):
// what tells an idle link from a busy one.
func (p *Peer) Frames() uint64 { return p.framesIn.Load() + p.framesOut.Load() }
