package fakeuci

import (
	"fmt"
	"strings"
)

// Ref is a parsed uci argument: CONFIG.SECTION[.OPTION][=VALUE].
type Ref struct {
	Config   string // file name under the config directory
	Section  string // section name or @TYPE[N]; empty for a whole config
	Option   string // empty when the reference names a section
	Value    string // after '=', when HasValue
	HasValue bool
}

// ParseRef parses a uci reference. The value is everything after the first
// '='; it may hold any character, including dots and '='.
func ParseRef(s string) (Ref, error) {
	var r Ref
	path, val, hasVal := strings.Cut(s, "=")
	r.Value, r.HasValue = val, hasVal
	parts := strings.Split(path, ".")
	if len(parts) > 3 {
		return Ref{}, fmt.Errorf("%w %q: more than CONFIG.SECTION.OPTION", ErrInvalidRef, s)
	}
	r.Config = parts[0]
	if !validConfig(r.Config) {
		return Ref{}, fmt.Errorf("%w %q: bad config name %q", ErrInvalidRef, s, r.Config)
	}
	if len(parts) > 1 {
		r.Section = parts[1]
		if !validSection(r.Section) {
			return Ref{}, fmt.Errorf("%w %q: bad section %q", ErrInvalidRef, s, r.Section)
		}
	}
	if len(parts) > 2 {
		r.Option = parts[2]
		if !validName(r.Option) {
			return Ref{}, fmt.Errorf("%w %q: bad option name %q", ErrInvalidRef, s, r.Option)
		}
	}
	if hasVal && r.Section == "" {
		return Ref{}, fmt.Errorf("%w %q: a value needs a section", ErrInvalidRef, s)
	}
	if strings.IndexByte(val, 0) >= 0 {
		return Ref{}, fmt.Errorf("%w %q: NUL byte in value", ErrInvalidRef, s)
	}
	return r, nil
}

// validConfig accepts the file names uci accepts for a config.
func validConfig(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !isNameChar(c) && c != '-' {
			return false
		}
	}
	return true
}

// validSection accepts a section name or @TYPE[N] (N may be negative);
// package uci resolves it and rejects what it cannot find.
func validSection(s string) bool {
	if !strings.HasPrefix(s, "@") {
		return validName(s)
	}
	typ, idx, ok := strings.Cut(s[1:], "[")
	if !ok || !strings.HasSuffix(idx, "]") {
		return false
	}
	for _, c := range []byte(typ) {
		if !isNameChar(c) && c != '-' {
			return false
		}
	}
	num := strings.TrimPrefix(strings.TrimSuffix(idx, "]"), "-")
	if num == "" || len(num) > 6 {
		return false
	}
	for _, c := range []byte(num) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !isNameChar(c) {
			return false
		}
	}
	return true
}

func isNameChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
