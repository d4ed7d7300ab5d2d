package group

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"fmt"
	"net/netip"
)

// DHCP pool slices: the legacy rule.
//
// Every member router serves its own LAN from its own slice of the group
// subnet, so DHCP servers on different sites never hand out the same
// address. Groups created with a pool size follow layout.go; groups whose
// group.json has none (created before) follow this rule, which also gives
// new groups their default pool size. The subnet is cut into equal
// slices: a slice is 8 bits longer
// than the subnet (a /16 gives 256 slices of /24), but never smaller than a
// /28 (a /24 gives 16 slices of /28). Slice 0 is where the routers' own
// addresses are allocated; each member gets the lowest free slice from 1
// up. A slice that already holds a router address (given explicitly, or
// once slice 0 is full) is never a pool, and no router address is ever
// taken from a pool, so addresses and pools never overlap. Subnets with
// fewer than two slices (/28 and smaller) have no pools: members get the
// zero Prefix.
const (
	poolExtraBits   = 8
	maxPoolBits     = 28
	poolRouterSlice = 0
)

// OIDPool identifies the certificate extension that carries a member's
// pool slice. ipopd has no IANA private enterprise number; this arc
// (1.3.6.1.4.1.1077700, far beyond the assigned range) is private to
// ipopd. The extension is non-critical, so other X.509 software ignores it.
// Its value is the DER of
//
//	PoolSlice ::= SEQUENCE { network OCTET STRING (SIZE(4)), length INTEGER (1..32) }
var OIDPool = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 1077700, 1, 1}

type poolExtValue struct {
	Network []byte
	Length  int
}

// poolSliceBits returns the prefix length of subnet's pool slices, or 0 if
// the subnet is too small to have pools.
func poolSliceBits(subnet netip.Prefix) int {
	b := min(subnet.Bits()+poolExtraBits, maxPoolBits)
	if b-subnet.Bits() < 1 {
		return 0
	}
	return b
}

// PoolSlices returns how many pool slices subnet has, slice 0 (the
// routers' addresses) included; 0 if it has none.
func PoolSlices(subnet netip.Prefix) int {
	b := poolSliceBits(subnet)
	if b == 0 {
		return 0
	}
	return 1 << (b - subnet.Bits())
}

// poolSlice returns slice k of subnet.
func poolSlice(subnet netip.Prefix, bits, k int) netip.Prefix {
	a := subnet.Masked().Addr().As4()
	v := binary.BigEndian.Uint32(a[:]) + uint32(k)<<(32-bits)
	binary.BigEndian.PutUint32(a[:], v)
	return netip.PrefixFrom(netip.AddrFrom4(a), bits)
}

// nextPool returns the lowest free pool slice of subnet, or the zero
// Prefix if the subnet has no pools. A slice is free if no member has it
// and no router address lies in it.
func nextPool(subnet netip.Prefix, allocs []Allocation) (netip.Prefix, error) {
	bits := poolSliceBits(subnet)
	if bits == 0 {
		return netip.Prefix{}, nil
	}
	n := 1 << (bits - subnet.Bits())
	for k := poolRouterSlice + 1; k < n; k++ {
		p := poolSlice(subnet, bits, k)
		if poolUsed(p, allocs) {
			continue
		}
		return p, nil
	}
	return netip.Prefix{}, errorf(ErrSubnetFull, "every DHCP pool slice (/%d) of %s is allocated", bits, subnet)
}

func poolUsed(p netip.Prefix, allocs []Allocation) bool {
	for _, a := range allocs {
		if a.Pool == p || p.Contains(a.Address) {
			return true
		}
	}
	return false
}

// poolOwner returns the allocation whose pool contains addr.
func poolOwner(addr netip.Addr, allocs []Allocation) (Allocation, bool) {
	for _, a := range allocs {
		if a.Pool.IsValid() && a.Pool.Contains(addr) {
			return a, true
		}
	}
	return Allocation{}, false
}

// checkPool checks that p is a usable pool for a member at addr: masked,
// strictly inside subnet, not holding addr.
func checkPool(subnet netip.Prefix, p netip.Prefix, addr netip.Addr) error {
	if !p.Addr().Is4() {
		return errorf(ErrInvalidAddress, "pool %s is not IPv4", p)
	}
	if p.Masked() != p {
		return errorf(ErrInvalidAddress, "pool %s has host bits set", p)
	}
	if p.Bits() <= subnet.Bits() || !subnet.Contains(p.Addr()) {
		return errorf(ErrInvalidAddress, "pool %s is not a slice of the group subnet %s", p, subnet)
	}
	if addr.IsValid() && p.Contains(addr) {
		return errorf(ErrInvalidAddress, "pool %s holds the node's own address %s", p, addr)
	}
	return nil
}

// poolExtension encodes p as the certificate extension.
func poolExtension(p netip.Prefix) (pkix.Extension, error) {
	a := p.Addr().As4()
	v, err := asn1.Marshal(poolExtValue{Network: a[:], Length: p.Bits()})
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("encoding pool extension: %w", err)
	}
	return pkix.Extension{Id: OIDPool, Critical: false, Value: v}, nil
}

// certPool reads the pool extension of cert: the zero Prefix if it has
// none. Errors are tagged with kind.
func certPool(cert *x509.Certificate, kind error) (netip.Prefix, error) {
	var found *pkix.Extension
	for i := range cert.Extensions {
		if cert.Extensions[i].Id.Equal(OIDPool) {
			if found != nil {
				return netip.Prefix{}, errorf(kind, "has two pool extensions")
			}
			found = &cert.Extensions[i]
		}
	}
	if found == nil {
		return netip.Prefix{}, nil
	}
	var v poolExtValue
	rest, err := asn1.Unmarshal(found.Value, &v)
	if err != nil || len(rest) != 0 {
		return netip.Prefix{}, errorf(kind, "pool extension is malformed")
	}
	if len(v.Network) != 4 || v.Length < 1 || v.Length > 32 {
		return netip.Prefix{}, errorf(kind, "pool extension is not an IPv4 prefix")
	}
	// Re-encoding must give the same bytes (DER has one form), so that a
	// certificate carries a pool in exactly one way.
	p := netip.PrefixFrom(netip.AddrFrom4([4]byte(v.Network)), v.Length)
	if again, err := poolExtension(p); err != nil || string(again.Value) != string(found.Value) {
		return netip.Prefix{}, errorf(kind, "pool extension is not in canonical DER")
	}
	return p, nil
}
