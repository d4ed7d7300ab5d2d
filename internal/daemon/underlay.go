package daemon

import (
	"net/netip"
	"sync/atomic"

	"github.com/ipopd/ipopd/internal/underlay"
	"github.com/ipopd/ipopd/uci/ipopconf"
)

// Only underlay addresses are announced, probed or followed: the filter
// knows the overlay (the group subnet, the prefixes on the TAP and on its
// bridge) and the announce rules. It is rebuilt on start, on reload and
// every filterEvery, since netifd may give the bridge its address after
// the daemon started; the group subnet is in it from the first moment.

// filterEvery is how often the overlay's prefixes are read again.
const filterEvery = 10

// pathFilter is the member's current underlay.Filter, read on the socket
// reader goroutine for every datagram, so swapped whole.
type pathFilter struct {
	f atomic.Pointer[underlay.Filter]
}

// ok is the transport's PathOK.
func (p *pathFilter) ok(a netip.Addr) bool { return p.f.Load().Path(a) }

func (p *pathFilter) get() *underlay.Filter { return p.f.Load() }

// newFilter builds the filter for cfg and the group subnet from the
// interfaces as they are now. Without a list of interfaces (an error
// reading them) the group subnet alone is kept out.
func newFilter(cfg ipopconf.Config, subnet netip.Prefix) (*underlay.Filter, []underlay.Iface) {
	ifaces, _ := underlay.Interfaces()
	return &underlay.Filter{
		Overlay: underlay.OverlayPrefixes(ifaces, subnet, overlayIfaces(cfg)...),
		Rules:   cfg.Announce,
	}, ifaces
}

// overlayIfaces names the interfaces that are the overlay on this router.
func overlayIfaces(cfg ipopconf.Config) []string {
	if cfg.Bridge != "" {
		return []string{cfg.Interface, cfg.Bridge}
	}
	return []string{cfg.Interface}
}

// refreshFilter rebuilds m's filter from the daemon's configuration.
func (d *Daemon) refreshFilter(m *member) {
	d.mu.Lock()
	cfg, st := d.cfg, d.state
	d.mu.Unlock()
	var subnet netip.Prefix
	if st != nil {
		subnet = st.Subnet
	}
	f, _ := newFilter(cfg, subnet)
	m.filter.f.Store(f)
}

// LocalEndpoints lists this router's underlay IPv4 addresses with the
// listen port, as the announce rules allow: where members on the same
// networks reach it. Addresses on the overlay (the group subnet, the TAP
// and its bridge) are never among them. A router behind NAT should name
// its public address explicitly.
func LocalEndpoints(cfg ipopconf.Config, subnet netip.Prefix) []string {
	f, ifaces := newFilter(cfg, subnet)
	var out []string
	for _, c := range underlay.Candidates(ifaces, f, cfg.ListenPort, overlayIfaces(cfg)...) {
		out = append(out, netip.AddrPortFrom(c.Addr(), cfg.ListenPort).String())
	}
	return out
}

// filterCandidates keeps the parsable candidates that f allows as paths.
func filterCandidates(f *underlay.Filter, in []string, max int) []string {
	var out []string
	for _, c := range in {
		ap, err := netip.ParseAddrPort(c)
		if err != nil || ap.Port() == 0 || !f.Path(ap.Addr()) {
			continue
		}
		out = append(out, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String())
		if len(out) == max {
			break
		}
	}
	return out
}
