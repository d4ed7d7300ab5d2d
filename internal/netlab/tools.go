package netlab

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/buildflags"
)

// buildTimeout bounds one `go build` of a test tool; a cold module cache on a
// slow 2-core builder needs a while.
const buildTimeout = 5 * time.Minute

// toolDirPrefix names the per-process directory of built tools:
// $TMPDIR/ipltools<pid>-XXXX. SweepStale removes the ones of dead pids.
const toolDirPrefix = nsPrefix + "tools"

// tools caches one build per import path for the life of the process.
var tools struct {
	dirOnce sync.Once
	dir     string
	dirErr  error

	mu     sync.Mutex // guards builds
	builds map[string]*toolBuild
}

type toolBuild struct {
	once sync.Once
	path string
	err  error
}

// BuildTool compiles the main package pkg (an import path inside this module,
// e.g. UDPEchoTool) once per test binary and returns the executable's path.
// Later calls, also from other tests, reuse the binary; a failed build fails
// every caller with the compiler output.
func BuildTool(t testing.TB, pkg string) string {
	t.Helper()
	p, err := buildTool(pkg)
	if err != nil {
		t.Fatalf("netlab: BuildTool: %v", err)
	}
	return p
}

func buildTool(pkg string) (string, error) {
	if pkg == "" || path.Base(pkg) == "." || path.Base(pkg) == "/" {
		return "", fmt.Errorf("%w: tool import path %q", ErrInvalid, pkg)
	}
	tools.dirOnce.Do(func() {
		tools.dir, tools.dirErr = os.MkdirTemp("", fmt.Sprintf("%s%d-", toolDirPrefix, os.Getpid()))
	})
	if tools.dirErr != nil {
		return "", fmt.Errorf("netlab: tool directory: %w", tools.dirErr)
	}
	tools.mu.Lock()
	if tools.builds == nil {
		tools.builds = map[string]*toolBuild{}
	}
	b := tools.builds[pkg]
	if b == nil {
		b = &toolBuild{}
		tools.builds[pkg] = b
	}
	n := len(tools.builds)
	tools.mu.Unlock()

	b.once.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			b.err = fmt.Errorf("%w: go command not found: %v", ErrCommand, err)
			return
		}
		// A counter keeps tools with equal base names (a/x, b/x) apart.
		out := filepath.Join(tools.dir, fmt.Sprintf("%s-%d", path.Base(pkg), n))
		// The flags of a release build (Makefile, arm-build/cross), so that
		// end-to-end tests and benchmarks run, and measure, what ships.
		cmd := append([]string{"build", "-buildvcs=false", "-trimpath", "-ldflags=-s -w"}, buildflags.GCFlags()...)
		cmd = append(cmd, "-o", out, pkg)
		if _, err := runTimeoutEnv(buildTimeout, []string{"CGO_ENABLED=0"}, goBin, cmd...); err != nil {
			b.err = err
			return
		}
		b.path = out
	})
	return b.path, b.err
}
