package group

import (
	"errors"
	"strings"
	"testing"
)

func TestParseEndpoints(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		frag string // error, if any
	}{
		{"", nil, ""},
		{" , ", nil, ""},
		{"203.0.113.7:6464", []string{"203.0.113.7:6464"}, ""},
		{"home.example.net:6464, 203.0.113.7:6464\n[2001:db8::1]:6464", []string{"home.example.net:6464", "203.0.113.7:6464", "[2001:db8::1]:6464"}, ""},
		{"a.example:1 A.EXAMPLE:1", []string{"a.example:1"}, ""},
		{"myrouter.duckdns.org.:6464", []string{"myrouter.duckdns.org.:6464"}, ""},
		// As in /etc/config/ipop, where the endpoint goes after the join.
		{"my_router.duckdns.org:6464", nil, "letters, digits, '-' and '.' only"},
		{"home.example.net", nil, "not host:port"},
		{"home.example.net:0", nil, "not a number in 1..65535"},
		{"home.example.net:65536", nil, "not a number in 1..65535"},
		{"home.example.net:064", nil, "not a number"},
		{"2001:db8::1:6464", nil, "not host:port"},
		{"[home.example.net]:6464", nil, "in brackets is not an IPv6 address"},
		{"-bad.example:1", nil, "cannot start or end with '-'"},
		{"a..b:1", nil, "labels are 1-63 characters"},
		{"ho$t:1", nil, "letters, digits, '-' and '.' only"},
		{"0.0.0.0:6464", nil, "is not an address a router can be reached at"},
		{"[fe80::1%eth0]:6464", nil, "zone"},
		{func() string {
			var l []string
			for i := range 17 {
				l = append(l, "h"+strings.Repeat("x", i)+":1")
			}
			return strings.Join(l, ",")
		}(), nil, "17 endpoints; the limit is 16"},
		{strings.Repeat("a", 64) + ".example:1", nil, "labels are 1-63 characters"},
	}
	for _, tt := range tests {
		got, err := ParseEndpoints(tt.in)
		if tt.frag != "" {
			if err == nil || !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), tt.frag) {
				t.Errorf("ParseEndpoints(%q) = %q, %v; want an error with %q", tt.in, got, err, tt.frag)
			}
			continue
		}
		if err != nil || strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("ParseEndpoints(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// FuzzParseEndpoints: whatever is typed, the parser answers without
// panicking; what it accepts is valid, goes into a token and comes back
// out of it unchanged, and parses again to itself.
func FuzzParseEndpoints(f *testing.F) {
	for _, s := range []string{"203.0.113.7:6464", "home.example.net:6464, [2001:db8::1]:6464", "a:1 b:2\tc:3", "[::1]:1", "x:0", "[x]:1", "a..b:1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		eps, err := ParseEndpoints(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidOption) {
				t.Fatalf("error %q does not match ErrInvalidOption", err)
			}
			return
		}
		again, err := ParseEndpoints(strings.Join(eps, ","))
		if err != nil || strings.Join(again, ",") != strings.Join(eps, ",") {
			t.Fatalf("%q parses to %q, which parses to %q, %v", s, eps, again, err)
		}
		if len(eps) == 0 {
			return
		}
		tok := testToken()
		tok.Endpoints = eps
		back, err := DecodeToken(tok.Encode())
		if err != nil || strings.Join(back.Endpoints, ",") != strings.Join(eps, ",") {
			t.Fatalf("endpoints %q do not survive a token: %q, %v", eps, back.Endpoints, err)
		}
	})
}
