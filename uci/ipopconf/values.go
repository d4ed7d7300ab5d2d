package ipopconf

import (
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ipopd/ipopd/internal/overlay"
)

// parseBool accepts the spellings uci's shell library and procd accept.
func parseBool(raw string) (bool, error) {
	switch strings.ToLower(raw) {
	case "1", "yes", "on", "true", "enabled":
		return true, nil
	case "0", "no", "off", "false", "disabled":
		return false, nil
	}
	return false, invalid(fmt.Sprintf("%q is not a boolean (use 1 or 0; yes/no, on/off, true/false also work)", raw))
}

func formatBool(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// parseUint parses a decimal number of at most 19 digits, no sign.
func parseUint(raw string) (int64, bool) {
	if raw == "" || len(raw) > 18 {
		return 0, false
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] < '0' || raw[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	return n, err == nil
}

// logLevels are the names log_level accepts, in order.
var logLevels = []struct {
	name  string
	level slog.Level
}{
	{"debug", slog.LevelDebug},
	{"info", slog.LevelInfo},
	{"warn", slog.LevelWarn},
	{"error", slog.LevelError},
}

func parseLogLevel(raw string) (slog.Level, error) {
	for _, l := range logLevels {
		if strings.EqualFold(raw, l.name) {
			return l.level, nil
		}
	}
	return 0, invalid(fmt.Sprintf("%q is not a log level (debug, info, warn or error)", raw))
}

func formatLogLevel(l slog.Level) (string, bool) {
	for _, x := range logLevels {
		if x.level == l {
			return x.name, true
		}
	}
	return "", false
}

// ifnameRule is what checkIfname enforces: the kernel's dev_valid_name.
const ifnameRule = "1-15 characters, no '/', ':' or whitespace, not \".\" or \"..\""

// checkIfname reports whether s is a name the kernel accepts for a network
// device (dev_valid_name: shorter than IFNAMSIZ, no '/', ':' or space).
func checkIfname(s string) error {
	bad := s == "" || len(s) > 15 || s == "." || s == ".."
	for i := 0; i < len(s) && !bad; i++ {
		switch s[i] {
		case '/', ':', ' ', '\t', '\n', '\v', '\f', '\r', 0:
			bad = true
		}
	}
	if bad {
		return invalid(fmt.Sprintf("%q is not a valid interface name (%s)", s, ifnameRule))
	}
	return nil
}

// checkEndpoint checks HOST:PORT syntax, HOST being an IPv4 address, an
// IPv6 address in brackets or a DNS name. Names are not resolved here.
func checkEndpoint(s string) error {
	bad := func(why string) error {
		return invalid(fmt.Sprintf("%q is not HOST:PORT: %s", s, why))
	}
	var host, port string
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return bad("missing ']' after the IPv6 address")
		}
		host, port = s[1:end], s[end+1:]
		if !strings.HasPrefix(port, ":") {
			return bad("missing :PORT after ']'")
		}
		port = port[1:]
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() {
			return bad(fmt.Sprintf("%q is not an IPv6 address", host))
		}
	} else {
		i := strings.LastIndexByte(s, ':')
		if i < 0 {
			return bad("missing :PORT")
		}
		host, port = s[:i], s[i+1:]
		switch {
		case host == "":
			return bad("missing host")
		case strings.Contains(host, ":"):
			return bad("an IPv6 address must be in brackets, like [2001:db8::1]:6464")
		case strings.Trim(host, "0123456789.") == "":
			if a, err := netip.ParseAddr(host); err != nil || !a.Is4() {
				return bad(fmt.Sprintf("%q is not an IPv4 address", host))
			}
		default:
			if why := HostnameError(host); why != "" {
				return bad(why)
			}
		}
	}
	if n, ok := parseUint(port); !ok || n < 1 || n > math.MaxUint16 {
		return bad(fmt.Sprintf("port %q is not 1-65535", port))
	}
	return nil
}

// HostnameError explains why h is not a DNS host name (RFC 1123), or
// returns "".
func HostnameError(h string) string {
	name := strings.TrimSuffix(h, ".")
	if len(name) > 253 {
		return "host name longer than 253 characters"
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Sprintf("%q is not a host name (labels are 1-63 characters)", h)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Sprintf("%q is not a host name (a label cannot start or end with '-')", h)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Sprintf("%q is not a host name (letters, digits, '-' and '.' only)", h)
			}
		}
	}
	return ""
}

// maxSocketPath is the longest unix socket path: sun_path holds 108 bytes
// including the terminating NUL.
const maxSocketPath = 107

func checkSocketPath(s string) error {
	switch {
	case !strings.HasPrefix(s, "/"):
		return invalid(fmt.Sprintf("%q is not an absolute path", s))
	case strings.HasSuffix(s, "/"):
		return invalid(fmt.Sprintf("%q is a directory, not a socket path", s))
	case len(s) > maxSocketPath:
		return invalid(fmt.Sprintf("%q is longer than %d bytes, the limit for a unix socket", s, maxSocketPath))
	case strings.IndexByte(s, 0) >= 0:
		return invalid(fmt.Sprintf("%q contains a NUL byte", s))
	}
	return nil
}

// Byte units GOMEMLIMIT accepts.
var byteUnits = []struct {
	suffix string
	size   int64
}{
	{"TiB", 1 << 40},
	{"GiB", 1 << 30},
	{"MiB", 1 << 20},
	{"KiB", 1 << 10},
	{"B", 1},
}

// minMemLimit keeps a unit typo (gomemlimit '24' is 24 bytes) from making
// the garbage collector run without pause.
const minMemLimit = 4 << 20

// parseBytes parses a size in GOMEMLIMIT's syntax: a number with an
// optional B, KiB, MiB, GiB or TiB suffix.
func parseBytes(raw string) (int64, error) {
	num, unit := raw, int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(raw, u.suffix) {
			num, unit = strings.TrimSuffix(raw, u.suffix), u.size
			break
		}
	}
	n, ok := parseUint(num)
	if !ok || n > math.MaxInt64/unit {
		return 0, invalid(fmt.Sprintf("%q is not a size (a number with an optional B, KiB, MiB, GiB or TiB suffix, like 24MiB)", raw))
	}
	return n * unit, nil
}

func formatBytes(n int64) string {
	for _, u := range byteUnits {
		if n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// checkMemLimit checks a limit in bytes; 0 means unset (Go's default).
func checkMemLimit(n int64, disp string) error {
	if n < 0 || n != 0 && n < minMemLimit {
		return invalid(fmt.Sprintf("%s is less than 4MiB (a number without a suffix means bytes)", disp))
	}
	return nil
}

// GOGC bounds. GOGCOff (-1) turns the collector off, which makes sense
// only together with gomemlimit.
const (
	GOGCOff = -1
	maxGOGC = 10000
)

func parseGOGC(raw string) (int, error) {
	if strings.EqualFold(raw, "off") {
		return GOGCOff, nil
	}
	n, ok := parseUint(raw)
	if !ok {
		return 0, invalid(fmt.Sprintf("%q is not a percentage (1-%d) or off", raw, maxGOGC))
	}
	if n < 1 || n > maxGOGC {
		return 0, invalid(fmt.Sprintf("%q is out of range (1-%d, or off)", raw, maxGOGC))
	}
	return int(n), nil
}

func checkGOGC(n int64, disp string) error {
	if n != 0 && n != GOGCOff && (n < 1 || n > maxGOGC) {
		return invalid(fmt.Sprintf("%s is out of range (1-%d, or off)", disp, maxGOGC))
	}
	return nil
}

func formatGOGC(n int) []string {
	switch n {
	case 0:
		return nil
	case GOGCOff:
		return []string{"off"}
	}
	return []string{strconv.Itoa(n)}
}

// checkFloodAllow checks one flood_allow entry with the parser the switch
// uses (overlay.ParseFloodAllow): "all", "none", an IPv4 or IPv6
// multicast address or prefix, or an Ethernet multicast address.
func checkFloodAllow(s string) error {
	if _, err := overlay.ParseFloodAllow([]string{s}); err != nil {
		return invalid(err.Error())
	}
	return nil
}
