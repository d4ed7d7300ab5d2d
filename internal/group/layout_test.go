package group

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// makeLegacy rewrites s's group.json as an ipopd from before pool sizes
// wrote it (no pool_size) and loads the state again.
func makeLegacy(t *testing.T, s *State) *State {
	t.Helper()
	g := groupFile{Name: s.Name, Subnet: s.Subnet.String(), NodeName: s.NodeName, Owner: s.Owner()}
	data := encodeGroupFile(g)
	if strings.Contains(string(data), "pool") {
		t.Fatalf("old-style group.json mentions pools:\n%s", data)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, FileGroup), data, 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := Load(s.Dir)
	if err != nil {
		t.Fatalf("Load of the legacy group: %v", err)
	}
	if s.Owner() && !l.Layout.Legacy {
		t.Fatalf("legacy group.json loaded as plan %v", l.Layout)
	}
	return l
}

func readState(t *testing.T, dir, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestPlanLayout(t *testing.T) {
	tests := []struct {
		subnet            string
		poolSize, members int
		// want: pool size, router range, members; or an error fragment
		size    int
		routers string
		max     int
		err     string
		kind    error // of err; ErrInvalidOption if nil
	}{
		{subnet: "10.77.0.0/16", size: 256, routers: "10.77.0.0/24", max: 255},
		{subnet: "10.77.0.0/16", poolSize: 256, size: 256, routers: "10.77.0.0/24", max: 255},
		{subnet: "10.77.0.0/16", poolSize: 128, size: 128, routers: "10.77.0.0/23", max: 508},
		// 1024 slices of 64: 16 for routers (1023 addresses), 1008 pools.
		{subnet: "10.77.0.0/16", poolSize: 64, size: 64, routers: "10.77.0.0/22", max: 1008},
		{subnet: "10.77.0.0/16", poolSize: 32, size: 32, routers: "10.77.0.0/21", max: 1984},
		{subnet: "10.77.0.0/16", poolSize: 16, size: 16, routers: "10.77.0.0/20", max: 3840},
		{subnet: "10.77.0.0/16", members: 1000, size: 64, routers: "10.77.0.0/22", max: 1008},
		{subnet: "10.77.0.0/16", members: 1009, size: 32, routers: "10.77.0.0/21", max: 1984},
		{subnet: "10.77.0.0/16", members: 255, size: 256, routers: "10.77.0.0/24", max: 255},
		{subnet: "10.77.0.0/16", members: 2, size: 16384, routers: "10.77.0.0/18", max: 3},
		{subnet: "10.77.0.0/16", poolSize: 64, members: 1000, size: 64, routers: "10.77.0.0/22", max: 1008},
		{subnet: "10.64.0.0/12", members: 1000, size: 1024, routers: "10.64.0.0/22", max: 1023},
		{subnet: "10.77.1.0/24", poolSize: 128, size: 128, routers: "10.77.1.0/25", max: 1},
		{subnet: "10.77.1.0/29", members: 6, routers: "10.77.1.0/29", max: 6},
		{subnet: "10.77.1.0/28", routers: "10.77.1.0/28", max: 14},

		{subnet: "10.77.0.0/16", poolSize: 256, members: 1000, err: "a /16 with pools of 256 holds at most 255 members: use --pool-size 64 (at most 1008 members) or a larger subnet like /14"},
		{subnet: "10.77.0.0/16", members: 5000, err: "a /16 holds at most 3840 members (with the smallest pools, of 16 addresses): use a larger subnet like /15"},
		{subnet: "10.77.0.0/16", poolSize: 48, err: "pool size 48 is not a power of two of at least 16"},
		{subnet: "10.77.0.0/16", poolSize: 8, err: "pool size 8 is not a power of two of at least 16"},
		{subnet: "10.77.0.0/16", poolSize: -16, err: "negative"},
		{subnet: "10.77.0.0/16", members: -1, err: "negative"},
		{subnet: "10.77.0.0/16", poolSize: 65536, err: "a /16 has 65536 addresses: pools of 65536 leave no room for router addresses; use a pool size of 32768 or less"},
		{subnet: "10.77.1.0/28", poolSize: 16, err: "a /28 has 16 addresses, too few for DHCP pools"},
		{subnet: "10.77.1.0/29", members: 7, err: "a /29 holds at most 6 members: use a larger subnet like /28"},
		{subnet: "10.77.1.0/24", members: 16, err: "a /24 holds at most 15 members (with the smallest pools, of 16 addresses): use a larger subnet like /23"},
		{subnet: "10.77.1.0/31", err: "prefix length /31 is outside /8../30", kind: ErrInvalidSubnet},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s_p%d_m%d", tt.subnet, tt.poolSize, tt.members), func(t *testing.T) {
			l, err := PlanLayout(netip.MustParsePrefix(tt.subnet), tt.poolSize, tt.members)
			if tt.err != "" {
				kind := tt.kind
				if kind == nil {
					kind = ErrInvalidOption
				}
				wantErr(t, err, kind, tt.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.PoolSize != tt.size || l.Routers.String() != tt.routers || l.MaxMembers != tt.max || l.Legacy {
				t.Fatalf("plan %+v, want pools of %d, routers %s, %d members", l, tt.size, tt.routers, tt.max)
			}
			// The router range holds every member's address.
			if hosts := 1<<(32-l.Routers.Bits()) - 1; l.Routers == l.Subnet {
				if l.MaxMembers != hostCount(l.Subnet) {
					t.Errorf("no-pool plan holds %d, subnet has %d hosts", l.MaxMembers, hostCount(l.Subnet))
				}
			} else if hosts < l.MaxMembers {
				t.Errorf("router range %s has %d addresses for %d members", l.Routers, hosts, l.MaxMembers)
			}
		})
	}
}

// TestThousandMembers fills a /16 with pools of 64 (1008 members):
// every address distinct and in the router range, every pool of 64
// addresses, none overlapping another or holding a router address; the
// next member is refused, naming the fix. The first 1006 members are
// allocated in memory by the functions Issue uses (issuing each through
// the files, which Issue reads and writes whole, takes 7 s), the last ones
// by Issue on the written file.
func TestThousandMembers(t *testing.T) {
	owner, err := Create(filepath.Join(t.TempDir(), "s"), CreateOptions{Name: "big", NodeName: "r0", Subnet: netip.MustParsePrefix("10.77.0.0/16"), Members: 1000, Now: testNow, LocalPrefixes: testLocal})
	if err != nil {
		t.Fatal(err)
	}
	if owner.Layout.PoolSize != 64 || owner.Layout.MaxMembers != 1008 {
		t.Fatalf("plan %v", owner.Layout)
	}
	allocs, err := owner.Allocations()
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 1006; i++ {
		addr, err := owner.Layout.nextAddress(allocs)
		if err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
		pool, err := owner.Layout.nextPool(allocs, addr)
		if err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
		allocs = append(allocs, Allocation{Name: fmt.Sprintf("r%d", i), Address: addr, Pool: pool, NodeID: fmt.Sprintf("%016x", i), Serial: "1f", IssuedAt: testNow})
	}
	if err := os.WriteFile(filepath.Join(owner.Dir, FileAllocations), encodeAllocations(allocs), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := Load(owner.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"r1006", "r1007"} {
		if _, err := l.Issue(name, netip.Addr{}, testNow); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	allocs, err = l.Allocations()
	if err != nil {
		t.Fatal(err)
	}
	if len(allocs) != 1008 {
		t.Fatalf("%d allocations", len(allocs))
	}
	routers := netip.MustParsePrefix("10.77.0.0/22")
	addrs := map[netip.Addr]bool{}
	var pools []netip.Prefix
	for _, a := range allocs {
		if addrs[a.Address] || !routers.Contains(a.Address) {
			t.Fatalf("address %s of %s twice or outside %s", a.Address, a.Name, routers)
		}
		addrs[a.Address] = true
		if a.Pool.Bits() != 26 || a.Pool.Overlaps(routers) {
			t.Fatalf("pool %s of %s", a.Pool, a.Name)
		}
		pools = append(pools, a.Pool)
	}
	slices.SortFunc(pools, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	for i := 1; i < len(pools); i++ {
		if pools[i-1].Overlaps(pools[i]) || pools[i-1] == pools[i] {
			t.Fatalf("pools %s and %s overlap", pools[i-1], pools[i])
		}
	}
	for _, p := range pools {
		for a := range addrs {
			if p.Contains(a) {
				t.Fatalf("pool %s holds router address %s", p, a)
			}
		}
	}
	if last := pools[len(pools)-1]; last != netip.MustParsePrefix("10.77.255.192/26") {
		t.Errorf("last pool %s", last)
	}
	before := takeSnapshot(t, owner.Dir)
	_, err = l.Issue("one-too-many", netip.Addr{}, testNow)
	wantErr(t, err, ErrSubnetFull, "every DHCP pool slice (/26) of 10.77.0.0/16 is allocated: the group holds at most 1008 members with DHCP pools of 64 addresses; a larger group is a new group: 'ipopd group create --members N'")
	assertUnchanged(t, before, owner.Dir)
}

func TestLayoutExplicitAddress(t *testing.T) {
	owner, err := Create(filepath.Join(t.TempDir(), "s"), CreateOptions{Name: "lab", NodeName: "r0", Subnet: netip.MustParsePrefix("10.77.0.0/16"), PoolSize: 64, Now: testNow, LocalPrefixes: testLocal})
	if err != nil {
		t.Fatal(err)
	}
	before := takeSnapshot(t, owner.Dir)
	_, err = owner.Issue("far", netip.MustParseAddr("10.77.9.9"), testNow)
	wantErr(t, err, ErrInvalidAddress, "address 10.77.9.9 is outside the router range 10.77.0.0/22 of 10.77.0.0/16")
	assertUnchanged(t, before, owner.Dir)
	// The owner's pool is the first after the router range.
	_, err = owner.Issue("far", netip.MustParseAddr("10.77.4.9"), testNow)
	wantErr(t, err, ErrAddressTaken, "lies in the DHCP pool 10.77.4.0/26")

	b, err := owner.Issue("near", netip.MustParseAddr("10.77.3.255"), testNow)
	if err != nil {
		t.Fatal(err)
	}
	bd, err := ParseBundle(b)
	if err != nil || bd.Pool != netip.MustParsePrefix("10.77.4.64/26") {
		t.Fatalf("near: %v %v", bd, err)
	}
}

// TestJoinUsesPlan: members admitted by invite get pools of the group's
// size too.
func TestJoinUsesPlan(t *testing.T) {
	owner, err := Create(filepath.Join(t.TempDir(), "s"), CreateOptions{Name: "lab", NodeName: "r1", Subnet: netip.MustParsePrefix("10.77.0.0/16"), PoolSize: 32, Now: testNow, LocalPrefixes: testLocal})
	if err != nil {
		t.Fatal(err)
	}
	tok := newInvite(t, owner, InviteOptions{})
	r, _ := joinRequest(t, tok, "r2", testBinding)
	res, err := owner.AcceptJoin(r, testBinding, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if res.Address != netip.MustParseAddr("10.77.0.2") || res.Pool != netip.MustParsePrefix("10.77.8.32/27") {
		t.Errorf("joined at %s pool %s", res.Address, res.Pool)
	}
}

// TestGroupFilePoolSize: group.json of a new owner has pool_size, a
// member's has none, an old one without it loads with the legacy plan, and
// a damaged one is refused.
func TestGroupFilePoolSize(t *testing.T) {
	owner, err := Create(filepath.Join(t.TempDir(), "s"), CreateOptions{Name: "home", NodeName: "owner", PoolSize: 64, Now: testNow, LocalPrefixes: testLocal})
	if err != nil {
		t.Fatal(err)
	}
	if data := readState(t, owner.Dir, FileGroup); !strings.Contains(string(data), `"pool_size": 64`) {
		t.Errorf("owner's group.json:\n%s", data)
	}
	member := newMember(t, owner, "bob")
	if data := readState(t, member.Dir, FileGroup); strings.Contains(string(data), "pool") {
		t.Errorf("member's group.json:\n%s", data)
	}
	if m, err := Load(member.Dir); err != nil || m.Layout != (Layout{}) || m.Pool != netip.MustParsePrefix("10.77.4.64/26") {
		t.Errorf("member: %v layout %+v, %v", m, m.Layout, err)
	}
	l, err := Load(owner.Dir)
	if err != nil || l.Layout != owner.Layout {
		t.Fatalf("Load: %+v, %v; created %+v", l.Layout, err, owner.Layout)
	}

	file := func(extra string) []byte {
		return []byte(`{"name":"home","subnet":"10.77.0.0/16","node_name":"owner","owner":true` + extra + `}`)
	}
	tests := []struct {
		name  string
		base  *State
		file  []byte
		alloc string // allocations.json instead of the owner's, if set
		frag  string
	}{
		{"not a power of two", owner, file(`,"pool_size":48`), "", "group.json: pool_size: pool size 48 is not a power of two"},
		{"too large", owner, file(`,"pool_size":65536`), "", "pool_size: a /16 has 65536 addresses"},
		{"negative", owner, file(`,"pool_size":-64`), "", "pool_size: pool size -64"},
		{"not a number", owner, file(`,"pool_size":"64"`), "", "group.json: not valid JSON"},
		{"other size than the pools", owner, file(`,"pool_size":32`), "", "pool 10.77.4.0/26 is not of the group's pool size 32"},
		{"on a member", member, []byte(`{"name":"home","subnet":"10.77.0.0/16","node_name":"bob","owner":false,"pool_size":64}`), "", "has pool_size, which only the owner keeps"},
		{"address outside router range", owner, nil, `{"nodes":[{"name":"owner","address":"10.77.0.1","pool":"10.77.4.0/26","node_id":"` + owner.NodeID + `","serial":"1f","issued_at":"2025-06-01T12:00:00Z"},
			{"name":"x","address":"10.77.9.1","pool":"10.77.5.0/26","node_id":"0123456789abcdef","serial":"2f","issued_at":"2025-06-01T12:00:00Z"}]}`, "entry 2 (x): address 10.77.9.1 is outside the router range 10.77.0.0/22"},
		{"pool in router range", owner, nil, `{"nodes":[{"name":"owner","address":"10.77.0.1","pool":"10.77.1.0/26","node_id":"` + owner.NodeID + `","serial":"1f","issued_at":"2025-06-01T12:00:00Z"}]}`, "pool 10.77.1.0/26 overlaps the router range 10.77.0.0/22"},
		{"no pool", owner, nil, `{"nodes":[{"name":"owner","address":"10.77.0.1","node_id":"` + owner.NodeID + `","serial":"1f","issued_at":"2025-06-01T12:00:00Z"}]}`, "no pool, but every member of the group has one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyDir(t, tt.base.Dir)
			if tt.file != nil {
				if err := os.WriteFile(filepath.Join(dir, FileGroup), tt.file, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.alloc != "" {
				if err := os.WriteFile(filepath.Join(dir, FileAllocations), []byte(tt.alloc), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Load(dir)
			wantErr(t, err, ErrCorrupt, tt.frag)
		})
	}

	// An old owner (no pool_size) allocates by the legacy rule: an
	// explicit address anywhere outside the pools, pools of 256.
	old, err := Create(filepath.Join(t.TempDir(), "old"), CreateOptions{Name: "home", NodeName: "owner", Now: testNow, LocalPrefixes: testLocal})
	if err != nil {
		t.Fatal(err)
	}
	old = makeLegacy(t, old)
	if old.Layout.PoolSize != 256 || old.Layout.MaxMembers != 255 || old.Layout.Routers != netip.MustParsePrefix("10.77.0.0/24") {
		t.Errorf("legacy plan %+v", old.Layout)
	}
	b, err := old.Issue("far", netip.MustParseAddr("10.77.9.9"), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if bd, err := ParseBundle(b); err != nil || bd.Pool != netip.MustParsePrefix("10.77.2.0/24") {
		t.Errorf("legacy far: %v %v", bd, err)
	}
	if data := readState(t, old.Dir, FileGroup); strings.Contains(string(data), "pool") {
		t.Errorf("issuing added pool_size to an old group.json:\n%s", data)
	}
}

// TestLegacySubnetFull: an old group still stops at 255 members, and the
// error says how to make a larger one.
func TestLegacySubnetFull(t *testing.T) {
	owner, err := Create(filepath.Join(t.TempDir(), "s"), CreateOptions{Name: "lab", NodeName: "r0", Subnet: netip.MustParsePrefix("10.5.5.0/24"), Now: testNow, LocalPrefixes: testLocal})
	if err != nil {
		t.Fatal(err)
	}
	owner = makeLegacy(t, owner)
	for i := 1; i < 15; i++ {
		if _, err := owner.Issue(fmt.Sprintf("r%d", i), netip.Addr{}, testNow); err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
	}
	_, err = owner.Issue("r15", netip.Addr{}, testNow)
	wantErr(t, err, ErrSubnetFull, "every host address of 10.5.5.0/24 is allocated: the group holds at most 15 members with DHCP pools of 16 addresses, as groups created before the pool size could be chosen; a larger group is a new group: 'ipopd group create --members N'")
}

// TestIssueFillsPlan issues every member a /22 with pools of 16 holds
// through Issue: 60 (a router range of 4 slices, 10.77.0.0/26).
func TestIssueFillsPlan(t *testing.T) {
	owner, err := Create(filepath.Join(t.TempDir(), "s"), CreateOptions{Name: "lab", NodeName: "r0", Subnet: netip.MustParsePrefix("10.77.0.0/22"), PoolSize: 16, Now: testNow, LocalPrefixes: testLocal})
	if err != nil {
		t.Fatal(err)
	}
	if owner.Layout.MaxMembers != 60 || owner.Layout.Routers != netip.MustParsePrefix("10.77.0.0/26") {
		t.Fatalf("plan %v", owner.Layout)
	}
	addrs := map[netip.Addr]bool{owner.Address: true}
	pools := map[netip.Prefix]bool{owner.Pool: true}
	for i := 1; i < 60; i++ {
		b, err := owner.Issue(fmt.Sprintf("r%d", i), netip.Addr{}, testNow)
		if err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
		bd, err := ParseBundle(b)
		if err != nil {
			t.Fatal(err)
		}
		if addrs[bd.Address] || pools[bd.Pool] || !owner.Layout.Routers.Contains(bd.Address) || bd.Pool.Bits() != 28 || bd.Pool.Overlaps(owner.Layout.Routers) {
			t.Fatalf("member %d: address %s pool %s", i, bd.Address, bd.Pool)
		}
		addrs[bd.Address], pools[bd.Pool] = true, true
	}
	before := takeSnapshot(t, owner.Dir)
	_, err = owner.Issue("r60", netip.Addr{}, testNow)
	wantErr(t, err, ErrSubnetFull, "every DHCP pool slice (/28) of 10.77.0.0/22 is allocated: the group holds at most 60 members with DHCP pools of 16 addresses")
	// The router range has 3 addresses left, but no pool: an explicit
	// address does not help.
	_, err = owner.Issue("r60", netip.MustParseAddr("10.77.0.63"), testNow)
	wantErr(t, err, ErrSubnetFull, "every DHCP pool slice")
	assertUnchanged(t, before, owner.Dir)
}
