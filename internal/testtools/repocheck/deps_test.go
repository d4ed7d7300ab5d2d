package repocheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// fakeTools makes a PATH directory holding a shell and the named commands
// (each a script that does nothing), so deps.sh sees a machine that has
// exactly those.
func fakeTools(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	if err := os.Symlink(sh, filepath.Join(dir, "sh")); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\necho \"$0 $*\"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runDeps runs deps.sh PURPOSE with only dir on the PATH.
func runDeps(t *testing.T, dir string, env []string, purpose string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(dir, "sh"), "../deps.sh", purpose)
	cmd.Env = append([]string{"PATH=" + dir}, env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	// Issue 15: when it cannot install, make must fail "in the first second".
	if d := time.Since(start); d > time.Second {
		t.Errorf("deps.sh %s took %v, want under a second", purpose, d)
	}
	return string(out), err
}

// TestDepsScript runs deps.sh on fake machines (a PATH with only some of
// the tools) and checks what it would install, that it installs nothing
// when everything is there, and that without root it fails with the one
// command to run.
func TestDepsScript(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("deps.sh is for Debian")
	}
	all := []string{"ip", "nft", "iptables", "iperf3", "ping", "make", "dnsmasq", "busybox",
		"qemu-mipsel-static", "node", "turnserver", "dpkg-deb", "lintian"}
	for _, tc := range []struct {
		name    string
		have    []string
		purpose string
		want    string // the exact package list it would install; "" = nothing
	}{
		{"fresh machine, test", nil, "test", "iproute2 nftables iptables iperf3 iputils-ping make dnsmasq-base busybox qemu-user-static nodejs coturn dpkg lintian"},
		{"fresh machine, demo", nil, "demo", "iproute2 nftables iperf3 iputils-ping make"},
		// The case of issue 15: Go and make there, nftables, iptables and iperf3 removed.
		{"demo after removing nft, iptables, iperf3", []string{"ip", "ping", "make"}, "demo", "nftables iperf3"},
		{"test after removing nft, iptables, iperf3", without(all, "nft", "iptables", "iperf3"), "test", "nftables iptables iperf3"},
		{"warm machine, test", all, "test", ""},
		{"warm machine, demo", []string{"ip", "nft", "iperf3", "ping", "make"}, "demo", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := fakeTools(t, tc.have...)
			out, err := runDeps(t, dir, []string{"DEPS_DRY_RUN=1"}, tc.purpose)
			if err != nil {
				t.Fatalf("deps.sh: %v\n%s", err, out)
			}
			if tc.want == "" {
				if out != "" {
					t.Fatalf("warm machine: deps.sh printed %q, want nothing", out)
				}
				return
			}
			want := "would run: apt-get update -qq && apt-get install -y -qq --no-install-recommends " + tc.want + "\n"
			if out != want {
				t.Fatalf("deps.sh printed\n%q\nwant\n%q", out, want)
			}
		})
	}

	t.Run("not root", func(t *testing.T) {
		// id says 1000; apt-get exists but must not be called.
		dir := fakeTools(t, "ip", "ping", "make", "apt-get")
		if err := os.WriteFile(filepath.Join(dir, "id"), []byte("#!/bin/sh\necho 1000\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		out, err := runDeps(t, dir, nil, "demo")
		if err == nil {
			t.Fatalf("deps.sh succeeded without root and with tools missing:\n%s", out)
		}
		want := "  sudo apt-get update && sudo apt-get install -y -qq --no-install-recommends nftables iperf3\n"
		if !strings.HasSuffix(out, want) {
			t.Fatalf("deps.sh printed\n%s\nwant it to end with\n%s", out, want)
		}
	})

	t.Run("root installs once", func(t *testing.T) {
		// id says 0: apt-get update then one apt-get install of the missing packages.
		dir := fakeTools(t, "ip", "ping", "make", "apt-get")
		if err := os.WriteFile(filepath.Join(dir, "id"), []byte("#!/bin/sh\necho 0\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		out, err := runDeps(t, dir, nil, "demo")
		if err != nil {
			t.Fatalf("deps.sh: %v\n%s", err, out)
		}
		want := "installing for make demo: nftables iperf3\n" +
			dir + "/apt-get update -qq\n" +
			dir + "/apt-get install -y -qq --no-install-recommends nftables iperf3\n"
		if out != want {
			t.Fatalf("deps.sh printed\n%s\nwant\n%s", out, want)
		}
	})

	t.Run("bad purpose", func(t *testing.T) {
		if out, err := runDeps(t, fakeTools(t), nil, "bench"); err == nil {
			t.Fatalf("deps.sh bench succeeded: %s", out)
		}
	})
}

func without(list []string, drop ...string) []string {
	var out []string
	for _, s := range list {
		keep := true
		for _, d := range drop {
			keep = keep && s != d
		}
		if keep {
			out = append(out, s)
		}
	}
	return out
}
