package group

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// testNow is the clock of every test; nothing reads the real time.
var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// testLocal stands in for the machine's interfaces: a typical home LAN.
func testLocal() ([]netip.Prefix, error) {
	return []netip.Prefix{
		netip.MustParsePrefix("127.0.0.1/8"),
		netip.MustParsePrefix("192.168.1.1/24"),
		netip.MustParsePrefix("fe80::1/64"),
	}, nil
}

// newOwner creates group name with owner node "owner" in a fresh directory.
func newOwner(t *testing.T, name string) *State {
	t.Helper()
	s, err := Create(filepath.Join(t.TempDir(), "state"), CreateOptions{Name: name, NodeName: "owner", Now: testNow, LocalPrefixes: testLocal})
	if err != nil {
		t.Fatalf("Create(%q): %v", name, err)
	}
	return s
}

// newMember issues node from owner and installs it in a fresh directory.
func newMember(t *testing.T, owner *State, node string) *State {
	t.Helper()
	b, err := owner.Issue(node, netip.Addr{}, testNow)
	if err != nil {
		t.Fatalf("Issue(%q): %v", node, err)
	}
	s, err := Install(filepath.Join(t.TempDir(), "state"), b, InstallOptions{Now: testNow, LocalPrefixes: testLocal})
	if err != nil {
		t.Fatalf("Install(%q): %v", node, err)
	}
	return s
}

// snapshot records a directory tree: every path with its mode and, for
// files, a hash of the content.
type snapshot map[string]string

func takeSnapshot(t *testing.T, dir string) snapshot {
	t.Helper()
	snap := snapshot{}
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		snap["."] = "absent"
		return snap
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		entry := info.Mode().String()
		if info.Mode().IsRegular() {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			entry += fmt.Sprintf(" %x", sha256.Sum256(data))
		}
		snap[rel] = entry
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", dir, err)
	}
	return snap
}

func (s snapshot) diff(o snapshot) string {
	var out []string
	for k, v := range s {
		if w, ok := o[k]; !ok {
			out = append(out, "removed "+k)
		} else if v != w {
			out = append(out, fmt.Sprintf("changed %s: %s -> %s", k, v, w))
		}
	}
	for k := range o {
		if _, ok := s[k]; !ok {
			out = append(out, "added "+k)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// assertUnchanged fails the test if dir differs from before.
func assertUnchanged(t *testing.T, before snapshot, dir string) {
	t.Helper()
	if d := before.diff(takeSnapshot(t, dir)); d != "" {
		t.Errorf("state directory changed by a failed call:\n%s", d)
	}
}

// copyDir copies a flat state directory, keeping modes.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "copy")
	if err := os.Mkdir(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dst, e.Name()), info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// wantErr checks err against a sentinel and a message fragment.
func wantErr(t *testing.T, err error, kind error, fragment string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v (%q)", kind, fragment)
	}
	t.Logf("error: %v", err)
	if kind != nil && !errors.Is(err, kind) {
		t.Errorf("error %q does not match %v", err, kind)
	}
	if !strings.Contains(err.Error(), fragment) {
		t.Errorf("error %q does not contain %q", err, fragment)
	}
}

// checkMode fails if path's permission bits are not want.
func checkMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != want {
		t.Errorf("%s: mode %04o, want %04o", path, got, want)
	}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// keyHex and keyDecimal render a private key's scalar the ways a leak
// would show it, without the deprecated big.Int field.
func keyHex(t testing.TB, k *ecdsa.PrivateKey) string {
	t.Helper()
	b, err := k.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func keyDecimal(t testing.TB, k *ecdsa.PrivateKey) string {
	t.Helper()
	b, err := k.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return new(big.Int).SetBytes(b).String()
}
