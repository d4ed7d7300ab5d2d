package group

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var errInjected = errors.New("injected rename failure")

// failRename makes the k-th (0-based) rename from now on fail once.
func failRename(t *testing.T, k int) {
	t.Helper()
	orig := renameFile
	calls := 0
	renameFile = func(from, to string) error {
		calls++
		if calls-1 == k {
			return errInjected
		}
		return orig(from, to)
	}
	t.Cleanup(func() { renameFile = orig })
}

func TestCreateRollback(t *testing.T) {
	const createWrites = 6 // Create writes every state file but invites.json and crl.der
	for k := range createWrites {
		t.Run("new dir/rename "+string(rune('0'+k)), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			failRename(t, k)
			_, err := Create(dir, CreateOptions{Name: "g", NodeName: "n", Now: testNow, LocalPrefixes: testLocal})
			if !errors.Is(err, errInjected) {
				t.Fatalf("Create: %v", err)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("Create left the directory it made: %v", err)
			}
		})
		t.Run("existing dir/rename "+string(rune('0'+k)), func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "unrelated"), []byte("x"), 0o640); err != nil {
				t.Fatal(err)
			}
			before := takeSnapshot(t, dir)
			failRename(t, k)
			_, err := Create(dir, CreateOptions{Name: "g", NodeName: "n", Now: testNow, LocalPrefixes: testLocal})
			if !errors.Is(err, errInjected) {
				t.Fatalf("Create: %v", err)
			}
			assertUnchanged(t, before, dir)
		})
	}
}

func TestInstallRollback(t *testing.T) {
	home := newOwner(t, "home")
	away := newOwner(t, "away")
	bob, err := home.Issue("bob", netip.Addr{}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	eve, err := away.Issue("eve", netip.Addr{}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	for k := range 4 {
		t.Run("rename "+string(rune('0'+k)), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			if _, err := Install(dir, bob, InstallOptions{Now: testNow, LocalPrefixes: testLocal}); err != nil {
				t.Fatal(err)
			}
			before := takeSnapshot(t, dir)
			failRename(t, k)
			_, err := Install(dir, eve, InstallOptions{Now: testNow, Force: true, LocalPrefixes: testLocal})
			if !errors.Is(err, errInjected) {
				t.Fatalf("Install: %v", err)
			}
			assertUnchanged(t, before, dir)
			if s, err := Load(dir); err != nil || s.NodeName != "bob" {
				t.Errorf("after rollback: %v, %v", s, err)
			}
		})
	}
}

func TestIssueRollback(t *testing.T) {
	owner := newOwner(t, "home")
	before := takeSnapshot(t, owner.Dir)
	failRename(t, 0)
	b, err := owner.Issue("bob", netip.Addr{}, testNow)
	if !errors.Is(err, errInjected) || b != nil {
		t.Fatalf("Issue: %v", err)
	}
	assertUnchanged(t, before, owner.Dir)
	// The name was not consumed.
	if _, err := owner.Issue("bob", netip.Addr{}, testNow); err != nil {
		t.Errorf("Issue after a failed one: %v", err)
	}
}

func TestCommitFilesRefusesNonRegularTarget(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	before := takeSnapshot(t, dir)
	err := commitFiles(dir, []fileSpec{{name: "a", data: []byte("1"), perm: 0o644}, {name: "x", data: []byte("2"), perm: 0o644}})
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("commitFiles: %v", err)
	}
	assertUnchanged(t, before, dir)
}
