package group

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCreateLoadRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "state")
	s, err := Create(dir, CreateOptions{Name: "home", NodeName: "attic", Now: testNow, LocalPrefixes: testLocal})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "home" || s.NodeName != "attic" || s.Subnet != DefaultSubnet || s.Address != netip.MustParseAddr("10.77.0.1") || !s.Owner() {
		t.Errorf("Create returned %v", s)
	}
	if got := s.CACert.Subject.CommonName; got != "ipop CA home" {
		t.Errorf("CA CN = %q", got)
	}
	if !s.CACert.IsCA || s.CACert.MaxPathLen != 0 || !s.CACert.MaxPathLenZero {
		t.Errorf("CA constraints: IsCA %t MaxPathLen %d", s.CACert.IsCA, s.CACert.MaxPathLen)
	}
	if got := s.CACert.NotAfter.Sub(testNow).Hours() / 24 / 365; got < 9.9 || got > 10.1 {
		t.Errorf("CA validity %.2f years", got)
	}
	if !s.NodeCert.NotBefore.Equal(testNow.Add(-clockSkew)) || !s.NodeCert.NotAfter.Equal(testNow.AddDate(1, 0, 0)) {
		t.Errorf("node validity %s .. %s", s.NodeCert.NotBefore, s.NodeCert.NotAfter)
	}
	if n := s.NodeCert.SerialNumber.BitLen(); n < 100 || n > 128 {
		t.Errorf("serial has %d bits", n)
	}
	if len(s.NodeID) != NodeIDLen || s.NodeCert.URIs[0].String() != "ipop:node/"+s.NodeID {
		t.Errorf("node id %q, URI %v", s.NodeID, s.NodeCert.URIs)
	}

	checkMode(t, dir, 0o700)
	for name, mode := range map[string]os.FileMode{
		FileCACert: 0o644, FileCAKey: 0o600, FileNodeCert: 0o644, FileNodeKey: 0o600, FileGroup: 0o644, FileAllocations: 0o644,
	} {
		checkMode(t, filepath.Join(dir, name), mode)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 6 {
		t.Errorf("state directory holds %d entries, want 6 (no temporary files left)", len(entries))
	}

	l, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if l.Name != s.Name || l.Subnet != s.Subnet || l.NodeName != s.NodeName || l.NodeID != s.NodeID || l.Address != s.Address ||
		!l.CACert.Equal(s.CACert) || !l.NodeCert.Equal(s.NodeCert) || !l.NodeKey.Equal(s.NodeKey) || !l.CAKey.Equal(s.CAKey) {
		t.Errorf("Load = %v, Create = %v", l, s)
	}
	allocs, err := l.Allocations()
	if err != nil {
		t.Fatal(err)
	}
	if len(allocs) != 1 || allocs[0].Name != "attic" || allocs[0].Address != s.Address || allocs[0].NodeID != s.NodeID {
		t.Errorf("allocations %+v", allocs)
	}
}

func TestCreateSubnets(t *testing.T) {
	tests := []struct {
		subnet, want, owner string
	}{
		{"10.77.1.9/24", "10.77.1.0/24", "10.77.1.1"},
		{"172.20.0.0/14", "172.20.0.0/14", "172.20.0.1"},
		{"10.0.0.0/8", "10.0.0.0/8", "10.0.0.1"},
		{"10.9.9.4/30", "10.9.9.4/30", "10.9.9.5"},
	}
	for _, tt := range tests {
		t.Run(tt.subnet, func(t *testing.T) {
			s, err := Create(t.TempDir(), CreateOptions{Name: "g", NodeName: "n", Subnet: netip.MustParsePrefix(tt.subnet), Now: testNow, LocalPrefixes: testLocal})
			if err != nil {
				t.Fatal(err)
			}
			if s.Subnet.String() != tt.want || s.Address.String() != tt.owner {
				t.Errorf("subnet %s address %s, want %s %s", s.Subnet, s.Address, tt.want, tt.owner)
			}
		})
	}
}

func TestCreateDefaultNodeName(t *testing.T) {
	s, err := Create(t.TempDir(), CreateOptions{Name: "g", Now: testNow, LocalPrefixes: testLocal})
	if h, _ := defaultNodeName(); h == "" {
		wantErr(t, err, ErrInvalidName, "host name")
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidateName(s.NodeName); err != nil {
		t.Errorf("default node name: %v", err)
	}
}

func TestCreateRefusals(t *testing.T) {
	existing := newOwner(t, "home").Dir
	lanOverlap := func() ([]netip.Prefix, error) {
		return []netip.Prefix{netip.MustParsePrefix("10.77.3.4/24")}, nil
	}
	tests := []struct {
		name string
		dir  string // "" = fresh directory
		o    CreateOptions
		kind error
		frag string
	}{
		{"existing group", existing, CreateOptions{Name: "other", NodeName: "n"}, ErrExists, `already holds group "home"`},
		{"overlapping subnet", "", CreateOptions{Name: "g", NodeName: "n", LocalPrefixes: lanOverlap}, ErrSubnetOverlap, "overlaps local interface address 10.77.3.4/24"},
		{"overlap wider local", "", CreateOptions{Name: "g", NodeName: "n", Subnet: netip.MustParsePrefix("192.168.1.0/28")}, ErrSubnetOverlap, "192.168.1.1/24"},
		{"local prefixes error", "", CreateOptions{Name: "g", NodeName: "n", LocalPrefixes: func() ([]netip.Prefix, error) { return nil, errors.New("boom") }}, nil, "boom"},
		{"empty group name", "", CreateOptions{NodeName: "n"}, ErrInvalidName, "empty"},
		{"bad group name", "", CreateOptions{Name: "my group", NodeName: "n"}, ErrInvalidName, `contains ' '`},
		{"group name starts with dot", "", CreateOptions{Name: ".g", NodeName: "n"}, ErrInvalidName, "must start"},
		{"long group name", "", CreateOptions{Name: strings.Repeat("a", 64), NodeName: "n"}, ErrInvalidName, "64 characters"},
		{"bad node name", "", CreateOptions{Name: "g", NodeName: "n/1"}, ErrInvalidName, `contains '/'`},
		{"ipv6 subnet", "", CreateOptions{Name: "g", NodeName: "n", Subnet: netip.MustParsePrefix("fd00::/64")}, ErrInvalidSubnet, "not IPv4"},
		{"subnet /31", "", CreateOptions{Name: "g", NodeName: "n", Subnet: netip.MustParsePrefix("10.1.1.0/31")}, ErrInvalidSubnet, "/31"},
		{"subnet /7", "", CreateOptions{Name: "g", NodeName: "n", Subnet: netip.MustParsePrefix("10.0.0.0/7")}, ErrInvalidSubnet, "/7"},
		{"multicast subnet", "", CreateOptions{Name: "g", NodeName: "n", Subnet: netip.MustParsePrefix("239.1.0.0/16")}, ErrInvalidSubnet, "multicast"},
		{"zero time", "", CreateOptions{Name: "g", NodeName: "n"}, ErrInvalidOption, "time is zero"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir
			if dir == "" {
				dir = filepath.Join(t.TempDir(), "state")
			}
			if tt.o.LocalPrefixes == nil {
				tt.o.LocalPrefixes = testLocal
			}
			if tt.name != "zero time" {
				tt.o.Now = testNow
			}
			before := takeSnapshot(t, dir)
			s, err := Create(dir, tt.o)
			wantErr(t, err, tt.kind, tt.frag)
			if s != nil {
				t.Errorf("Create returned a state with an error")
			}
			assertUnchanged(t, before, dir)
		})
	}
	if _, err := Create("", CreateOptions{Name: "g", Now: testNow}); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("Create with no directory: %v", err)
	}
}

func TestCreateRefusesPartialState(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileNodeKey), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := takeSnapshot(t, dir)
	_, err := Create(dir, CreateOptions{Name: "g", NodeName: "n", Now: testNow, LocalPrefixes: testLocal})
	wantErr(t, err, ErrExists, "node.key")
	assertUnchanged(t, before, dir)
}

func TestCreateTightensExistingDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(dir, CreateOptions{Name: "g", NodeName: "n", Now: testNow, LocalPrefixes: testLocal}); err != nil {
		t.Fatal(err)
	}
	checkMode(t, dir, 0o700)
}

func TestLoadErrors(t *testing.T) {
	owner := newOwner(t, "home")
	member := newMember(t, owner, "bob")
	other := newOwner(t, "other")
	read := func(dir, name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	write := func(name string, data []byte) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	remove := func(name string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name   string
		base   *State
		damage func(t *testing.T, dir string)
		kind   error
		frag   string
	}{
		{"no group.json", owner, remove(FileGroup), ErrNoGroup, "no group in"},
		{"group.json garbage", owner, write(FileGroup, []byte("{oops")), ErrCorrupt, "group.json: not valid JSON"},
		{"group.json trailing", owner, write(FileGroup, append(read(owner.Dir, FileGroup), "{}"...)), ErrCorrupt, "group.json: unexpected data"},
		{"group.json bad subnet", owner, write(FileGroup, []byte(`{"name":"home","subnet":"10.77.0.1/16","node_name":"owner","owner":true}`)), ErrCorrupt, "host bits"},
		{"group.json other node", owner, write(FileGroup, []byte(`{"name":"home","subnet":"10.77.0.0/16","node_name":"bob","owner":true}`)), ErrCorrupt, `node.crt: certificate is for node "owner" but group.json names "bob"`},
		{"group.json other group", owner, write(FileGroup, []byte(`{"name":"away","subnet":"10.77.0.0/16","node_name":"owner","owner":true}`)), ErrCorrupt, "ca.crt: CA certificate is for group"},
		{"ca.crt missing", owner, remove(FileCACert), ErrCorrupt, "ca.crt"},
		{"ca.crt garbage", owner, write(FileCACert, []byte("hello")), ErrCorrupt, "ca.crt: line 1: unexpected text"},
		{"ca.crt truncated", owner, write(FileCACert, read(owner.Dir, FileCACert)[:200]), ErrCorrupt, "ca.crt: line 1: PEM block is truncated"},
		{"ca.crt of other group", owner, write(FileCACert, read(other.Dir, FileCACert)), ErrCorrupt, "ca.crt"},
		{"node.crt signed by other CA", owner, write(FileNodeCert, read(other.Dir, FileNodeCert)), ErrCorrupt, "node.crt: not signed by the group CA"},
		{"node.crt holds a key", owner, write(FileNodeCert, read(owner.Dir, FileNodeKey)), ErrCorrupt, `node.crt: PEM block is "EC PRIVATE KEY"`},
		{"node.key too open", owner, func(t *testing.T, dir string) { os.Chmod(filepath.Join(dir, FileNodeKey), 0o644) }, ErrPermissions, "node.key: permissions 0644 are too open"},
		{"node.key of other node", owner, write(FileNodeKey, read(member.Dir, FileNodeKey)), ErrCorrupt, "node.key: key does not match node.crt"},
		{"node.key garbage", owner, write(FileNodeKey, []byte("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n")), ErrCorrupt, "node.key: private key is not a valid EC key"},
		{"ca.key missing", owner, remove(FileCAKey), ErrCorrupt, "ca.key"},
		{"ca.key of other group", owner, write(FileCAKey, read(other.Dir, FileCAKey)), ErrCorrupt, "ca.key: key does not match ca.crt"},
		{"ca.key too open", owner, func(t *testing.T, dir string) { os.Chmod(filepath.Join(dir, FileCAKey), 0o640) }, ErrPermissions, "ca.key"},
		{"allocations missing", owner, remove(FileAllocations), ErrCorrupt, "allocations.json"},
		{"allocations garbage", owner, write(FileAllocations, []byte("[1,2]")), ErrCorrupt, "allocations.json: not valid JSON"},
		{"allocations without owner", owner, write(FileAllocations, []byte(`{"nodes":[]}`)), ErrCorrupt, `allocations.json: does not record this node "owner"`},
		{"allocations duplicate address", owner, write(FileAllocations, []byte(`{"nodes":[
			{"name":"owner","address":"10.77.0.1","pool":"10.77.1.0/24","node_id":"0123456789abcdef","serial":"1f","issued_at":"2025-06-01T12:00:00Z"},
			{"name":"bob","address":"10.77.0.1","pool":"10.77.2.0/24","node_id":"0123456789abcdef","serial":"2f","issued_at":"2025-06-01T12:00:00Z"}]}`)), ErrCorrupt, "address 10.77.0.1 appears twice"},
		{"allocations outside subnet", owner, write(FileAllocations, []byte(`{"nodes":[
			{"name":"owner","address":"10.78.0.1","node_id":"0123456789abcdef","serial":"1f","issued_at":"2025-06-01T12:00:00Z"}]}`)), ErrCorrupt, "outside the group subnet"},
		{"member with ca.key", member, write(FileCAKey, read(owner.Dir, FileCAKey)), ErrCorrupt, "ca.key exists but group.json says this node is not the group owner"},
		{"member node.crt missing", member, remove(FileNodeCert), ErrCorrupt, "node.crt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyDir(t, tt.base.Dir)
			if _, err := Load(dir); err != nil {
				t.Fatalf("undamaged copy does not load: %v", err)
			}
			tt.damage(t, dir)
			s, err := Load(dir)
			wantErr(t, err, tt.kind, tt.frag)
			if s != nil {
				t.Error("Load returned a state with an error")
			}
		})
	}
	t.Run("missing directory", func(t *testing.T) {
		_, err := Load(filepath.Join(t.TempDir(), "nope"))
		wantErr(t, err, ErrNoGroup, "does not exist")
	})
	t.Run("empty directory", func(t *testing.T) {
		_, err := Load(t.TempDir())
		wantErr(t, err, ErrNoGroup, "group.json not found")
	})
}

func TestStateStringHidesKeys(t *testing.T) {
	s := newOwner(t, "home")
	for _, text := range []string{s.String(), (*s).GoString(), sprintf("%v", s), sprintf("%+v", *s), sprintf("%#v", s)} {
		for _, secret := range []string{keyHex(t, s.CAKey), keyHex(t, s.NodeKey), keyDecimal(t, s.NodeKey)} {
			if strings.Contains(text, secret) {
				t.Errorf("formatted state leaks a private key: %s", text)
			}
		}
	}
}

// FuzzParseGroupFile feeds arbitrary bytes to parseGroupFile: it must
// never panic, must tag every error with ErrCorrupt, and what it accepts
// must encode and parse to the same file and plan, a plan whose router
// range holds an address for every member and lies inside the subnet.
func FuzzParseGroupFile(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		g, plan, err := parseGroupFile(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %q does not match ErrCorrupt", err)
			}
			return
		}
		g2, plan2, err := parseGroupFile(encodeGroupFile(g))
		if err != nil {
			t.Fatalf("re-parse of an encoded group.json: %v", err)
		}
		if g2.Name != g.Name || g2.Subnet != g.Subnet || g2.NodeName != g.NodeName || g2.Owner != g.Owner ||
			(g.PoolSize == nil) != (g2.PoolSize == nil) || plan != plan2 {
			t.Fatalf("round trip changed the file: %+v %v -> %+v %v", g, plan, g2, plan2)
		}
		if !plan.Subnet.Contains(plan.Routers.Addr()) || plan.Routers.Bits() < plan.Subnet.Bits() || plan.MaxMembers < 1 {
			t.Fatalf("plan %+v", plan)
		}
		if hosts := 1<<(32-plan.Routers.Bits()) - 1; !plan.Legacy && plan.PoolSize != 0 && hosts < plan.MaxMembers {
			t.Fatalf("plan %+v: %d router addresses", plan, hosts)
		}
	})
}
