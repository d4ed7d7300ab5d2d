package overlay

import (
	"encoding/binary"
	"net/netip"
)

// EtherTypeARP is the EtherType of ARP.
const EtherTypeARP = 0x0806

// ICMPv6 neighbour discovery message types (RFC 4861).
const (
	icmpv6RouterSolicit   = 133
	icmpv6NeighborSolicit = 135
	icmpv6Redirect        = 137
)

// ResolveTarget returns the address an ARP request or an IPv6 neighbour
// solicitation in frame asks about: the switch sends such a question only
// to the member whose address slice holds it. A gratuitous ARP request
// (sender and target address the same) is an announcement to everyone,
// not a question, and gives ok false; an ARP probe (sender 0.0.0.0) and a
// duplicate address detection solicitation are questions for the owner.
// It looks through VLAN tags, never panics and never allocates.
func ResolveTarget(frame []byte) (target netip.Addr, ok bool) {
	et, p, ok := l3(frame)
	if !ok {
		return netip.Addr{}, false
	}
	switch et {
	case EtherTypeARP:
		// htype 1 (Ethernet), ptype IPv4, hlen 6, plen 4, op 1 (request),
		// then sender MAC, sender IP, target MAC, target IP.
		if len(p) < 28 || binary.BigEndian.Uint16(p[0:2]) != 1 || binary.BigEndian.Uint16(p[2:4]) != EtherTypeIPv4 ||
			p[4] != 6 || p[5] != 4 || binary.BigEndian.Uint16(p[6:8]) != 1 {
			return netip.Addr{}, false
		}
		spa, tpa := [4]byte(p[14:18]), [4]byte(p[24:28])
		if spa == tpa {
			return netip.Addr{}, false
		}
		return netip.AddrFrom4(tpa), true
	case EtherTypeIPv6:
		// A solicitation has no extension headers in practice (RFC 4861
		// sends it with hop limit 255 straight to ICMPv6); one that has
		// is flooded like any other multicast.
		if len(p) < 40+24 || p[0]>>4 != 6 || p[6] != ipProtoICMPv6 || p[40] != icmpv6NeighborSolicit || p[41] != 0 {
			return netip.Addr{}, false
		}
		return netip.AddrFrom16([16]byte(p[48:64])), true
	}
	return netip.Addr{}, false
}

// isNeighborDiscovery reports whether the IPv6 packet p (from the IP
// header on) is ICMPv6 neighbour discovery: router and neighbour
// solicitations and advertisements, redirects.
func isNeighborDiscovery(p []byte) bool {
	return len(p) >= 41 && p[0]>>4 == 6 && p[6] == ipProtoICMPv6 &&
		p[40] >= icmpv6RouterSolicit && p[40] <= icmpv6Redirect
}
