package cross

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const repo = "../.."

// TestReproducible builds the mipsel binary twice, the second time with -a
// so nothing comes from the build cache, and wants the same bytes.
func TestReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("rebuilds the standard library for mipsle; skipped with -short")
	}
	tg, _ := Lookup("mipsel_24kc")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := Build(ctx, tg, Options{Repo: repo, Version: "repro-1"}, a); err != nil {
		t.Fatal(err)
	}
	if err := Build(ctx, tg, Options{Repo: repo, Version: "repro-1", ExtraFlags: []string{"-a"}}, b); err != nil {
		t.Fatal(err)
	}
	ba, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if len(ba) == 0 || !bytes.Equal(ba, bb) {
		t.Fatalf("two builds differ: %d and %d bytes", len(ba), len(bb))
	}
	if bytes.Contains(ba, []byte(os.Getenv("HOME")+"/")) && os.Getenv("HOME") != "/" {
		t.Errorf("binary contains the home directory path despite -trimpath")
	}
	if !bytes.Contains(ba, []byte("repro-1")) {
		t.Errorf("version not stamped into the binary")
	}
}

// TestSmoke runs `ipopd version` and `ipopd selftest` for every target
// under qemu-user. make smoke passes the binaries of make cross in
// IPOPD_SMOKE_BIN (with IPOPD_SMOKE_VERSION); otherwise the test builds them.
func TestSmoke(t *testing.T) {
	binDir, version := os.Getenv("IPOPD_SMOKE_BIN"), os.Getenv("IPOPD_SMOKE_VERSION")
	if binDir == "" {
		if testing.Short() {
			t.Skip("cross-builds every target; skipped with -short")
		}
		binDir, version = t.TempDir(), "smoke-test"
	}
	if version == "" {
		t.Fatal("IPOPD_SMOKE_BIN set without IPOPD_SMOKE_VERSION")
	}
	for _, tg := range Targets {
		t.Run(tg.Arch, func(t *testing.T) {
			qemu, err := exec.LookPath(tg.QEMU)
			if err != nil {
				t.Skipf("%s not found: install Debian's qemu-user-static to run %s binaries", tg.QEMU, tg.Arch)
			}
			bin := filepath.Join(binDir, tg.Arch, "ipopd")
			if os.Getenv("IPOPD_SMOKE_BIN") == "" {
				src := tg
				if tg.SameAs != "" {
					src, _ = Lookup(tg.SameAs)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
				defer cancel()
				if err := Build(ctx, src, Options{Repo: repo, Version: version}, bin); err != nil {
					t.Fatal(err)
				}
			}
			out := runEmulated(t, qemu, bin, "version")
			if !strings.Contains(out, version) {
				t.Errorf("ipopd version printed %q, want it to contain %q", out, version)
			}
			out = runEmulated(t, qemu, bin, "selftest")
			for _, check := range []string{"crypto chacha20-poly1305", "crypto aes-256-gcm", "uci parse", "blobmsg round trip", "dtls handshake"} {
				if !strings.Contains(out, "ok   "+check) {
					t.Errorf("selftest did not pass %q:\n%s", check, out)
				}
			}
			t.Logf("%s:\n%s", tg.Arch, out)
		})
	}
}

func runEmulated(t *testing.T, qemu, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu, append([]string{bin}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s %v: %v\n%s", filepath.Base(qemu), bin, args, err, out)
	}
	return string(out)
}
