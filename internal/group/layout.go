package group

import (
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
)

// Address plans.
//
// The owner hands every member one router address and one DHCP pool from
// the group subnet. A group made by this version chooses the pool size at
// creation (CreateOptions.PoolSize or Members) and keeps it in group.json
// as pool_size; the subnet is then laid out as
//
//	| router range | pool | pool | ... | pool |
//
// The subnet is cut into slices of pool_size addresses. The router range
// is the smallest block of 2^n slices at the start of the subnet (so it is
// itself a prefix) with at least as many host addresses (all but the
// subnet's network address) as there are slices after it; every other
// slice is a pool. Router addresses come only from the router range and
// pools only from the rest, so the two never overlap, and the number of
// members is fixed when the group is made: one per pool. A /16 with pools
// of 64 has 1024 slices: a router range of 16 slices (10.77.0.0/22, 1023
// addresses) and 1008 pools, so 1008 members.
//
// pool_size 0 means members get no pool (subnets of /28 and smaller, too
// small for a router range and a pool of 16): every host address is a
// router address. A group.json without pool_size was written before pool
// sizes could be chosen; its subnet keeps the rule of pool.go (256 slices,
// routers from slice 0 on), so such groups allocate as they always did.

// MinPoolSize is the smallest DHCP pool: 14 leases once the pool's first
// and last address are left out.
const MinPoolSize = 16

// Layout is a group's address plan: where the owner takes router
// addresses and DHCP pools from. Only an owner's State has one.
type Layout struct {
	Subnet netip.Prefix
	// PoolSize is the number of addresses of each member's DHCP pool; 0
	// if members get none.
	PoolSize int
	// Routers is where router addresses come from: the router range, or
	// in a legacy layout slice 0, where they start (they go on into
	// later slices once it is full).
	Routers netip.Prefix
	// MaxMembers is how many members the group can hold, owner included.
	MaxMembers int
	// Legacy is set for a group whose group.json has no pool_size: the
	// slicing rule of pool.go applies.
	Legacy bool
}

// String says what the plan holds, for people.
func (l Layout) String() string {
	if l.PoolSize == 0 {
		return fmt.Sprintf("no DHCP pools; at most %d members, router addresses from %s", l.MaxMembers, l.Routers)
	}
	return fmt.Sprintf("DHCP pools of %d addresses; at most %d members, router addresses from %s", l.PoolSize, l.MaxMembers, l.Routers)
}

// legacyLayout is the plan of a group made before pool_size existed.
func legacyLayout(subnet netip.Prefix) Layout {
	l := Layout{Subnet: subnet, Legacy: true, Routers: subnet}
	b := poolSliceBits(subnet)
	if b == 0 {
		l.MaxMembers = hostCount(subnet)
		return l
	}
	l.PoolSize = 1 << (32 - b)
	l.Routers = poolSlice(subnet, b, poolRouterSlice)
	l.MaxMembers = PoolSlices(subnet) - 1
	return l
}

// DefaultPoolSize is the pool size of a group created without one: the
// slice size of the legacy rule (a 256th of the subnet, at least 16), or 0
// for a subnet too small for pools.
func DefaultPoolSize(subnet netip.Prefix) int {
	if b := poolSliceBits(subnet); b != 0 {
		return 1 << (32 - b)
	}
	return 0
}

// hostCount returns the number of host addresses of subnet.
func hostCount(subnet netip.Prefix) int { return 1<<(32-subnet.Bits()) - 2 }

// pooledLayout lays subnet out in pools of size addresses (a power of two
// of at least MinPoolSize, at most half the subnet).
func pooledLayout(subnet netip.Prefix, size int) Layout {
	total := 32 - subnet.Bits()         // log2 of the subnet's addresses
	k := bits.TrailingZeros(uint(size)) // log2 of a pool's
	slicesN := 1 << (total - k)
	for r := k; r < total; r++ {
		routerSlices := 1 << (r - k)
		if 1<<r-1 >= slicesN-routerSlices {
			return Layout{
				Subnet: subnet, PoolSize: size,
				Routers:    netip.PrefixFrom(subnet.Addr(), 32-r),
				MaxMembers: slicesN - routerSlices,
			}
		}
	}
	// Unreachable: half the subnet always holds the other half's pools.
	panic(fmt.Sprintf("group: no router range for pools of %d in %s", size, subnet))
}

// noPoolLayout gives every host address of subnet to routers.
func noPoolLayout(subnet netip.Prefix) Layout {
	return Layout{Subnet: subnet, Routers: subnet, MaxMembers: hostCount(subnet)}
}

// layoutFor returns the plan stored in group.json: pool size nil is the
// legacy rule. Errors are ErrCorrupt: the file was edited or damaged.
func layoutFor(subnet netip.Prefix, poolSize *int) (Layout, error) {
	if poolSize == nil {
		return legacyLayout(subnet), nil
	}
	if *poolSize == 0 {
		return noPoolLayout(subnet), nil
	}
	if err := checkPoolSize(subnet, *poolSize); err != nil {
		return Layout{}, errorf(ErrCorrupt, "pool_size: %w", err)
	}
	return pooledLayout(subnet, *poolSize), nil
}

// checkPoolSize checks that subnet can be cut into pools of size.
func checkPoolSize(subnet netip.Prefix, size int) error {
	if size < MinPoolSize || size&(size-1) != 0 {
		return errorf(ErrInvalidOption, "pool size %d is not a power of two of at least %d (16, 32, 64, 128, 256 ...)", size, MinPoolSize)
	}
	addrs := 1 << (32 - subnet.Bits())
	if 2*MinPoolSize > addrs {
		return errorf(ErrInvalidOption, "a /%d has %d addresses, too few for DHCP pools besides the router addresses; leave out the pool size (members get no pool) or use a /%d or larger subnet", subnet.Bits(), addrs, 32-bits.Len(2*MinPoolSize-1))
	}
	if size > addrs/2 {
		return errorf(ErrInvalidOption, "a /%d has %d addresses: pools of %d leave no room for router addresses; use a pool size of %d or less, or a larger subnet", subnet.Bits(), addrs, size, addrs/2)
	}
	return nil
}

// PlanLayout chooses the address plan of a new group. poolSize is the
// number of addresses of each member's DHCP pool (0: chosen); members, if
// not 0, is how many members the group must hold. With a pool size the
// plan must hold members; without, it takes the largest pool size that
// does, or DefaultPoolSize if members is 0. Errors match ErrInvalidOption
// and say which pool size or subnet would do.
func PlanLayout(subnet netip.Prefix, poolSize, members int) (Layout, error) {
	subnet, err := ValidateSubnet(subnet)
	if err != nil {
		return Layout{}, err
	}
	if poolSize < 0 {
		return Layout{}, errorf(ErrInvalidOption, "pool size %d is negative", poolSize)
	}
	if members < 0 {
		return Layout{}, errorf(ErrInvalidOption, "member count %d is negative", members)
	}
	if poolSize != 0 {
		if err := checkPoolSize(subnet, poolSize); err != nil {
			return Layout{}, err
		}
		l := pooledLayout(subnet, poolSize)
		if members > l.MaxMembers {
			return Layout{}, errorf(ErrInvalidOption, "a /%d with pools of %d holds at most %d members: %s", subnet.Bits(), poolSize, l.MaxMembers, advice(subnet, poolSize, members))
		}
		return l, nil
	}
	if members == 0 {
		if size := DefaultPoolSize(subnet); size != 0 {
			return pooledLayout(subnet, size), nil
		}
		return noPoolLayout(subnet), nil
	}
	if size := fittingPoolSize(subnet, members); size != 0 {
		return pooledLayout(subnet, size), nil
	}
	if checkPoolSize(subnet, MinPoolSize) != nil {
		// Too small for pools at all: routers only.
		if l := noPoolLayout(subnet); members <= l.MaxMembers {
			return l, nil
		}
		return Layout{}, errorf(ErrInvalidOption, "a /%d holds at most %d members: %s", subnet.Bits(), hostCount(subnet), advice(subnet, 0, members))
	}
	return Layout{}, errorf(ErrInvalidOption, "a /%d holds at most %d members (with the smallest pools, of %d addresses): %s",
		subnet.Bits(), pooledLayout(subnet, MinPoolSize).MaxMembers, MinPoolSize, advice(subnet, 0, members))
}

// fittingPoolSize returns the largest pool size for which subnet holds
// members, or 0 if none does.
func fittingPoolSize(subnet netip.Prefix, members int) int {
	for size := (1 << (32 - subnet.Bits())) / 2; size >= MinPoolSize; size /= 2 {
		if pooledLayout(subnet, size).MaxMembers >= members {
			return size
		}
	}
	return 0
}

// fits reports whether subnet holds members with pools of poolSize, or
// with any plan PlanLayout would choose if poolSize is 0.
func fits(subnet netip.Prefix, poolSize, members int) bool {
	if poolSize != 0 {
		return checkPoolSize(subnet, poolSize) == nil && pooledLayout(subnet, poolSize).MaxMembers >= members
	}
	if fittingPoolSize(subnet, members) != 0 {
		return true
	}
	return checkPoolSize(subnet, MinPoolSize) != nil && hostCount(subnet) >= members
}

// advice names what holds members instead of subnet with pools of
// poolSize (0: any): a smaller pool size in the same subnet, and the
// smallest larger subnet.
func advice(subnet netip.Prefix, poolSize, members int) string {
	out := "use "
	if size := fittingPoolSize(subnet, members); size != 0 && size < poolSize {
		out = fmt.Sprintf("use --pool-size %d (at most %d members) or ", size, pooledLayout(subnet, size).MaxMembers)
	}
	for b := subnet.Bits() - 1; b >= minSubnetBits; b-- {
		if fits(netip.PrefixFrom(subnet.Addr(), b).Masked(), poolSize, members) {
			return out + fmt.Sprintf("a larger subnet like /%d", b)
		}
	}
	return out + "fewer members, in several groups"
}

// fullError is the error for a plan with nothing left, naming the fix:
// certificates carry their pools, so the plan of a group is fixed and a
// larger group is a new one.
func (l Layout) fullError(what string) error {
	const fix = "a larger group is a new group: 'ipopd group create --members N' picks the pool size for N members, or give a larger --subnet"
	why := "without DHCP pools"
	if l.PoolSize != 0 {
		why = fmt.Sprintf("with DHCP pools of %d addresses", l.PoolSize)
	}
	if l.Legacy {
		why += ", as groups created before the pool size could be chosen"
	}
	return errorf(ErrSubnetFull, "every %s of %s is allocated: the group holds at most %s %s; %s", what, l.Subnet, plural(l.MaxMembers, "member"), why, fix)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// nextAddress returns the lowest free router address.
func (l Layout) nextAddress(allocs []Allocation) (netip.Addr, error) {
	if l.Legacy {
		a, err := nextFree(l.Subnet, allocs)
		if err != nil {
			return a, l.fullError("host address")
		}
		return a, nil
	}
	used := make(map[netip.Addr]bool, len(allocs))
	for _, a := range allocs {
		used[a.Address] = true
	}
	last, bcast := broadcastAddr(l.Routers), broadcastAddr(l.Subnet)
	for a := firstHost(l.Routers); a != bcast; a = a.Next() {
		if !used[a] {
			return a, nil
		}
		if a == last {
			break
		}
	}
	if l.Routers == l.Subnet {
		return netip.Addr{}, l.fullError("host address")
	}
	return netip.Addr{}, l.fullError(fmt.Sprintf("router address (%s)", l.Routers))
}

// checkRouterAddress checks an address the caller chose for a new member:
// in a laid-out group it must be in the router range, so that it never
// takes a pool's place.
func (l Layout) checkRouterAddress(a netip.Addr) error {
	if !l.Legacy && !l.Routers.Contains(a) {
		return errorf(ErrInvalidAddress, "address %s is outside the router range %s of %s (router addresses come from there, DHCP pools from the rest)", a, l.Routers, l.Subnet)
	}
	return nil
}

// nextPool returns the lowest free pool for a new member at addr, or the
// zero Prefix if the plan has no pools.
func (l Layout) nextPool(allocs []Allocation, addr netip.Addr) (netip.Prefix, error) {
	if l.PoolSize == 0 {
		return netip.Prefix{}, nil
	}
	pbits := 32 - (bits.Len(uint(l.PoolSize)) - 1)
	if l.Legacy {
		p, err := nextPool(l.Subnet, append(slices.Clone(allocs), Allocation{Address: addr}))
		if err != nil {
			return p, l.fullError(fmt.Sprintf("DHCP pool slice (/%d)", pbits))
		}
		return p, nil
	}
	used := make(map[netip.Prefix]bool, len(allocs))
	for _, a := range allocs {
		used[a.Pool] = true
	}
	first := 1 << (pbits - l.Routers.Bits()) // slices in the router range
	n := 1 << (pbits - l.Subnet.Bits())
	for k := first; k < n; k++ {
		if p := poolSlice(l.Subnet, pbits, k); !used[p] {
			return p, nil
		}
	}
	return netip.Prefix{}, l.fullError(fmt.Sprintf("DHCP pool slice (/%d)", pbits))
}

// checkAllocation checks that a recorded member fits the plan: its
// address in the router range and a pool of the plan's size outside it
// (or none if the plan has no pools). Legacy plans check nothing more
// than parseAllocations does for every group.
func (l Layout) checkAllocation(a Allocation) error {
	if l.Legacy {
		return nil
	}
	if !l.Routers.Contains(a.Address) {
		return errorf(ErrInvalidAddress, "address %s is outside the router range %s", a.Address, l.Routers)
	}
	switch {
	case l.PoolSize == 0 && a.Pool.IsValid():
		return errorf(ErrInvalidAddress, "pool %s in a group without pools", a.Pool)
	case l.PoolSize == 0:
		return nil
	case !a.Pool.IsValid():
		return errorf(ErrInvalidAddress, "no pool, but every member of the group has one")
	case 1<<(32-a.Pool.Bits()) != l.PoolSize:
		return errorf(ErrInvalidAddress, "pool %s is not of the group's pool size %d", a.Pool, l.PoolSize)
	case a.Pool.Overlaps(l.Routers):
		return errorf(ErrInvalidAddress, "pool %s overlaps the router range %s", a.Pool, l.Routers)
	}
	return nil
}
