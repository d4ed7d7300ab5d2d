package group

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestInstallReplace(t *testing.T) {
	home := newOwner(t, "home")
	away := newOwner(t, "away")
	issue := func(s *State, node string) []byte {
		t.Helper()
		b, err := s.Issue(node, netip.Addr{}, testNow)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	bob := issue(home, "bob")
	bobAgain := issue(away, "bob")
	carol := issue(home, "carol")

	tests := []struct {
		name   string
		bundle []byte
		force  bool
		kind   error  // nil: success
		frag   string // error fragment
	}{
		{"same bundle again", bob, false, nil, ""},
		{"other group", bobAgain, false, ErrExists, `already holds node "bob" of group "home"`},
		{"other node", carol, false, ErrExists, `the bundle is for node "carol" of group "home"`},
		{"other group forced", bobAgain, true, nil, ""},
		{"other node forced", carol, true, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			if _, err := Install(dir, bob, InstallOptions{Now: testNow, LocalPrefixes: testLocal}); err != nil {
				t.Fatal(err)
			}
			before := takeSnapshot(t, dir)
			s, err := Install(dir, tt.bundle, InstallOptions{Now: testNow, Force: tt.force, LocalPrefixes: testLocal})
			if tt.kind != nil {
				wantErr(t, err, tt.kind, tt.frag)
				assertUnchanged(t, before, dir)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want, _ := ParseBundle(tt.bundle)
			l, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if l.NodeID != want.NodeID || l.Name != want.Group || s.NodeID != want.NodeID {
				t.Errorf("installed %v, want %v", l, want)
			}
		})
	}
}

func TestInstallRenewalSkipsOverlapCheck(t *testing.T) {
	home := newOwner(t, "home")
	dir := filepath.Join(t.TempDir(), "state")
	b, err := home.Issue("bob", netip.Addr{}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Install(dir, b, InstallOptions{Now: testNow, LocalPrefixes: testLocal}); err != nil {
		t.Fatal(err)
	}
	// Now bob's overlay interface carries an address in the group subnet.
	withTap := func() ([]netip.Prefix, error) { return []netip.Prefix{netip.MustParsePrefix("10.77.0.2/16")}, nil }
	later := testNow.AddDate(0, 11, 0)
	// A different node is checked against the interfaces and refused...
	b2, err := home.Issue("bob2", netip.Addr{}, later)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Install(dir, b2, InstallOptions{Now: later, Force: true, LocalPrefixes: withTap})
	wantErr(t, err, ErrSubnetOverlap, "10.77.0.2/16")
	// ...while the same bundle again counts as the installed node.
	if _, err := Install(dir, b, InstallOptions{Now: later, LocalPrefixes: withTap}); err != nil {
		t.Errorf("reinstalling the same node: %v", err)
	}
}

func TestInstallRefusals(t *testing.T) {
	home := newOwner(t, "home")
	bob, err := home.Issue("bob", netip.Addr{}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	damagedDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(damagedDir, FileGroup), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	leftoverDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(leftoverDir, FileNodeKey), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	overlap := func() ([]netip.Prefix, error) { return []netip.Prefix{netip.MustParsePrefix("10.0.0.1/8")}, nil }
	fresh := ""
	tests := []struct {
		name   string
		dir    string
		bundle []byte
		o      InstallOptions
		kind   error
		frag   string
	}{
		{"owner directory", home.Dir, bob, InstallOptions{Now: testNow}, ErrCAKeyPresent, `holds the CA key of group "home"`},
		{"owner directory forced", home.Dir, bob, InstallOptions{Now: testNow, Force: true}, ErrCAKeyPresent, "would destroy the group"},
		{"damaged state", damagedDir, bob, InstallOptions{Now: testNow}, ErrExists, "damaged group state"},
		{"leftover files", leftoverDir, bob, InstallOptions{Now: testNow}, ErrExists, "leftover group files"},
		{"expired", fresh, bob, InstallOptions{Now: testNow.AddDate(1, 0, 1)}, ErrExpired, `node certificate "bob" expired at 2026-06-01T12:00:00Z`},
		{"not yet valid", fresh, bob, InstallOptions{Now: testNow.Add(-2 * time.Hour)}, ErrExpired, "is not valid before 2025-06-01T11:00:00Z (is the clock right?)"},
		{"overlapping subnet", fresh, bob, InstallOptions{Now: testNow, LocalPrefixes: overlap}, ErrSubnetOverlap, "10.0.0.1/8"},
		{"garbage", fresh, []byte("hello"), InstallOptions{Now: testNow}, ErrBadBundle, "line 1: unexpected text"},
		{"empty", fresh, nil, InstallOptions{Now: testNow}, ErrBadBundle, "bundle is empty"},
		{"zero time", fresh, bob, InstallOptions{}, ErrInvalidOption, "time is zero"},
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
			before := takeSnapshot(t, dir)
			s, err := Install(dir, tt.bundle, tt.o)
			wantErr(t, err, tt.kind, tt.frag)
			if s != nil {
				t.Error("Install returned a state with an error")
			}
			assertUnchanged(t, before, dir)
		})
	}
	// Forced over damaged state works.
	if _, err := Install(damagedDir, bob, InstallOptions{Now: testNow, Force: true, LocalPrefixes: testLocal}); err != nil {
		t.Errorf("forced install over damaged state: %v", err)
	}
}
