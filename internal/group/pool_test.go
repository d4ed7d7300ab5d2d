package group

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPoolScheme: the default plan of a new group per subnet size (pools
// of the legacy slice size), and the slices of the legacy rule.
func TestPoolScheme(t *testing.T) {
	tests := []struct {
		subnet  string
		slices  int    // legacy slices
		owner   string // owner's pool
		routers string // router range
		max     int    // members
	}{
		{"10.77.0.0/16", 256, "10.77.1.0/24", "10.77.0.0/24", 255},
		{"10.0.0.0/8", 256, "10.1.0.0/16", "10.0.0.0/16", 255},
		// /28 pools: 15 addresses in slice 0 are too few for 255 pools.
		{"172.20.0.0/20", 256, "172.20.1.0/28", "172.20.0.0/24", 240},
		{"10.77.1.0/24", 16, "10.77.1.16/28", "10.77.1.0/28", 15},
		{"10.77.1.0/27", 2, "10.77.1.16/28", "10.77.1.0/28", 1},
		{"10.77.1.0/28", 0, "", "10.77.1.0/28", 14},
		{"10.9.9.4/30", 0, "", "10.9.9.4/30", 2},
	}
	for _, tt := range tests {
		t.Run(tt.subnet, func(t *testing.T) {
			subnet := netip.MustParsePrefix(tt.subnet)
			if got := PoolSlices(subnet); got != tt.slices {
				t.Errorf("PoolSlices = %d, want %d", got, tt.slices)
			}
			s, err := Create(t.TempDir(), CreateOptions{Name: "g", NodeName: "n", Subnet: subnet, Now: testNow, LocalPrefixes: testLocal})
			if err != nil {
				t.Fatal(err)
			}
			want := netip.Prefix{}
			if tt.owner != "" {
				want = netip.MustParsePrefix(tt.owner)
			}
			if s.Pool != want {
				t.Errorf("owner pool %s, want %s", s.Pool, want)
			}
			if s.Layout.Routers.String() != tt.routers || s.Layout.MaxMembers != tt.max {
				t.Errorf("plan %v, want routers %s, %d members", s.Layout, tt.routers, tt.max)
			}
			l, err := Load(s.Dir)
			if err != nil || l.Pool != want || l.Layout != s.Layout || l.Layout.Legacy {
				t.Fatalf("Load: pool %v, plan %+v, %v", l, l.Layout, err)
			}
			// The legacy rule gives the owner the same pool.
			if old := makeLegacy(t, l); old.Pool != want || old.Layout.MaxMembers < tt.max {
				t.Errorf("legacy: pool %s, plan %+v", old.Pool, old.Layout)
			}
		})
	}
}

// TestPoolsNeverOverlapAddresses: in a legacy group an address given
// anywhere keeps its slice from being a pool.
func TestPoolsNeverOverlapAddresses(t *testing.T) {
	owner := makeLegacy(t, newOwner(t, "home"))
	// An explicit address in slice 5 keeps slice 5 from being a pool.
	if _, err := owner.Issue("n1", netip.MustParseAddr("10.77.5.5"), testNow); err != nil {
		t.Fatal(err)
	}
	var pools []netip.Prefix
	for _, n := range []string{"n2", "n3", "n4", "n5"} {
		b, err := owner.Issue(n, netip.Addr{}, testNow)
		if err != nil {
			t.Fatal(err)
		}
		bd, err := ParseBundle(b)
		if err != nil {
			t.Fatal(err)
		}
		pools = append(pools, bd.Pool)
	}
	want := []string{"10.77.3.0/24", "10.77.4.0/24", "10.77.6.0/24", "10.77.7.0/24"}
	for i := range want {
		if pools[i].String() != want[i] {
			t.Errorf("pools %v, want %v", pools, want)
			break
		}
	}
	// An explicit address inside a pool is refused.
	before := takeSnapshot(t, owner.Dir)
	_, err := owner.Issue("n6", netip.MustParseAddr("10.77.3.9"), testNow)
	wantErr(t, err, ErrAddressTaken, "lies in the DHCP pool 10.77.3.0/24")
	assertUnchanged(t, before, owner.Dir)
}

func TestNextFreeSkipsPools(t *testing.T) {
	subnet := netip.MustParsePrefix("10.5.5.0/24") // /28 slices
	var allocs []Allocation
	// Fill slice 0 (.1 - .14), give pools 1 and 2 away.
	for i := 1; i <= 14; i++ {
		allocs = append(allocs, Allocation{Address: netip.AddrFrom4([4]byte{10, 5, 5, byte(i)})})
	}
	allocs[0].Pool = netip.MustParsePrefix("10.5.5.16/28")
	allocs[1].Pool = netip.MustParsePrefix("10.5.5.32/28")
	a, err := nextFree(subnet, allocs)
	if err != nil || a != netip.MustParseAddr("10.5.5.15") {
		t.Fatalf("nextFree = %s, %v", a, err)
	}
	allocs = append(allocs, Allocation{Address: a})
	a, err = nextFree(subnet, allocs)
	if err != nil || a != netip.MustParseAddr("10.5.5.48") {
		t.Fatalf("nextFree after slice 0 = %s, %v (want the first address after the pools)", a, err)
	}
	// Slice 3 now holds a router address: the next pool is slice 4.
	allocs = append(allocs, Allocation{Address: a})
	p, err := nextPool(subnet, allocs)
	if err != nil || p != netip.MustParsePrefix("10.5.5.64/28") {
		t.Fatalf("nextPool = %s, %v", p, err)
	}
}

func TestPoolExtension(t *testing.T) {
	owner := newOwner(t, "home")
	var found bool
	for _, e := range owner.NodeCert.Extensions {
		if e.Id.Equal(OIDPool) {
			found = true
			if e.Critical {
				t.Error("pool extension is critical")
			}
		}
	}
	if !found {
		t.Fatal("owner certificate lacks the pool extension")
	}
	ext := func(v []byte, critical bool) func(c *x509.Certificate) {
		return func(c *x509.Certificate) {
			c.ExtraExtensions = append(c.ExtraExtensions, pkix.Extension{Id: OIDPool, Critical: critical, Value: v})
		}
	}
	enc := func(a []byte, n int) []byte {
		b, err := asn1.Marshal(poolExtValue{Network: a, Length: n})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := enc([]byte{10, 77, 9, 0}, 24)
	tests := []struct {
		name string
		edit func(c *x509.Certificate)
		frag string
	}{
		{"garbage", ext([]byte{1, 2, 3}, false), "pool extension is malformed"},
		{"trailing", ext(append(append([]byte{}, good...), 0), false), "malformed"},
		{"ipv6", ext(enc(make([]byte, 16), 64), false), "not an IPv4 prefix"},
		{"outside subnet", ext(enc([]byte{10, 78, 1, 0}, 24), false), "not a slice of the group subnet"},
		{"whole subnet", ext(enc([]byte{10, 77, 0, 0}, 16), false), "not a slice"},
		{"host bits", ext(enc([]byte{10, 77, 9, 1}, 24), false), "host bits"},
		{"holds own address", ext(enc([]byte{10, 77, 0, 0}, 24), false), "holds the node's own address 10.77.0.99"},
		{"twice", func(c *x509.Certificate) { ext(good, false)(c); ext(good, false)(c) }, "duplicate extension"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := owner.VerifyPeer([][]byte{signRaw(t, owner, tt.edit)}, testNow)
			wantErr(t, err, ErrUntrustedPeer, tt.frag)
		})
	}
	id, err := owner.VerifyPeer([][]byte{signRaw(t, owner, ext(good, false))}, testNow)
	if err != nil || id.Pool != netip.MustParsePrefix("10.77.9.0/24") {
		t.Errorf("good pool: %+v %v", id, err)
	}
}

// TestOldAllocationsLoad: an allocations.json and certificates written
// before pools existed still load, and new members get pools around them.
func TestOldAllocationsLoad(t *testing.T) {
	owner := newOwner(t, "home")
	path := filepath.Join(owner.Dir, FileAllocations)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	allocs, err := parseAllocations(data, owner.Layout)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"pool": "10.77.1.0/24"`) {
		t.Errorf("allocations.json lacks the pool:\n%s", data)
	}
	// Strip the pool as an old ipopd would have written it, and re-sign
	// the owner's certificate without the extension.
	cert, err := newNodeCert(owner.CACert, owner.CAKey, "home", "owner", owner.Address, netip.Prefix{}, &owner.NodeKey.PublicKey, testNow)
	if err != nil {
		t.Fatal(err)
	}
	allocs[0].Pool = netip.Prefix{}
	allocs[0].Serial = serialHex(cert)
	old := strings.Replace(string(encodeAllocations(allocs)), `"pool"`, `"x"`, 1)
	if strings.Contains(old, "pool") {
		t.Fatalf("old-style file still mentions pool:\n%s", old)
	}
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(owner.Dir, FileNodeCert), certPEM(cert), 0o644); err != nil {
		t.Fatal(err)
	}
	l := makeLegacy(t, owner)
	if l.Pool.IsValid() {
		t.Errorf("old owner got pool %s", l.Pool)
	}
	b, err := l.Issue("bob", netip.Addr{}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	bd, err := ParseBundle(b)
	if err != nil || bd.Pool != netip.MustParsePrefix("10.77.1.0/24") {
		t.Errorf("first pooled member: %v %v", bd, err)
	}
}

func TestAllocationsPoolDamage(t *testing.T) {
	subnet := DefaultSubnet
	entry := func(name, addr, pool, id string) string {
		return `{"name":"` + name + `","address":"` + addr + `","pool":"` + pool + `","node_id":"` + id + `","serial":"1f","issued_at":"2025-06-01T12:00:00Z"}`
	}
	tests := []struct {
		name, file, frag string
	}{
		{"overlap", `{"nodes":[` + entry("a", "10.77.0.1", "10.77.1.0/24", "0123456789abcdef") + `,` + entry("b", "10.77.0.2", "10.77.1.0/25", "1123456789abcdef") + `]}`, "overlap"},
		{"address in pool", `{"nodes":[` + entry("a", "10.77.0.1", "10.77.1.0/24", "0123456789abcdef") + `,` + entry("b", "10.77.1.2", "10.77.2.0/24", "1123456789abcdef") + `]}`, "lies in the pool"},
		{"pool outside", `{"nodes":[` + entry("a", "10.77.0.1", "10.78.1.0/24", "0123456789abcdef") + `]}`, "not a slice"},
		{"bad pool", `{"nodes":[` + entry("a", "10.77.0.1", "nonsense", "0123456789abcdef") + `]}`, "not valid JSON"},
		{"duplicate id", `{"nodes":[` + entry("a", "10.77.0.1", "10.77.1.0/24", "0123456789abcdef") + `,` + entry("b", "10.77.0.2", "10.77.2.0/24", "0123456789abcdef") + `]}`, "node id 0123456789abcdef appears twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseAllocations([]byte(tt.file), legacyLayout(subnet))
			wantErr(t, err, ErrCorrupt, tt.frag)
		})
	}
}
