package netlab

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// NATKind selects the IPv4 NAT behaviour Lab.NAT installs on a router, named
// by RFC 4787 mapping and filtering behaviour.
type NATKind int

const (
	// None removes any NAT: the router only forwards (IPv4 and IPv6), and
	// hosts behind it are reachable with their own addresses.
	None NATKind = iota
	// EndpointIndependent is a full-cone NAT: endpoint-independent mapping
	// (one external port per internal ip:port, the same port when it is
	// free) and endpoint-independent filtering (anyone may send to a
	// mapped port). The easiest NAT to traverse.
	EndpointIndependent
	// PortRestricted is Linux MASQUERADE as found on most home routers:
	// endpoint-independent mapping while the port is free, and
	// address-and-port-dependent filtering (only ip:port pairs the inside
	// host has sent to may answer).
	PortRestricted
	// Symmetric gives every destination its own random external port
	// (address-and-port-dependent mapping) with address-and-port-dependent
	// filtering; hole punching cannot predict the port.
	Symmetric
)

// String returns the kind's Go name.
func (k NATKind) String() string {
	switch k {
	case None:
		return "None"
	case EndpointIndependent:
		return "EndpointIndependent"
	case PortRestricted:
		return "PortRestricted"
	case Symmetric:
		return "Symmetric"
	}
	return fmt.Sprintf("NATKind(%d)", int(k))
}

// natTable is the nftables table NAT owns inside the router namespace.
const natTable = "ipopd_nat"

// NAT makes router translate IPv4 traffic leaving wanIf, replacing whatever
// NAT it installed before, and turns forwarding on. IPv6 is always routed
// untouched (no NAT66, no filter). It uses one nftables table, ip
// ipopd_nat, so the rules can be read with `nft list table ip ipopd_nat`:
//
// All kinds but None install the same stateful filter, so that hosts inside
// are reachable from the WAN only through a mapping (even if a remote had a
// route to the private LAN):
//
//	chain filter_forward { type filter hook forward priority filter
//	  iifname WAN ct state established,related accept
//	  iifname WAN ct status dnat accept
//	  iifname WAN drop }
//
// PortRestricted: `oifname WAN masquerade` in the srcnat chain. Linux keeps
// the inside source port when the resulting tuple is unused, and because
// conntrack tuples include the remote, one inside ip:port gets the same
// external port towards every remote (RFC 4787 endpoint-independent
// mapping, REQ-1, as long as two inside hosts do not pick the same port).
// Inbound packets are only accepted as replies of a conntrack entry, i.e.
// from the exact remote ip:port (address-and-port-dependent filtering).
//
// Symmetric: `oifname WAN masquerade fully-random`: every new conntrack
// entry, i.e. every new remote ip:port, gets a random external port
// (address-and-port-dependent mapping); filtering as PortRestricted.
//
// EndpointIndependent: masquerade as PortRestricted, plus a dynamic map
// fullcone (external UDP port -> inside ip . port, 5 minute timeout
// refreshed by every outbound packet) filled after source NAT by
//
//	oifname WAN ct direction original ct status snat
//	  update @fullcone { udp sport : ct original ip saddr . ct original proto-src }
//
// and a dstnat rule `iifname WAN dnat ip to udp dport map @fullcone` that
// sends any remote's UDP packet for a mapped port to its inside owner
// (endpoint-independent filtering). TCP and ICMP behave as PortRestricted.
// The map holds only translated forwarded flows (ct status snat), so the
// router's own sockets are never mapped.
func (l *Lab) NAT(router *Host, wanIf string, kind NATKind) {
	l.t.Helper()
	script, err := natRuleset(wanIf, kind)
	if err != nil {
		l.fatalf("NAT(%s): %v", router.name, err)
	}
	if !HasCommand("nft") {
		l.t.Skip("needs nft (nftables) for NAT")
	}
	router.Forwarding(true)
	file := filepath.Join(l.dir, fmt.Sprintf("nat-%s.nft", router.name))
	if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
		l.fatalf("NAT(%s): %v", router.name, err)
	}
	if _, err := runTimeout(setupTimeout, "ip", "netns", "exec", router.ns, "nft", "-f", file); err != nil {
		l.fatalf("NAT(%s, %s, %v): %v\nruleset:\n%s", router.name, wanIf, kind, err, script)
	}
}

// fullConeTimeout outlives conntrack's UDP stream timeout (120-180 s), so a
// mapping never vanishes while its flow is still known.
const fullConeTimeout = "5m"

// natRuleset returns the nft script for NAT: it creates the table if needed
// and deletes it, then (for kinds other than None) recreates it, all in one
// atomic transaction, so repeating NAT replaces the rules.
func natRuleset(wanIf string, kind NATKind) (string, error) {
	if err := checkIfName(wanIf); err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "table ip %s {}\ndelete table ip %s\n", natTable, natTable)
	wan := fmt.Sprintf("%q", wanIf)
	var masq string
	switch kind {
	case None:
		return b.String(), nil
	case EndpointIndependent, PortRestricted:
		masq = "masquerade"
	case Symmetric:
		masq = "masquerade fully-random"
	default:
		return "", fmt.Errorf("%w: unknown NAT kind %v", ErrInvalid, kind)
	}
	fmt.Fprintf(&b, "table ip %s {\n", natTable)
	if kind == EndpointIndependent {
		fmt.Fprintf(&b, "\tmap fullcone {\n\t\ttype inet_service : ipv4_addr . inet_service\n\t\tflags dynamic,timeout\n\t\ttimeout %s\n\t}\n", fullConeTimeout)
		fmt.Fprintf(&b, "\tchain nat_prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n")
		fmt.Fprintf(&b, "\t\tiifname %s meta l4proto udp dnat ip to udp dport map @fullcone\n\t}\n", wan)
		fmt.Fprintf(&b, "\tchain record_mapping {\n\t\ttype filter hook postrouting priority srcnat + 10; policy accept;\n")
		fmt.Fprintf(&b, "\t\toifname %s ct direction original ct status snat meta l4proto udp update @fullcone { udp sport : ct original ip saddr . ct original proto-src }\n\t}\n", wan)
	}
	fmt.Fprintf(&b, "\tchain nat_postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t\toifname %s %s\n\t}\n", wan, masq)
	fmt.Fprintf(&b, "\tchain filter_forward {\n\t\ttype filter hook forward priority filter; policy accept;\n")
	fmt.Fprintf(&b, "\t\tiifname %s ct state established,related accept\n", wan)
	fmt.Fprintf(&b, "\t\tiifname %s ct status dnat accept\n", wan)
	fmt.Fprintf(&b, "\t\tiifname %s drop\n\t}\n}\n", wan)
	return b.String(), nil
}

// FlushConntrack makes router forget every connection and NAT mapping, as a
// NAT reboot or mapping timeout would: the next packet of each flow gets a
// fresh mapping. It deletes all conntrack entries (IPv4 and IPv6) over
// netlink in the router's namespace - what `conntrack -F` does, without
// needing conntrack-tools - and empties the EndpointIndependent port map.
// The NAT rules themselves stay.
func (l *Lab) FlushConntrack(router *Host) {
	l.t.Helper()
	if err := flushConntrack(router.ns); err != nil {
		l.fatalf("FlushConntrack(%s): %v", router.name, err)
	}
	if !HasCommand("nft") {
		return
	}
	if _, err := runTimeout(setupTimeout, "ip", "netns", "exec", router.ns, "nft", "list", "map", "ip", natTable, "fullcone"); err != nil {
		return // no full-cone map installed
	}
	if _, err := runTimeout(setupTimeout, "ip", "netns", "exec", router.ns, "nft", "flush", "map", "ip", natTable, "fullcone"); err != nil {
		l.fatalf("FlushConntrack(%s): %v", router.name, err)
	}
}
