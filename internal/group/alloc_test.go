package group

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestIssueInstallRoundTrip(t *testing.T) {
	owner := newOwner(t, "home")
	b, err := owner.Issue("bob", netip.Addr{}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	bd, err := ParseBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	if bd.Group != "home" || bd.NodeName != "bob" || bd.Address != netip.MustParseAddr("10.77.0.2") || bd.Subnet != DefaultSubnet {
		t.Errorf("bundle %v", bd)
	}
	c := bd.NodeCert
	if c.IsCA || c.Subject.Organization[0] != "home" || len(c.ExtKeyUsage) != 2 || c.KeyUsage != 1 /* DigitalSignature */ {
		t.Errorf("node certificate: IsCA %t O %v EKU %v KU %v", c.IsCA, c.Subject.Organization, c.ExtKeyUsage, c.KeyUsage)
	}

	dir := filepath.Join(t.TempDir(), "new", "state")
	m, err := Install(dir, b, InstallOptions{Now: testNow, LocalPrefixes: testLocal})
	if err != nil {
		t.Fatal(err)
	}
	if m.Owner() || m.NodeName != "bob" || m.Name != "home" || m.NodeID != bd.NodeID || m.Address != bd.Address {
		t.Errorf("Install returned %v", m)
	}
	checkMode(t, dir, 0o700)
	for name, mode := range map[string]os.FileMode{FileCACert: 0o644, FileNodeCert: 0o644, FileNodeKey: 0o600, FileGroup: 0o644} {
		checkMode(t, filepath.Join(dir, name), mode)
	}
	for _, name := range []string{FileCAKey, FileAllocations} {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("member directory has %s (%v)", name, err)
		}
	}
	l, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if l.Owner() || l.NodeID != m.NodeID || !l.NodeKey.Equal(m.NodeKey) || !l.CACert.Equal(owner.CACert) {
		t.Errorf("Load = %v", l)
	}
	if _, err := l.Allocations(); !errors.Is(err, ErrNotOwner) {
		t.Errorf("member Allocations: %v", err)
	}

	// Owner and member accept each other.
	id, err := owner.VerifyPeer(l.TLSCertificate().Certificate, testNow)
	if err != nil || id.Name != "bob" || id.NodeID != m.NodeID || id.Group != "home" || id.Address != m.Address {
		t.Errorf("owner verifies member: %+v, %v", id, err)
	}
	id, err = l.VerifyPeer(owner.TLSCertificate().Certificate, testNow)
	if err != nil || id.Name != "owner" || id.NodeID != owner.NodeID {
		t.Errorf("member verifies owner: %+v, %v", id, err)
	}
}

func TestAllocationNeverRepeats(t *testing.T) {
	owner := newOwner(t, "home")
	seen := map[netip.Addr]string{owner.Address: "owner"}
	issue := func(s *State, name string, addr netip.Addr) netip.Addr {
		t.Helper()
		b, err := s.Issue(name, addr, testNow)
		if err != nil {
			t.Fatalf("Issue(%q): %v", name, err)
		}
		bd, err := ParseBundle(b)
		if err != nil {
			t.Fatal(err)
		}
		if prev, ok := seen[bd.Address]; ok {
			t.Fatalf("address %s handed out to %q and %q", bd.Address, prev, name)
		}
		seen[bd.Address] = name
		return bd.Address
	}
	if a := issue(owner, "n1", netip.Addr{}); a != netip.MustParseAddr("10.77.0.2") {
		t.Errorf("first member got %s", a)
	}
	issue(owner, "n2", netip.MustParseAddr("10.77.0.3"))
	issue(owner, "n3", netip.MustParseAddr("10.77.0.200"))
	if a := issue(owner, "n4", netip.Addr{}); a != netip.MustParseAddr("10.77.0.4") {
		t.Errorf("n4 got %s, want the lowest free address 10.77.0.4", a)
	}
	// A new process: the allocations come from the file.
	again, err := Load(owner.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if a := issue(again, "n5", netip.Addr{}); a != netip.MustParseAddr("10.77.0.5") {
		t.Errorf("after Load n5 got %s", a)
	}
	// The stale in-memory state still sees what the other one issued.
	if _, err := owner.Issue("n5", netip.Addr{}, testNow); !errors.Is(err, ErrNameTaken) {
		t.Errorf("stale state reissued n5: %v", err)
	}
	if a := issue(owner, "n6", netip.Addr{}); a != netip.MustParseAddr("10.77.0.6") {
		t.Errorf("stale state n6 got %s", a)
	}
	allocs, err := again.Allocations()
	if err != nil {
		t.Fatal(err)
	}
	if len(allocs) != len(seen) {
		t.Errorf("%d allocations recorded, %d issued", len(allocs), len(seen))
	}
	for i, a := range allocs {
		if seen[a.Address] != a.Name {
			t.Errorf("allocation %+v, issued to %q", a, seen[a.Address])
		}
		if i > 0 && !allocs[i-1].Address.Less(a.Address) {
			t.Errorf("allocations not sorted by address")
		}
		if a.IssuedAt.IsZero() || a.Serial == "" || !validNodeID(a.NodeID) {
			t.Errorf("incomplete allocation %+v", a)
		}
	}
}

func TestIssueConcurrent(t *testing.T) {
	owner := newOwner(t, "home")
	const n = 8
	addrs := make([]netip.Addr, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Separate States, as separate processes would have.
			s, err := Load(owner.Dir)
			if err == nil {
				var b []byte
				if b, err = s.Issue("node"+string(rune('a'+i)), netip.Addr{}, testNow); err == nil {
					var bd *Bundle
					if bd, err = ParseBundle(b); err == nil {
						addrs[i] = bd.Address
					}
				}
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	seen := map[netip.Addr]bool{owner.Address: true}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("issue %d: %v", i, errs[i])
		}
		if seen[addrs[i]] {
			t.Errorf("address %s handed out twice", addrs[i])
		}
		seen[addrs[i]] = true
	}
	allocs, err := owner.Allocations()
	if err != nil || len(allocs) != n+1 {
		t.Errorf("%d allocations, %v", len(allocs), err)
	}
}

func TestIssueRefusals(t *testing.T) {
	owner := newOwner(t, "home")
	if _, err := owner.Issue("bob", netip.MustParseAddr("10.77.0.9"), testNow); err != nil {
		t.Fatal(err)
	}
	member := newMember(t, owner, "carol")
	small, err := Create(t.TempDir(), CreateOptions{Name: "tiny", NodeName: "owner", Subnet: netip.MustParsePrefix("10.9.9.0/30"), Now: testNow, LocalPrefixes: testLocal})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := small.Issue("second", netip.Addr{}, testNow); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		s    *State
		node string
		addr string
		now  time.Time
		kind error
		frag string
	}{
		{"taken name", owner, "bob", "", testNow, ErrNameTaken, `node name "bob" was already issued`},
		{"taken name other case", owner, "BOB", "", testNow, ErrNameTaken, `(as "bob", address 10.77.0.9)`},
		{"owner's name", owner, "owner", "", testNow, ErrNameTaken, "owner"},
		{"taken address", owner, "dave", "10.77.0.9", testNow, ErrAddressTaken, `address 10.77.0.9 is already allocated to "bob"`},
		{"owner's address", owner, "dave", "10.77.0.1", testNow, ErrAddressTaken, `allocated to "owner"`},
		{"address outside subnet", owner, "dave", "10.78.0.1", testNow, ErrInvalidAddress, "outside the group subnet 10.77.0.0/16"},
		{"network address", owner, "dave", "10.77.0.0", testNow, ErrInvalidAddress, "network address"},
		{"broadcast address", owner, "dave", "10.77.255.255", testNow, ErrInvalidAddress, "broadcast address"},
		{"ipv6 address", owner, "dave", "fd00::1", testNow, ErrInvalidAddress, "not IPv4"},
		{"bad name", owner, "dave smith", "", testNow, ErrInvalidName, "contains ' '"},
		{"empty name", owner, "", "", testNow, ErrInvalidName, "empty"},
		{"not owner", member, "dave", "", testNow, ErrNotOwner, `not the owner of group "home"`},
		{"zero time", owner, "dave", "", time.Time{}, ErrInvalidOption, "time is zero"},
		{"CA expired", owner, "dave", "", testNow.AddDate(11, 0, 0), ErrExpired, `group "home" CA expired at 2035-06-01T12:00:00Z`},
		{"subnet full", small, "third", "", testNow, ErrSubnetFull, "every host address of 10.9.9.0/30 is allocated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var addr netip.Addr
			if tt.addr != "" {
				addr = netip.MustParseAddr(tt.addr)
			}
			before := takeSnapshot(t, tt.s.Dir)
			b, err := tt.s.Issue(tt.node, addr, tt.now)
			wantErr(t, err, tt.kind, tt.frag)
			if b != nil {
				t.Error("Issue returned a bundle with an error")
			}
			assertUnchanged(t, before, tt.s.Dir)
		})
	}
}

func TestIssueAfterRecreate(t *testing.T) {
	owner := newOwner(t, "home")
	for _, n := range []string{FileGroup, FileCACert, FileCAKey, FileNodeCert, FileNodeKey, FileAllocations} {
		if err := os.Remove(filepath.Join(owner.Dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Create(owner.Dir, CreateOptions{Name: "home", NodeName: "owner", Now: testNow, LocalPrefixes: testLocal}); err != nil {
		t.Fatal(err)
	}
	before := takeSnapshot(t, owner.Dir)
	_, err := owner.Issue("bob", netip.Addr{}, testNow)
	wantErr(t, err, ErrCorrupt, "changed since the state was loaded")
	assertUnchanged(t, before, owner.Dir)
}
