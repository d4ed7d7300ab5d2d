package netlab

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// SweepStale deletes namespaces left behind by test binaries that died
// without running their cleanups, and returns the names it deleted. A
// namespace is deleted only when its name has this package's exact format
// (ipl<pid>x<lab>-<host>) and no process with that pid exists; processes
// still inside such a namespace are killed first. Tool directories of dead
// pids ($TMPDIR/ipltools<pid>-*) are removed as well. New calls it once per
// process.
func SweepStale() ([]string, error) {
	out, err := runTimeout(setupTimeout, "ip", "netns", "list")
	if err != nil {
		return nil, err
	}
	var deleted []string
	var errs []error
	for _, ns := range parseNetnsList(out) {
		pid, ok := parseNSName(ns)
		if !ok || pidAlive(pid) {
			continue
		}
		if err := deleteNS(ns); err != nil {
			// A parallel sweep of another test binary may have won.
			if !nsExists(ns) {
				continue
			}
			errs = append(errs, err)
			continue
		}
		deleted = append(deleted, ns)
	}
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), toolDirPrefix+"*-*"))
	for _, d := range dirs {
		pidStr, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(d), toolDirPrefix), "-")
		if !isDecimal(pidStr) {
			continue
		}
		if pid, err := strconv.Atoi(pidStr); err == nil && !pidAlive(pid) {
			_ = os.RemoveAll(d)
		}
	}
	return deleted, errors.Join(errs...)
}

// parseNetnsList returns the names in `ip netns list` output, whose lines
// are "name" or "name (id: 3)".
func parseNetnsList(out string) []string {
	var names []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names
}

// nsExists reports whether `ip netns list` still shows ns.
func nsExists(ns string) bool {
	out, err := runTimeout(setupTimeout, "ip", "netns", "list")
	if err != nil {
		return true // cannot tell: assume it is there
	}
	for _, n := range parseNetnsList(out) {
		if n == ns {
			return true
		}
	}
	return false
}

// pidAlive reports whether a process with this pid exists. EPERM means it
// exists but belongs to someone else: still alive. Our own pid is alive.
func pidAlive(pid int) bool {
	if pid == os.Getpid() {
		return true
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
