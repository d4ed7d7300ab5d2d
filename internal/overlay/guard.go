package overlay

import (
	"encoding/binary"
	"sync/atomic"
)

// Kind is what Inspect found in a frame, as far as the edge guards care.
type Kind uint8

// Frame kinds. KindOther is the zero value: anything the guards let through.
const (
	KindOther        Kind = iota
	KindDHCPv4Server      // IPv4 UDP from port 67 to port 68: a DHCP/BOOTP server reply
	KindDHCPv6Server      // IPv6 UDP from port 547 to port 546: a DHCPv6 server reply
	KindRouterAdvert      // ICMPv6 type 134: an IPv6 router advertisement
)

// String names the kind for logs and status.
func (k Kind) String() string {
	switch k {
	case KindOther:
		return "other"
	case KindDHCPv4Server:
		return "dhcpv4-server"
	case KindDHCPv6Server:
		return "dhcpv6-server"
	case KindRouterAdvert:
		return "router-advert"
	}
	return "unknown"
}

const (
	// maxVLANTags is how many stacked tags Inspect steps over: 802.1ad
	// QinQ is two. A host on an untagged LAN does not parse a frame with
	// more, so such a frame cannot configure it.
	maxVLANTags = 2

	// maxIPv6ExtHeaders bounds the extension header walk so a crafted chain
	// costs a fixed amount of work. Real traffic carries at most a handful
	// (hop-by-hop, routing, fragment, destination options, AH).
	maxIPv6ExtHeaders = 10

	ipProtoHopByHop = 0
	ipProtoUDP      = 17
	ipProtoRouting  = 43
	ipProtoFragment = 44
	ipProtoAH       = 51
	ipProtoICMPv6   = 58
	ipProtoDstOpts  = 60

	portDHCPv4Server = 67
	portDHCPv4Client = 68
	portDHCPv6Server = 547
	portDHCPv6Client = 546

	icmpv6RouterAdvert = 134
)

// Inspect classifies frame for the edge guards. It looks through up to two
// VLAN tags (802.1Q 0x8100, 802.1ad 0x88a8 and the older 0x9100), IPv4
// options and IPv6 extension headers. Only the first fragment of a
// fragmented datagram carries the UDP or ICMPv6 header, so later fragments
// are KindOther: without their first fragment they reassemble to nothing.
// Short, truncated or garbage input is KindOther; Inspect never panics and
// never allocates.
func Inspect(frame []byte) Kind {
	et, p, ok := l3(frame)
	if !ok {
		return KindOther
	}
	switch et {
	case EtherTypeIPv4:
		return inspectIPv4(p)
	case EtherTypeIPv6:
		return inspectIPv6(p)
	}
	return KindOther
}

// inspectIPv4 classifies an IPv4 packet p (starting at the IP header).
func inspectIPv4(p []byte) Kind {
	if len(p) < 20 || p[0]>>4 != 4 {
		return KindOther
	}
	ihl := int(p[0]&0x0f) * 4
	if ihl < 20 || len(p) < ihl {
		return KindOther
	}
	// Ethernet pads short frames; bytes past the IP total length are not
	// part of the packet. A total length beyond the frame means the frame
	// was truncated, so use what is there.
	total := int(binary.BigEndian.Uint16(p[2:4]))
	if total < ihl {
		return KindOther
	}
	if total < len(p) {
		p = p[:total]
	}
	if p[9] != ipProtoUDP {
		return KindOther
	}
	if binary.BigEndian.Uint16(p[6:8])&0x1fff != 0 {
		return KindOther // a non-first fragment carries no UDP header
	}
	u := p[ihl:]
	if len(u) < 4 {
		return KindOther
	}
	if binary.BigEndian.Uint16(u[0:2]) == portDHCPv4Server &&
		binary.BigEndian.Uint16(u[2:4]) == portDHCPv4Client {
		return KindDHCPv4Server
	}
	return KindOther
}

// inspectIPv6 classifies an IPv6 packet p (starting at the IP header),
// walking at most maxIPv6ExtHeaders extension headers.
func inspectIPv6(p []byte) Kind {
	if len(p) < 40 || p[0]>>4 != 6 {
		return KindOther
	}
	// Payload length 0 is a jumbogram (or garbage): use the whole frame,
	// which can only make the guard stricter.
	plen := int(binary.BigEndian.Uint16(p[4:6]))
	nh := p[6]
	p = p[40:]
	if plen != 0 && plen < len(p) {
		p = p[:plen]
	}
	for walked := 0; ; walked++ {
		switch nh {
		case ipProtoICMPv6:
			if len(p) >= 1 && p[0] == icmpv6RouterAdvert {
				return KindRouterAdvert
			}
			return KindOther
		case ipProtoUDP:
			if len(p) >= 4 &&
				binary.BigEndian.Uint16(p[0:2]) == portDHCPv6Server &&
				binary.BigEndian.Uint16(p[2:4]) == portDHCPv6Client {
				return KindDHCPv6Server
			}
			return KindOther
		case ipProtoHopByHop, ipProtoRouting, ipProtoDstOpts:
			// Next Header, Hdr Ext Len in 8-octet units not counting the first 8.
			if walked == maxIPv6ExtHeaders || len(p) < 2 {
				return KindOther
			}
			n := (int(p[1]) + 1) * 8
			if len(p) < n {
				return KindOther
			}
			nh, p = p[0], p[n:]
		case ipProtoFragment:
			// Next Header, reserved, Fragment Offset (13 bits) + flags, ID.
			if walked == maxIPv6ExtHeaders || len(p) < 8 {
				return KindOther
			}
			if binary.BigEndian.Uint16(p[2:4])&0xfff8 != 0 {
				return KindOther // a non-first fragment
			}
			nh, p = p[0], p[8:]
		case ipProtoAH:
			// Payload Len in 4-octet units minus 2 (RFC 4302).
			if walked == maxIPv6ExtHeaders || len(p) < 2 {
				return KindOther
			}
			n := (int(p[1]) + 2) * 4
			if len(p) < n {
				return KindOther
			}
			nh, p = p[0], p[n:]
		default:
			// No next header (59), ESP (50), TCP and the rest.
			return KindOther
		}
	}
}

// GuardConfig says which edge guards are on.
type GuardConfig struct {
	DHCP bool // drop DHCPv4 and DHCPv6 server replies
	RA   bool // drop IPv6 router advertisements
}

// GuardStats is a snapshot of a Guards' drop counters.
type GuardStats struct {
	DroppedDHCPv4 uint64
	DroppedDHCPv6 uint64
	DroppedRA     uint64
}

// Guards decides which frames must not cross the overlay edge and counts
// them. Use one Guards per direction (to the overlay, from the overlay) so
// status can tell a local leak from a peer's. The zero value has every guard
// off. All methods are safe for concurrent use and allocation-free;
// Configure may run while frames flow (a config reload).
type Guards struct {
	dhcp atomic.Bool
	ra   atomic.Bool

	droppedDHCPv4 atomic.Uint64
	droppedDHCPv6 atomic.Uint64
	droppedRA     atomic.Uint64
}

// NewGuards returns Guards with cfg applied.
func NewGuards(cfg GuardConfig) *Guards {
	g := &Guards{}
	g.Configure(cfg)
	return g
}

// Configure switches the guards on or off. Counters are kept.
func (g *Guards) Configure(cfg GuardConfig) {
	g.dhcp.Store(cfg.DHCP)
	g.ra.Store(cfg.RA)
}

// Config returns the current configuration.
func (g *Guards) Config() GuardConfig {
	return GuardConfig{DHCP: g.dhcp.Load(), RA: g.ra.Load()}
}

// Drop reports whether frame must not cross the overlay edge, and counts it
// when so. With every guard off it does not look at the frame.
func (g *Guards) Drop(frame []byte) bool {
	dhcp, ra := g.dhcp.Load(), g.ra.Load()
	if !dhcp && !ra {
		return false
	}
	switch Inspect(frame) {
	case KindDHCPv4Server:
		if dhcp {
			g.droppedDHCPv4.Add(1)
			return true
		}
	case KindDHCPv6Server:
		if dhcp {
			g.droppedDHCPv6.Add(1)
			return true
		}
	case KindRouterAdvert:
		if ra {
			g.droppedRA.Add(1)
			return true
		}
	}
	return false
}

// Stats returns the drop counters.
func (g *Guards) Stats() GuardStats {
	return GuardStats{
		DroppedDHCPv4: g.droppedDHCPv4.Load(),
		DroppedDHCPv6: g.droppedDHCPv6.Load(),
		DroppedRA:     g.droppedRA.Load(),
	}
}
