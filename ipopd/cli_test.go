package main

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ipopd/ipopd/internal/group"
)

// snapshot records every file under dir with its mode and content hash,
// to show that a failed command changed nothing.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		fi, _ := d.Info()
		h := ""
		if d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			h = fmt.Sprintf("%x", sha256.Sum256(b))
		}
		lines = append(lines, fmt.Sprintf("%s %v %s", p, fi.Mode(), h))
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBadConfigErrors: bad configurations are refused with an error that
// names the problem, before anything starts.
func TestBadConfigErrors(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	tests := []struct {
		name, config string
		want         []string
	}{
		{"unknown statement", "config ipopd 'main'\n\toptoin listen_port '1'\n", []string{":2:", "optoin"}},
		{"bad port", "config ipopd 'main'\n\toption listen_port '70000'\n", []string{":2:", "listen_port", "70000"}},
		{"unknown option", "config ipopd 'main'\n\toption listen_prot '6464'\n", []string{"listen_prot"}},
		{"bad bool", "config ipopd 'main'\n\toption guard_dhcp 'maybe'\n", []string{"guard_dhcp", "maybe"}},
		{"unterminated quote", "config ipopd 'main'\n\toption bridge 'br-lan\n", []string{":2:"}},
		{"bad endpoint", "config ipopd 'main'\n\tlist endpoint 'nohost'\n", []string{"endpoint", "nohost"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, dir, "ipop", tt.config, 0o600)
			err := run([]string{"run", "-c", p, "--state", state})
			if err == nil {
				t.Fatal("run accepted a bad config")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
	t.Run("unreadable file", func(t *testing.T) {
		err := run([]string{"run", "-c", filepath.Join(dir, "nosuch"), "--state", state})
		if err == nil || !strings.Contains(err.Error(), "nosuch") {
			t.Fatalf("missing config: %v", err)
		}
	})
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Fatal("a failed run created the state directory")
	}
}

// TestGroupCommandsFailCleanly: a garbled bundle and other mistakes give a
// clear error and leave --state exactly as it was.
func TestGroupCommandsFailCleanly(t *testing.T) {
	dir := t.TempDir()
	owner := filepath.Join(dir, "owner")
	member := filepath.Join(dir, "member")
	if err := run([]string{"group", "create", "--name", "home", "--subnet", "10.254.0.0/16", "--node-name", "r1", "--state", owner}); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "r2.bundle")
	// Flags after the positional-free command, and before.
	if err := run([]string{"group", "issue", "--state", owner, "--name", "r2", "--out", bundle}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(bundle)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("bundle mode: %v %v", fi.Mode(), err)
	}
	good, _ := os.ReadFile(bundle)

	ownerBefore := snapshot(t, owner)
	garbled := []byte(strings.Replace(string(good), "MII", "MIJ", 1))
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"garbled bundle", []string{"group", "install", writeFile(t, dir, "bad.bundle", string(garbled), 0o600), "--state", member}, "bundle"},
		{"truncated bundle", []string{"group", "install", writeFile(t, dir, "short.bundle", string(good[:len(good)/2]), 0o600), "--state", member}, "bundle"},
		{"not a bundle", []string{"group", "install", writeFile(t, dir, "junk", "hello\n", 0o600), "--state", member}, "bundle"},
		{"missing file", []string{"group", "install", filepath.Join(dir, "nosuch.bundle"), "--state", member}, "nosuch.bundle"},
		{"create over a group", []string{"group", "create", "--name", "x", "--state", owner}, "already holds"},
		{"issue a taken name", []string{"group", "issue", "--name", "r2", "--out", filepath.Join(dir, "again"), "--state", owner}, "r2"},
		{"issue outside the subnet", []string{"group", "issue", "--name", "r9", "--address", "192.168.1.1", "--out", filepath.Join(dir, "r9"), "--state", owner}, "192.168.1.1"},
		{"issue over a file", []string{"group", "issue", "--name", "r3", "--out", bundle, "--state", owner}, "exists"},
		{"bad subnet", []string{"group", "create", "--name", "y", "--subnet", "banana", "--state", member}, "banana"},
	}
	for _, c := range cases {
		err := run(c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", c.name, err, c.want)
		}
		if _, err := os.Stat(member); !os.IsNotExist(err) {
			t.Fatalf("%s: created the member's state directory", c.name)
		}
		if got := snapshot(t, owner); got != ownerBefore {
			t.Fatalf("%s: changed the owner's state:\n%s\n---\n%s", c.name, ownerBefore, got)
		}
	}
	// The good bundle installs, flags after the argument.
	if err := run([]string{"group", "install", bundle, "--state", member}); err != nil {
		t.Fatal(err)
	}
	// Nothing under member is readable by others where it holds a key.
	for _, f := range []string{"node.key"} {
		fi, err := os.Stat(filepath.Join(member, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v %v", f, fi.Mode(), err)
		}
	}
	if err := run([]string{"group", "show", "--state", member}); err != nil {
		t.Fatal(err)
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"version"}, {"group", "create", "--help"}, {"run", "-h"}} {
		if err := run(args); err != nil && err != errHelp {
			t.Errorf("%v: %v", args, err)
		}
	}
	var ue usageError
	for _, args := range [][]string{nil, {"bogus"}, {"group"}, {"group", "bogus"}, {"group", "install"}} {
		if err := run(args); err == nil {
			t.Errorf("%v succeeded", args)
		} else if !errors.As(err, &ue) {
			t.Errorf("%v: %v is not a usage error", args, err)
		}
	}
}

// TestGroupCreatePoolSize: --members and --pool-size choose the address
// plan, bad values are refused naming what would do, and a full group's
// refusal names the fix.
func TestGroupCreatePoolSize(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := run([]string{"group", "create", "--name", "big", "--subnet", "10.253.0.0/16", "--members", "1000", "--node-name", "r0", "--state", big}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(big, "group.json"))
	if err != nil || !strings.Contains(string(data), `"pool_size": 64`) {
		t.Fatalf("group.json: %s %v", data, err)
	}
	out := filepath.Join(dir, "r1.bundle")
	if err := run([]string{"group", "issue", "--name", "r1", "--out", out, "--state", big}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	bd, err := group.ParseBundle(b)
	if err != nil || bd.Address.String() != "10.253.0.2" || bd.Pool.String() != "10.253.4.64/26" {
		t.Fatalf("r1: %v %v", bd, err)
	}
	if err := run([]string{"group", "show", "--state", big}); err != nil {
		t.Fatal(err)
	}

	bad := filepath.Join(dir, "bad")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--pool-size", "48"}, "pool size 48 is not a power of two of at least 16"},
		{[]string{"--pool-size", "256", "--members", "1000"}, "a /16 with pools of 256 holds at most 255 members: use --pool-size 64 (at most 1008 members) or a larger subnet like /14"},
		{[]string{"--members", "5000"}, "a /16 holds at most 3840 members (with the smallest pools, of 16 addresses): use a larger subnet like /15"},
		{[]string{"--members", "many"}, `invalid value "many" for flag -members`},
	} {
		args := append([]string{"group", "create", "--name", "bad", "--subnet", "10.253.0.0/16", "--state", bad}, c.args...)
		err := run(args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want it to mention %q", c.args, err, c.want)
		}
		if _, err := os.Stat(bad); !os.IsNotExist(err) {
			t.Fatalf("%v: created the state directory", c.args)
		}
	}

	// A /24 with pools of 64: a router range of one pool's size, 3 members.
	small := filepath.Join(dir, "small")
	if err := run([]string{"group", "create", "--name", "small", "--subnet", "10.253.1.0/24", "--pool-size", "64", "--node-name", "r0", "--state", small}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"r1", "r2"} {
		if err := run([]string{"group", "issue", "--name", n, "--out", filepath.Join(dir, "small-"+n), "--state", small}); err != nil {
			t.Fatal(err)
		}
	}
	before := snapshot(t, small)
	err = run([]string{"group", "issue", "--name", "r3", "--out", filepath.Join(dir, "small-r3"), "--state", small})
	if err == nil || !strings.Contains(err.Error(), "at most 3 members with DHCP pools of 64 addresses") || !strings.Contains(err.Error(), "ipopd group create --members N") {
		t.Errorf("full group: %v", err)
	}
	if snapshot(t, small) != before {
		t.Error("a refused issue changed the state")
	}
}
