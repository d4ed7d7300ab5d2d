package group

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

func TestLeave(t *testing.T) {
	owner := newOwner(t, "home")
	bob := joinNode(t, owner, "bob")
	der, err := owner.Revoke(newMember(t, owner, "carol").NodeID, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.ApplyCRL(der, testNow); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bob.Dir, "unrelated"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Leave(bob.Dir, false); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(bob.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "unrelated" {
		t.Errorf("after Leave the directory holds %v", entries)
	}
	_, err = Load(bob.Dir)
	wantErr(t, err, ErrNoGroup, "no group")
	wantErr(t, Leave(bob.Dir, false), ErrNoGroup, "no group")
	wantErr(t, Leave(filepath.Join(t.TempDir(), "none"), false), ErrNoGroup, "does not exist")
	wantErr(t, Leave("", false), ErrInvalidOption, "not set")

	// The directory can hold a group again.
	if _, err := Install(bob.Dir, mustIssue(t, owner, "dave"), InstallOptions{Now: testNow, LocalPrefixes: testLocal}); err != nil {
		t.Errorf("install after leave: %v", err)
	}
}

func mustIssue(t *testing.T, owner *State, name string) []byte {
	t.Helper()
	b, err := owner.Issue(name, netip.Addr{}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLeaveOwner(t *testing.T) {
	owner := newOwner(t, "home")
	newInvite(t, owner, InviteOptions{})
	before := takeSnapshot(t, owner.Dir)
	err := Leave(owner.Dir, false)
	wantErr(t, err, ErrCAKeyPresent, `holds the CA key of group "home"`)
	assertUnchanged(t, before, owner.Dir)
	if err := Leave(owner.Dir, true); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(owner.Dir)
	if len(entries) != 0 {
		t.Errorf("after a forced leave the directory holds %v", entries)
	}
}

// TestLeaveInterrupted simulates a crash after each step of Leave: the
// directory never holds a half group that loads, and Leave again finishes.
func TestLeaveInterrupted(t *testing.T) {
	owner := newOwner(t, "home")
	bob := newMember(t, owner, "bob")
	for k := 1; k < len(leaveOrder); k++ {
		dir := copyDir(t, bob.Dir)
		// A crash also leaves a temporary file behind.
		if err := os.WriteFile(filepath.Join(dir, "."+FileNodeCert+".tmp-123"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, name := range leaveOrder[:k] {
			_ = os.Remove(filepath.Join(dir, name))
		}
		if _, err := Load(dir); err == nil {
			t.Fatalf("after %d steps the state still loads", k)
		}
		if err := Leave(dir, false); err != nil {
			t.Fatalf("Leave after %d steps: %v", k, err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("after %d steps and Leave: %v", k, entries)
		}
	}
	// Leftovers of an owner that was half removed still need force while
	// the CA key is there.
	dir := copyDir(t, owner.Dir)
	_ = os.Remove(filepath.Join(dir, FileGroup))
	wantErr(t, Leave(dir, false), ErrCAKeyPresent, "CA key")
}
