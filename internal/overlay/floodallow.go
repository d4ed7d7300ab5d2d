package overlay

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Flood filter keywords; see ParseFloodAllow.
const (
	FloodAllowAll  = "all"
	FloodAllowNone = "none"
)

// ErrFloodAllow is wrapped by ParseFloodAllow's errors.
var ErrFloodAllow = errors.New("invalid flood_allow entry")

// FloodFilter says which multicast groups may cross the overlay (UCI
// list flood_allow). Broadcast, unicast and IPv6 neighbour discovery are
// never its business: ARP, DHCP and neighbour discovery are how the
// members' LANs find each other, so they always cross. It is immutable;
// a reload swaps in a new one. Allow is safe for concurrent use and
// allocates nothing.
type FloodFilter struct {
	all  bool
	v4   []netip.Prefix // IPv4 multicast groups (destination address)
	v6   []netip.Prefix // IPv6 multicast groups
	macs [][6]byte      // Ethernet group addresses (destination MAC)
}

// ParseFloodAllow builds a filter from flood_allow entries. Each is one of:
//
//   - "all": every multicast group (also what no entry at all means);
//   - "none": no multicast group (alone);
//   - an IPv4 multicast address or prefix (224.0.0.251, 239.0.0.0/8);
//   - an IPv6 multicast address or prefix (ff02::fb, ff05::/16);
//   - an Ethernet group address (01:00:5e:00:00:fb, 01:80:c2:00:00:0e),
//     matched against the destination MAC, for multicast that is not IP.
//
// An IP multicast frame crosses when its destination address is in one
// of the IP entries or its destination MAC is one of the MAC entries.
func ParseFloodAllow(entries []string) (*FloodFilter, error) {
	f := &FloodFilter{}
	if len(entries) == 0 {
		f.all = true
		return f, nil
	}
	none := false
	for _, raw := range entries {
		e := strings.TrimSpace(raw)
		switch {
		case strings.EqualFold(e, FloodAllowAll):
			f.all = true
		case strings.EqualFold(e, FloodAllowNone):
			none = true
		default:
			if err := f.add(e); err != nil {
				return nil, fmt.Errorf("%w %q: %w", ErrFloodAllow, raw, err)
			}
		}
	}
	if none && len(entries) > 1 {
		return nil, fmt.Errorf("%w: %q cannot be combined with other entries", ErrFloodAllow, FloodAllowNone)
	}
	return f, nil
}

// add parses one address, prefix or MAC entry.
func (f *FloodFilter) add(e string) error {
	if hw, err := net.ParseMAC(e); err == nil {
		if len(hw) != 6 {
			return errors.New("not a 6-byte Ethernet address")
		}
		mac := [6]byte(hw)
		if !IsMulticast(mac) || IsBroadcast(mac) {
			return errors.New("not an Ethernet multicast address (broadcast always crosses)")
		}
		f.macs = append(f.macs, mac)
		return nil
	}
	var p netip.Prefix
	if strings.Contains(e, "/") {
		var err error
		if p, err = netip.ParsePrefix(e); err != nil {
			return errors.New("not a multicast address, prefix or MAC")
		}
		p = p.Masked()
	} else {
		a, err := netip.ParseAddr(e)
		if err != nil || a.Zone() != "" {
			return errors.New("not a multicast address, prefix or MAC")
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	a := p.Addr()
	switch {
	case a.Is4() && p.Bits() >= 4 && mcast4.Contains(a):
		f.v4 = append(f.v4, p)
	case a.Is6() && !a.Is4In6() && p.Bits() >= 8 && a.IsMulticast():
		f.v6 = append(f.v6, p)
	default:
		return errors.New("not inside 224.0.0.0/4 or ff00::/8")
	}
	return nil
}

var mcast4 = netip.MustParsePrefix("224.0.0.0/4")

// All reports whether the filter lets every multicast group through.
func (f *FloodFilter) All() bool { return f == nil || f.all }

// Allow reports whether frame may cross the overlay. A nil filter allows
// everything.
func (f *FloodFilter) Allow(frame []byte) bool {
	if f == nil || f.all {
		return true
	}
	dst := Dst(frame)
	if !IsMulticast(dst) || IsBroadcast(dst) {
		return true
	}
	for _, m := range f.macs {
		if m == dst {
			return true
		}
	}
	et, p, ok := l3(frame)
	if !ok {
		return false
	}
	switch et {
	case EtherTypeIPv4:
		if len(p) < 20 || p[0]>>4 != 4 {
			return false
		}
		a := netip.AddrFrom4([4]byte(p[16:20]))
		for _, g := range f.v4 {
			if g.Contains(a) {
				return true
			}
		}
	case EtherTypeIPv6:
		if isNeighborDiscovery(p) {
			return true
		}
		if len(p) < 40 || p[0]>>4 != 6 {
			return false
		}
		a := netip.AddrFrom16([16]byte(p[24:40]))
		for _, g := range f.v6 {
			if g.Contains(a) {
				return true
			}
		}
	}
	return false
}
