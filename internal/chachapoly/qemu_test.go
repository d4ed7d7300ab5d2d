package chachapoly

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// qemuEnv marks a test binary started by TestRouterArchitectures, so that
// it does not start the cross-architecture run again inside the emulator.
const qemuEnv = "IPOPD_CHACHAPOLY_UNDER_QEMU"

// routerArchs are the 32-bit targets this package exists for: each is
// cross-compiled and its tests run under qemu-user.
var routerArchs = []struct {
	name, qemu string
	env        []string
}{
	{"mipsle", "qemu-mipsel-static", []string{"GOARCH=mipsle", "GOMIPS=softfloat"}},
	{"mips", "qemu-mips-static", []string{"GOARCH=mips", "GOMIPS=softfloat"}},
	{"arm GOARM=5", "qemu-arm-static", []string{"GOARCH=arm", "GOARM=5"}},
	{"arm GOARM=6", "qemu-arm-static", []string{"GOARCH=arm", "GOARM=6"}},
	{"arm GOARM=7", "qemu-arm-static", []string{"GOARCH=arm", "GOARM=7"}},
}

// TestRouterArchitectures cross-compiles this package's tests for mipsle,
// mips (big-endian) and arm (GOARM 5, 6 and 7) and runs the vectors, the
// differential test against x/crypto (a bounded number of cases) and
// FuzzAEAD's seed corpus under qemu-user: the assembly and the 32-bit Go
// run only there. Skipped with -short, or when qemu-user-static is not
// installed.
func TestRouterArchitectures(t *testing.T) {
	if os.Getenv(qemuEnv) != "" {
		t.Skip("already running under qemu")
	}
	if testing.Short() {
		t.Skip("cross-compiles and emulates five targets; skipped with -short")
	}
	// go test puts its own GOROOT/bin first in the tests' PATH.
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not in PATH: %v", err)
	}
	dir := t.TempDir()
	for _, a := range routerArchs {
		t.Run(a.name, func(t *testing.T) {
			qemu, err := exec.LookPath(a.qemu)
			if err != nil {
				t.Skipf("%s not found (install qemu-user-static): the %s code is not tested", a.qemu, a.name)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			bin := filepath.Join(dir, "chachapoly-"+filepath.Base(a.qemu)+".test")
			build := exec.CommandContext(ctx, gobin, "test", "-c", "-o", bin, ".")
			build.Env = append(os.Environ(), append([]string{"GOOS=linux", "CGO_ENABLED=0"}, a.env...)...)
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go test -c for %s: %v\n%s", a.name, err, out)
			}
			run := exec.CommandContext(ctx, qemu, bin, "-test.count=1",
				"-test.run", "^(TestPoly1305|TestAEAD|TestChaCha20|FuzzAEAD)")
			run.Env = append(os.Environ(), qemuEnv+"=1", "IPOPD_CHACHAPOLY_CASES=1000")
			out, err := run.CombinedOutput()
			if err != nil {
				t.Fatalf("tests under %s: %v\n%s", a.qemu, err, out)
			}
			t.Logf("%s: %s", a.name, lastLine(out))
		})
	}
}

func lastLine(b []byte) string {
	s := string(b)
	for len(s) > 0 && s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			return s[i+1:]
		}
	}
	return s
}
