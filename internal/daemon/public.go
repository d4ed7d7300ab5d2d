package daemon

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/ipopd/ipopd/internal/transport"
	"github.com/ipopd/ipopd/internal/wire"
	"github.com/ipopd/ipopd/uci/ipopconf"
)

// Where others reach this router, for invites. A router behind NAT does
// not know its public address; a lighthouse does (it answers STUN on its
// port), so the member asks one with a binding request from its own
// socket (transport.QuerySTUN): the answer is the address and port its
// NAT maps the socket to, which is what a new router elsewhere must dial.
// It asks when a lighthouse link comes up and again when the answer is
// older than publicRefresh and someone looks (status, invite). Without a
// lighthouse to ask, the best guess is the WAN address: the source
// address of the default route.

const (
	// publicRefresh: a NAT's mapping and a WAN address change seldom;
	// asking every few minutes when someone looks costs nothing.
	publicRefresh = 5 * time.Minute
	// publicTimeout bounds one STUN question to a lighthouse.
	publicTimeout = 3 * time.Second
)

// publicAddr is what a lighthouse last reported for this router.
type publicAddr struct {
	asking atomic.Bool
	seen   atomic.Pointer[publicSeen]
}

type publicSeen struct {
	ep netip.AddrPort
	at time.Time
}

// publicEndpoint returns the address a lighthouse reported, if any, and
// asks again in the background when the answer is stale.
func (d *Daemon) publicEndpoint() (netip.AddrPort, bool) {
	s := d.pub.seen.Load()
	if s == nil || time.Since(s.at) > publicRefresh {
		if m := d.member(); m != nil {
			d.askPublic(m, nil)
		}
	}
	if s == nil {
		return netip.AddrPort{}, false
	}
	return s.ep, true
}

// askPublic asks lighthouse lh (nil: any up lighthouse reached directly)
// for this router's public address, in the background, unless a question
// is out already.
func (d *Daemon) askPublic(m *member, lh *transport.Peer) {
	if lh == nil {
		for _, p := range m.tr.UpPeers() {
			if p.Roles()&wire.RoleLighthouse != 0 && p.Status().Path == "direct" {
				lh = p
				break
			}
		}
	}
	if lh == nil || lh.Roles()&wire.RoleLighthouse == 0 {
		return
	}
	ep := lh.Status().Endpoint
	if !ep.IsValid() || !d.pub.asking.CompareAndSwap(false, true) {
		return
	}
	d.mu.Lock()
	if d.mem != m {
		d.mu.Unlock()
		d.pub.asking.Store(false)
		return
	}
	m.wg.Add(1)
	d.mu.Unlock()
	go func() {
		defer m.wg.Done()
		defer d.pub.asking.Store(false)
		ctx, cancel := context.WithTimeout(m.ctx, publicTimeout)
		defer cancel()
		ap, err := m.tr.QuerySTUN(ctx, ep)
		if err != nil {
			d.log.Debug("no public address from the lighthouse", "lighthouse", lh.DisplayName(), "err", err)
			return
		}
		if old := d.pub.seen.Swap(&publicSeen{ep: ap, at: time.Now()}); old == nil || old.ep != ap {
			d.log.Info("public address reported by a lighthouse", "endpoint", ap.String(), "lighthouse", lh.DisplayName())
		}
	}()
}

// onPeerUpPublic: a lighthouse came up; ask it unless the answer is fresh.
func (d *Daemon) onPeerUpPublic(m *member, p *transport.Peer) {
	if p.Roles()&wire.RoleLighthouse == 0 {
		return
	}
	if s := d.pub.seen.Load(); s != nil && time.Since(s.at) < publicRefresh {
		return
	}
	d.askPublic(m, p)
}

// wanEndpoint is this router's address on its default route with the
// listen port, if that is an underlay address: the usual public address
// of a router with no NAT in front of it. No packet is sent: connecting a
// UDP socket only picks the route.
func wanEndpoint(cfg ipopconf.Config, subnet netip.Prefix) (netip.AddrPort, bool) {
	c, err := net.Dial("udp4", "192.0.2.1:9") // TEST-NET-1: any off-link address will do
	if err != nil {
		return netip.AddrPort{}, false
	}
	defer c.Close()
	ua, ok := c.LocalAddr().(*net.UDPAddr)
	if !ok {
		return netip.AddrPort{}, false
	}
	a, ok := netip.AddrFromSlice(ua.IP)
	if !ok {
		return netip.AddrPort{}, false
	}
	a = a.Unmap()
	f, _ := newFilter(cfg, subnet)
	if !a.IsGlobalUnicast() || !f.Path(a) {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a, cfg.ListenPort), true
}

// inviteEndpoints is the best guess of where a new router reaches this
// one: the public address a lighthouse reported, the WAN address, then
// the other local addresses; each once.
func (d *Daemon) inviteEndpoints(cfg ipopconf.Config, subnet netip.Prefix) []string {
	var out []string
	add := func(s string) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if ap, ok := d.publicEndpoint(); ok {
		add(ap.String())
	}
	if ap, ok := wanEndpoint(cfg, subnet); ok {
		add(ap.String())
	}
	for _, e := range LocalEndpoints(cfg, subnet) {
		add(e)
	}
	return out
}
