package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipopd/ipopd/arm-build/cross"
	"github.com/ipopd/ipopd/arm-build/pack"
)

func TestSymbolPackage(t *testing.T) {
	tests := []struct{ sym, want string }{
		{"runtime.mallocgc", "runtime"},
		{"github.com/pion/dtls/v3.(*Conn).Read", "github.com/pion/dtls/v3"},
		{"github.com/pion/dtls/v3/pkg/crypto/ciphersuite.(*GCM).Encrypt", "github.com/pion/dtls/v3/pkg/crypto/ciphersuite"},
		{"golang.org/x/crypto/chacha20poly1305.New", "golang.org/x/crypto/chacha20poly1305"},
		{"sync/atomic.(*Int64).Add", "sync/atomic"},
		{"slices.Sort[go.shape.[]string,go.shape.string]", "slices"},
		{"go:string.*", "go:* (linker data)"},
		{"type:*net/netip.Addr", "type:* (linker data)"},
		{"main.main", "main"},
		{"nodot", "nodot"},
	}
	for _, tc := range tests {
		if got := symbolPackage(tc.sym); got != tc.want {
			t.Errorf("symbolPackage(%q) = %q, want %q", tc.sym, got, tc.want)
		}
	}
}

func TestSumByPackage(t *testing.T) {
	nm := "  10000 300 T runtime.a\n  10100 200 T runtime.b\n  20000 400 R github.com/x/y.T\n  30000 10 D type:func(int) string\n"
	got, err := sumByPackage(nm+"  90000 99999 D big.bss\n", func(a uint64) bool { return a < 0x90000 })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != (pkgSize{"runtime", 500}) || got[1] != (pkgSize{"github.com/x/y", 400}) {
		t.Errorf("got %v", got)
	}
	for _, bad := range []string{"10000 300 T\n", "10000 big T x\n", "xyz 300 T x\n"} {
		if _, err := sumByPackage(bad, func(uint64) bool { return true }); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// fakeDist lays out dist/ as make cross packages would, with chosen sizes.
func fakeDist(t *testing.T, binSize, ipkSize int) string {
	t.Helper()
	dist := t.TempDir()
	put := func(p string, n int) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		f.Truncate(int64(n))
		f.Close()
	}
	for _, tg := range cross.Targets {
		put(filepath.Join(dist, "bin", tg.Arch, "ipopd"), binSize)
		put(filepath.Join(dist, tg.Arch, "ipopd_1-r1_"+tg.Arch+".ipk"), ipkSize)
		put(filepath.Join(dist, tg.Arch, "ipopd-1-r1.apk"), ipkSize)
	}
	return dist
}

func TestSizeBudget(t *testing.T) {
	tests := []struct {
		name          string
		bin, ipk      int
		wantErr, text string
	}{
		{"within", 7 << 20, 2 << 20, "", "within budget"},
		{"binary over", budgetBinary + 1, 2 << 20, "binary is", ""},
		{"ipk over", 7 << 20, budgetIPK + 1, ".ipk is", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			err := run([]string{"size", "-dist", fakeDist(t, tc.bin, tc.ipk)}, &out, io.Discard)
			if tc.wantErr == "" {
				if err != nil || !strings.Contains(out.String(), tc.text) || !strings.Contains(out.String(), "mipsel_24kc") {
					t.Fatalf("err %v, output:\n%s", err, out.String())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
	if err := run([]string{"size", "-dist", t.TempDir()}, io.Discard, io.Discard); err == nil {
		t.Error("empty dist accepted")
	}
}

func TestRunErrors(t *testing.T) {
	for _, args := range [][]string{nil, {"bogus"}, {"check"}, {"check", t.TempDir()}, {"cross", "-arch", "sparc"}, {"packages", "-version", "v1.0-beta"}} {
		if err := run(args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}

// TestPackagesAndCheck makes every feed from the repository's openwrt/
// files and stand-in binaries, then reads each back with the check command.
func TestPackagesAndCheck(t *testing.T) {
	bin, out := t.TempDir(), t.TempDir()
	for _, tg := range cross.Targets {
		p := filepath.Join(bin, tg.Arch, "ipopd")
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("\x7fELF stand-in for "+tg.Arch), 0o755)
	}
	var stdout, stderr strings.Builder
	err := run([]string{"packages", "-repo", "../../..", "-bin", bin, "-out", out, "-version", "v1.2.3-4-gabcdef0", "-mtime", "1763769600", "-license", "MIT"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	var dirs []string
	for _, tg := range cross.Targets {
		dirs = append(dirs, filepath.Join(out, tg.Arch))
		if _, err := os.Stat(filepath.Join(out, tg.Arch, "ipopd_1.2.3_p4-r1_"+tg.Arch+".ipk")); err != nil {
			t.Error(err)
		}
	}
	stdout.Reset()
	if err := run(append([]string{"check"}, dirs...), &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(stdout.String(), "ok "); n != len(cross.Targets) {
		t.Errorf("%d feeds checked:\n%s", n, stdout.String())
	}
	// The .deb repository: one package per Debian architecture, each with
	// the binary of its target (armhf: the ARMv6 build, for the Pi Zero/1).
	debDir := filepath.Join(out, "deb")
	debs, err := pack.CheckDebRepo(debDir)
	if err != nil {
		t.Fatal(err)
	}
	for arch, from := range map[string]string{"amd64": "x86_64", "arm64": "aarch64_cortex-a53", "armhf": "arm_arm1176jzf-s_vfp"} {
		d := debs["ipopd_1.2.3+p4-1_"+arch+".deb"]
		if d == nil {
			t.Errorf("no %s .deb in %v", arch, debs)
			continue
		}
		for _, f := range d.Files {
			if f.Name == "./usr/sbin/ipopd" && string(f.Data) != "\x7fELF stand-in for "+from {
				t.Errorf("%s .deb holds %q, want the %s binary", arch, f.Data, from)
			}
		}
	}
	if len(debs) != 3 {
		t.Errorf("%d .deb files, want 3", len(debs))
	}
	stdout.Reset()
	if err := run([]string{"check", debDir}, &stdout, io.Discard); err != nil || !strings.Contains(stdout.String(), "3 .deb") {
		t.Errorf("check %s: %v, %q", debDir, err, stdout.String())
	}
	if strings.Count(stderr.String(), "ipopd.init missing") > 1 {
		t.Errorf("a warning repeated per architecture:\n%s", stderr.String())
	}
}
