package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The peer VPNs the bench compares ipopd with, installed with go install at
// pinned versions so that every run measures the same code.

// benchTool is one program installed with `go install pkg@version`.
type benchTool struct {
	pkg     string // import path of the main package
	version string // module version
	bin     string // the executable's name (last element of pkg)
}

var (
	// wireguardGo is wireguard-go, the userspace WireGuard: the newest
	// pseudo-version `go list -m golang.zx2c4.com/wireguard@latest` gave
	// when the bench was written. Its binary is called "wireguard".
	wireguardGo = benchTool{"golang.zx2c4.com/wireguard", "v0.0.0-20260522210424-ecfc5a8d5446", "wireguard"}
	// nebula 1.11.1: v1.11.2 is the newest 1.11 patch, but it depends on
	// github.com/DefinedNet/netlink v1.3.2-dn.1, which proxy.golang.org
	// refuses to serve (403, "not available"); v1.12.0 needs go >= 1.27.
	nebulaTool = benchTool{"github.com/slackhq/nebula/cmd/nebula", "v1.11.1", "nebula"}
	nebulaCert = benchTool{"github.com/slackhq/nebula/cmd/nebula-cert", "v1.11.1", "nebula-cert"}
)

// installTimeout bounds one go install: a cold module cache downloads a few
// dozen modules and compiles them on a shared 2-core machine.
const installTimeout = 10 * time.Minute

// benchToolsDir is where installed tools live: $IPOP_BENCH_TOOLS (make bench
// sets it), else bin/bench-tools at the module root (bin/ is gitignored).
func benchToolsDir() (string, error) {
	if d := os.Getenv("IPOP_BENCH_TOOLS"); d != "" {
		return filepath.Abs(d)
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("bench: go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("bench: not inside the ipopd module (go env GOMOD is %q); set IPOP_BENCH_TOOLS", mod)
	}
	return filepath.Join(filepath.Dir(mod), "bin", "bench-tools"), nil
}

// ensure returns the path of the tool's executable, installing it first
// when it is not there yet. Each version gets its own directory, so a
// version bump in this file installs afresh instead of reusing an old
// binary.
func (bt benchTool) ensure(dir string) (string, error) {
	gobin := filepath.Join(dir, bt.bin+"@"+bt.version)
	exe := filepath.Join(gobin, bt.bin)
	if fi, err := os.Stat(exe); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
		return exe, nil
	}
	if err := os.MkdirAll(gobin, 0o755); err != nil {
		return "", fmt.Errorf("bench: install %s: %w", bt.bin, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", bt.pkg+"@"+bt.version)
	// Outside the repository, so that neither its go.mod nor a vendor
	// directory applies; no toolchain download behind our back.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=-mod=mod", "CGO_ENABLED=0", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("bench: go install %s@%s: %w\n%s", bt.pkg, bt.version, err, strings.TrimSpace(string(out)))
	}
	if _, err := os.Stat(exe); err != nil {
		return "", fmt.Errorf("bench: go install %s@%s wrote no %s: %w", bt.pkg, bt.version, exe, err)
	}
	return exe, nil
}
