package netlab

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// nsPrefix starts every namespace and tool directory this package creates.
// The full namespace name is ipl<pid>x<lab>-<host>; the pid is what lets
// SweepStale decide that a namespace is orphaned.
const nsPrefix = "ipl"

// maxHostName keeps namespace names short enough to read in `ip netns list`
// and in log lines; the kernel itself would allow far longer names.
const maxHostName = 24

// nsName returns the namespace name of host in lab number lab of process pid.
func nsName(pid, lab int, host string) string {
	return fmt.Sprintf("%s%dx%d-%s", nsPrefix, pid, lab, host)
}

// parseNSName returns the owner pid encoded in a namespace name made by
// nsName. ok is false for every name this package could not have made, so
// the sweep never considers a foreign namespace.
func parseNSName(name string) (pid int, ok bool) {
	rest, found := strings.CutPrefix(name, nsPrefix)
	if !found {
		return 0, false
	}
	pidStr, rest, found := strings.Cut(rest, "x")
	if !found {
		return 0, false
	}
	labStr, host, found := strings.Cut(rest, "-")
	if !found || !isDecimal(pidStr) || !isDecimal(labStr) || checkHostName(host) != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(pidStr)
	if err != nil || pid <= 0 || pid > 1<<31-1 {
		return 0, false
	}
	return pid, true
}

// isDecimal reports whether s is a positive decimal without a leading zero
// and short enough to fit an int32, the only form nsName writes.
func isDecimal(s string) bool {
	if s == "" || len(s) > 10 || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkHostName accepts 1..maxHostName characters of [A-Za-z0-9_-]: safe in
// file names, shell-free command lines and the namespace name format (which
// uses "x" and "-" only before the host part, so any host name parses back).
func checkHostName(name string) error {
	if name == "" || len(name) > maxHostName {
		return fmt.Errorf("%w: host name %q must have 1..%d characters", ErrInvalid, name, maxHostName)
	}
	for _, c := range []byte(name) {
		if !isWordByte(c) && c != '-' {
			return fmt.Errorf("%w: host name %q: only letters, digits, '_' and '-' are allowed", ErrInvalid, name)
		}
	}
	return nil
}

// checkIfName accepts what the kernel accepts as an interface name (1..15
// bytes, no '/', ':' or white space, not "." or "..") restricted to
// [A-Za-z0-9_.-] so that names are never mistaken for ip(8) keywords' syntax.
func checkIfName(name string) error {
	if name == "" || len(name) > 15 {
		return fmt.Errorf("%w: interface name %q must have 1..15 characters", ErrInvalid, name)
	}
	if name == "." || name == ".." {
		return fmt.Errorf("%w: interface name %q is reserved", ErrInvalid, name)
	}
	for _, c := range []byte(name) {
		if !isWordByte(c) && c != '-' && c != '.' {
			return fmt.Errorf("%w: interface name %q: only letters, digits, '_', '-' and '.' are allowed", ErrInvalid, name)
		}
	}
	return nil
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// randomIfName returns "nl" + 8 random hex digits: the temporary name of a
// veth end while it still sits in the root namespace. 32 random bits make a
// clash with a host interface or a parallel test practically impossible, and
// `ip link add` refuses an existing name anyway.
func randomIfName() (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("netlab: random interface name: %w", err)
	}
	return "nl" + hex.EncodeToString(b[:]), nil
}
