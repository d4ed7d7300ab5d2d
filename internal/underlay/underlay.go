// Package underlay decides which addresses may carry the overlay's own
// packets: the candidates a member announces, and the peer addresses a
// session may probe or move to.
//
// An address on the overlay itself (the group subnet, or any prefix on
// the TAP device or the bridge it is attached to) must never become a
// path: a packet sent there goes into the tunnel, comes out at the peer
// and, since it authenticates, looks like a working direct path. The
// session then moves onto the tunnel it is carrying and the link is lost.
package underlay

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// Rule is one entry of the announce list (UCI `list announce`): an
// interface name or a prefix, allowed, or denied with a leading '!'.
type Rule struct {
	Deny   bool
	Iface  string       // set for an interface rule
	Prefix netip.Prefix // set for a prefix rule
}

// ParseRule reads "eth0", "!wan6", "192.0.2.0/24", "!10.0.0.0/8" or a
// single address (a /32 or /128).
func ParseRule(s string) (Rule, error) {
	var r Rule
	v := strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(v, "!"); ok {
		r.Deny, v = true, strings.TrimSpace(rest)
	}
	if v == "" {
		return Rule{}, fmt.Errorf("announce rule %q: empty", s)
	}
	if p, err := netip.ParsePrefix(v); err == nil {
		r.Prefix = p.Masked()
		return r, nil
	}
	if a, err := netip.ParseAddr(v); err == nil {
		if a.Zone() != "" {
			return Rule{}, fmt.Errorf("announce rule %q: an address with a zone cannot be announced", s)
		}
		r.Prefix = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		return r, nil
	}
	if !validIfaceName(v) {
		return Rule{}, fmt.Errorf("announce rule %q: neither an interface name nor a prefix like 192.0.2.0/24", s)
	}
	r.Iface = v
	return r, nil
}

// String is the rule as ParseRule reads it.
func (r Rule) String() string {
	s := r.Iface
	if s == "" {
		s = r.Prefix.String()
	}
	if r.Deny {
		return "!" + s
	}
	return s
}

func (r Rule) matches(iface string, a netip.Addr) bool {
	if r.Iface != "" {
		return r.Iface == iface
	}
	return r.Prefix.Contains(a)
}

// validIfaceName is what Linux accepts as an interface name (IFNAMSIZ).
func validIfaceName(s string) bool {
	if len(s) == 0 || len(s) > 15 || s == "." || s == ".." {
		return false
	}
	for _, c := range s {
		if c <= ' ' || c == '/' || c == ':' || c == '!' || c > '~' {
			return false
		}
	}
	return true
}

// Filter is one router's view of the overlay and its announce rules. The
// zero Filter allows every address.
type Filter struct {
	// Overlay holds the prefixes that are the overlay itself: the group
	// subnet and the prefixes on the TAP device and its bridge.
	Overlay []netip.Prefix
	// Rules is the announce list; the first rule that matches decides.
	// With no match an address is announced unless the list has an allow
	// rule (then it is a list of what to announce).
	Rules []Rule
}

// Path reports whether a peer may be reached at a: it is a unicast
// address outside the overlay.
func (f *Filter) Path(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() || a.IsLinkLocalUnicast() {
		return false
	}
	if a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return false
	}
	if f == nil {
		return true
	}
	for _, p := range f.Overlay {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// Announce reports whether address a of interface iface may be offered to
// other members as a candidate.
func (f *Filter) Announce(iface string, a netip.Addr) bool {
	if !f.Path(a) || a.IsLoopback() {
		return false
	}
	if f == nil {
		return true
	}
	allowList := false
	for _, r := range f.Rules {
		if r.matches(iface, a) {
			return !r.Deny
		}
		allowList = allowList || !r.Deny
	}
	return !allowList
}

// Iface is one local interface and its addresses, as net.Interfaces and
// Addrs give them.
type Iface struct {
	Name  string
	Up    bool
	Addrs []netip.Prefix
}

// Interfaces lists the machine's interfaces with their addresses.
func Interfaces() ([]Iface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	out := make([]Iface, 0, len(ifs))
	for _, ifc := range ifs {
		addrs, err := ifc.Addrs()
		if err != nil {
			continue // the interface went away while we listed
		}
		x := Iface{Name: ifc.Name, Up: ifc.Flags&net.FlagUp != 0}
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				x.Addrs = append(x.Addrs, netip.PrefixFrom(p.Addr().Unmap(), p.Bits()))
			}
		}
		out = append(out, x)
	}
	return out, nil
}

// OverlayPrefixes is the overlay as this router sees it: the group subnet
// and every prefix on the named interfaces (the TAP and its bridge).
func OverlayPrefixes(ifaces []Iface, subnet netip.Prefix, names ...string) []netip.Prefix {
	var out []netip.Prefix
	if subnet.IsValid() {
		out = append(out, subnet.Masked())
	}
	for _, ifc := range ifaces {
		if !slices.Contains(names, ifc.Name) {
			continue
		}
		for _, p := range ifc.Addrs {
			if p.Addr().IsLinkLocalUnicast() {
				continue // fe80::/64 is on every interface; Path refuses it anyway
			}
			p = p.Masked()
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// Candidates lists the IPv4 addresses of up interfaces that f lets this
// router announce, with port, each once, in a stable order. The overlay's
// own interfaces (skip) are never announced, whatever their addresses.
// IPv6 is left out: the members' socket and NATs are IPv4 today.
func Candidates(ifaces []Iface, f *Filter, port uint16, skip ...string) []netip.AddrPort {
	var out []netip.AddrPort
	for _, ifc := range ifaces {
		if !ifc.Up || slices.Contains(skip, ifc.Name) {
			continue
		}
		for _, p := range ifc.Addrs {
			a := p.Addr()
			if !a.Is4() || !f.Announce(ifc.Name, a) {
				continue
			}
			if ap := netip.AddrPortFrom(a, port); !slices.Contains(out, ap) {
				out = append(out, ap)
			}
		}
	}
	slices.SortFunc(out, netip.AddrPort.Compare)
	return out
}
