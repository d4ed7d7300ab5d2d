package group

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
)

// MaxNameLen is the longest group or node name; 63 keeps a name usable as a
// DNS label.
const MaxNameLen = 63

// DefaultSubnet is the group subnet when none is given. It sits outside the
// 192.168.0.0/16 and 10.0.0.0/24 ranges that home routers use by default.
var DefaultSubnet = netip.MustParsePrefix("10.77.0.0/16")

// Subnet size limits: a /8 is the largest block that makes sense for a
// group, and a /30 is the smallest with two host addresses.
const (
	minSubnetBits = 8
	maxSubnetBits = 30
)

// reservedRanges may not be used as a group subnet because hosts treat
// addresses in them specially.
var reservedRanges = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "this network"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
}

// ValidateName checks a group or node name: 1..63 characters from
// [A-Za-z0-9._-], starting with a letter or digit.
func ValidateName(name string) error {
	if name == "" {
		return errorf(ErrInvalidName, "name is empty")
	}
	if len(name) > MaxNameLen {
		return errorf(ErrInvalidName, "name %q is %d characters long; the limit is %d", shorten(name), len(name), MaxNameLen)
	}
	if !isAlnum(name[0]) {
		return errorf(ErrInvalidName, "name %q must start with a letter or digit", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return errorf(ErrInvalidName, "name %q contains %q; allowed are letters, digits, '.', '_' and '-'", name, c)
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// ParseSubnet parses a group subnet given by a person, such as the CLI's
// --subnet, validates it and returns it masked (10.77.1.0/16 -> 10.77.0.0/16).
func ParseSubnet(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return netip.Prefix{}, errorf(ErrInvalidSubnet, "subnet %q is not a CIDR prefix such as %s", shorten(s), DefaultSubnet)
	}
	return ValidateSubnet(p)
}

// ValidateSubnet checks that p is an IPv4 prefix of length /8../30 outside
// the loopback, link-local, multicast and reserved ranges, and returns it
// masked.
func ValidateSubnet(p netip.Prefix) (netip.Prefix, error) {
	if !p.IsValid() {
		return netip.Prefix{}, errorf(ErrInvalidSubnet, "subnet is not set")
	}
	if !p.Addr().Is4() {
		return netip.Prefix{}, errorf(ErrInvalidSubnet, "subnet %s is not IPv4", p)
	}
	if p.Bits() < minSubnetBits || p.Bits() > maxSubnetBits {
		return netip.Prefix{}, errorf(ErrInvalidSubnet, "subnet %s: prefix length /%d is outside /%d../%d", p, p.Bits(), minSubnetBits, maxSubnetBits)
	}
	p = p.Masked()
	for _, r := range reservedRanges {
		if r.prefix.Overlaps(p) {
			return netip.Prefix{}, errorf(ErrInvalidSubnet, "subnet %s overlaps the %s range %s", p, r.what, r.prefix)
		}
	}
	return p, nil
}

// parseStoredSubnet parses a subnet from a file this package wrote, which
// is always in canonical masked form; anything else means the file was
// edited or damaged.
func parseStoredSubnet(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, errorf(ErrInvalidSubnet, "subnet %q is not a CIDR prefix", shorten(s))
	}
	if p.Masked() != p {
		return netip.Prefix{}, errorf(ErrInvalidSubnet, "subnet %s has host bits set (want %s)", p, p.Masked())
	}
	return ValidateSubnet(p)
}

// broadcastAddr returns the last address of the IPv4 prefix p.
func broadcastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	v := binary.BigEndian.Uint32(a[:]) | (uint32(1)<<(32-p.Bits()) - 1)
	binary.BigEndian.PutUint32(a[:], v)
	return netip.AddrFrom4(a)
}

// firstHost returns the first usable host address of p (the owner's).
func firstHost(p netip.Prefix) netip.Addr { return p.Masked().Addr().Next() }

// checkHostAddress checks that a is a usable host address of subnet: IPv4,
// inside it, and neither its network nor its broadcast address.
func checkHostAddress(subnet netip.Prefix, a netip.Addr) error {
	if !a.IsValid() {
		return errorf(ErrInvalidAddress, "address is not set")
	}
	if !a.Is4() {
		return errorf(ErrInvalidAddress, "address %s is not IPv4", a)
	}
	if !subnet.Contains(a) {
		return errorf(ErrInvalidAddress, "address %s is outside the group subnet %s", a, subnet)
	}
	if a == subnet.Masked().Addr() {
		return errorf(ErrInvalidAddress, "address %s is the network address of %s", a, subnet)
	}
	if a == broadcastAddr(subnet) {
		return errorf(ErrInvalidAddress, "address %s is the broadcast address of %s", a, subnet)
	}
	return nil
}

// checkLocalOverlap refuses a subnet that overlaps an IPv4 prefix configured
// on this machine: the overlay's routes would shadow (or be shadowed by) the
// local network. local == nil reads the interfaces.
func checkLocalOverlap(subnet netip.Prefix, local func() ([]netip.Prefix, error)) error {
	if local == nil {
		local = InterfacePrefixes
	}
	prefixes, err := local()
	if err != nil {
		return fmt.Errorf("reading local interface addresses: %w", err)
	}
	for _, p := range prefixes {
		if !p.IsValid() || !p.Addr().Unmap().Is4() {
			continue
		}
		bits := p.Bits()
		if p.Addr().Is4In6() {
			bits -= 96
		}
		q := netip.PrefixFrom(p.Addr().Unmap(), max(bits, 0))
		if q.Masked().Overlaps(subnet) {
			return errorf(ErrSubnetOverlap, "subnet %s overlaps local interface address %s; choose another subnet", subnet, q)
		}
	}
	return nil
}

// InterfacePrefixes returns the address prefixes of this machine's network
// interfaces; it is the default CreateOptions.LocalPrefixes.
func InterfacePrefixes() ([]netip.Prefix, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, a := range addrs {
		switch v := a.(type) {
		case *net.IPNet:
			ip, ok := netip.AddrFromSlice(v.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			ones, bits := v.Mask.Size()
			if ip.Is4() && bits == 128 {
				ones -= 96
			}
			if bits == 0 || ones < 0 || ones > ip.BitLen() {
				continue
			}
			out = append(out, netip.PrefixFrom(ip, ones))
		case *net.IPAddr:
			ip, ok := netip.AddrFromSlice(v.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
		}
	}
	return out, nil
}

// defaultNodeName derives a node name from the host name (its first label),
// so "ipopd group create --name home" needs no --node flag on a router.
func defaultNodeName() (string, error) {
	h, err := os.Hostname()
	if err != nil {
		return "", errorf(ErrInvalidName, "no node name given and the host name is unreadable: %w", err)
	}
	h, _, _ = strings.Cut(h, ".")
	if err := ValidateName(h); err != nil {
		return "", errorf(ErrInvalidName, "no node name given and the host name is not usable: %w", err)
	}
	return h, nil
}

// shorten cuts text that may come from an untrusted peer or a damaged file
// before it goes into an error message, so a log line stays a line.
func shorten(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}
