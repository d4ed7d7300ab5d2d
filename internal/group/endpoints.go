package group

import (
	"net/netip"
	"strings"

	"github.com/ipopd/ipopd/uci/ipopconf"
)

// Bootstrap endpoints as people type them: "host:port" where host is an
// IPv4 address, an IPv6 address in brackets or a DNS name (a router
// behind dynamic DNS), several separated by commas or white space.

// ParseEndpoints splits and checks a list of endpoints as typed into the
// LuCI Invite page or given to --endpoint: separated by commas or white
// space, each valid (ValidateEndpoint), at most MaxEndpoints; duplicates
// are dropped. An empty list is nil. Errors match ErrInvalidOption and
// say which endpoint is wrong and why.
func ParseEndpoints(s string) ([]string, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
	var out []string
	for _, f := range fields {
		if err := ValidateEndpoint(f); err != nil {
			return nil, err
		}
		dup := false
		for _, o := range out {
			if strings.EqualFold(o, f) {
				dup = true
			}
		}
		if !dup {
			out = append(out, f)
		}
	}
	if len(out) > MaxEndpoints {
		return nil, errorf(ErrInvalidOption, "%d endpoints; the limit is %d", len(out), MaxEndpoints)
	}
	return out, nil
}

// checkEndpointHost checks the host part of an endpoint: an IP address
// (IPv6 only in brackets, which SplitHostPort removed: bracketed tells
// whether they were there) or a DNS host name (ipopconf.HostnameError).
func checkEndpointHost(ep, host string, bracketed bool) error {
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Is6() && !a.Is4In6() && !bracketed {
			return errorf(ErrInvalidOption, "endpoint %q: write an IPv6 address in brackets, as [%s]:PORT", shorten(ep), host)
		}
		if a.Zone() != "" {
			return errorf(ErrInvalidOption, "endpoint %q: an address with a zone (%%%s) is not reachable from another router", shorten(ep), shorten(a.Zone()))
		}
		if a.IsUnspecified() || a.IsMulticast() {
			return errorf(ErrInvalidOption, "endpoint %q: %s is not an address a router can be reached at", shorten(ep), a)
		}
		return nil
	}
	if bracketed {
		return errorf(ErrInvalidOption, "endpoint %q: %q in brackets is not an IPv6 address", shorten(ep), shorten(host))
	}
	// The same rule as the UCI config's, which stores the endpoint
	// after the join: one that passed here but not there would be lost.
	if why := ipopconf.HostnameError(host); why != "" {
		return errorf(ErrInvalidOption, "endpoint %q: %s", shorten(ep), why)
	}
	return nil
}
