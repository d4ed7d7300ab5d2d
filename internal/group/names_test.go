package group

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"home", true},
		{"a", true},
		{"0", true},
		{"Router-1.attic_2", true},
		{strings.Repeat("x", 63), true},
		{"", false},
		{strings.Repeat("x", 64), false},
		{"-a", false},
		{".a", false},
		{"_a", false},
		{"a b", false},
		{"a/b", false},
		{"a\nb", false},
		{"é", false},
		{"a:b", false},
	}
	for _, tt := range tests {
		err := ValidateName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateName(%q) = %v, want ok %t", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidateName(%q) error %v is not ErrInvalidName", tt.name, err)
		}
	}
}

func TestParseSubnet(t *testing.T) {
	tests := []struct {
		in, want string // want "" = error
	}{
		{"10.77.0.0/16", "10.77.0.0/16"},
		{" 10.77.9.9/16 ", "10.77.0.0/16"},
		{"10.0.0.0/8", "10.0.0.0/8"},
		{"192.168.50.0/30", "192.168.50.0/30"},
		{"100.64.0.0/10", "100.64.0.0/10"},
		{"10.0.0.0/7", ""},
		{"10.0.0.0/31", ""},
		{"10.0.0.1/32", ""},
		{"10.0.0.0", ""},
		{"", ""},
		{"fd00::/64", ""},
		{"::ffff:10.0.0.0/104", ""},
		{"127.0.0.0/8", ""},
		{"169.254.0.0/16", ""},
		{"224.0.0.0/8", ""},
		{"0.0.0.0/8", ""},
		{"250.0.0.0/8", ""},
	}
	for _, tt := range tests {
		p, err := ParseSubnet(tt.in)
		if tt.want == "" {
			if err == nil || !errors.Is(err, ErrInvalidSubnet) {
				t.Errorf("ParseSubnet(%q) = %v, %v; want ErrInvalidSubnet", tt.in, p, err)
			}
			continue
		}
		if err != nil || p.String() != tt.want {
			t.Errorf("ParseSubnet(%q) = %v, %v; want %s", tt.in, p, err, tt.want)
		}
	}
}

func TestCheckHostAddress(t *testing.T) {
	subnet := netip.MustParsePrefix("10.77.0.0/16")
	tests := []struct {
		addr string
		ok   bool
	}{
		{"10.77.0.1", true},
		{"10.77.255.254", true},
		{"10.77.0.0", false},
		{"10.77.255.255", false},
		{"10.78.0.1", false},
		{"::ffff:10.77.0.1", false}, // callers unmap first
		{"", false},
	}
	for _, tt := range tests {
		var a netip.Addr
		if tt.addr != "" {
			a = netip.MustParseAddr(tt.addr)
		}
		if err := checkHostAddress(subnet, a); (err == nil) != tt.ok {
			t.Errorf("checkHostAddress(%q) = %v, want ok %t", tt.addr, err, tt.ok)
		}
	}
	if got := broadcastAddr(netip.MustParsePrefix("10.9.9.4/30")); got != netip.MustParseAddr("10.9.9.7") {
		t.Errorf("broadcast of 10.9.9.4/30 = %s", got)
	}
}

func TestCheckLocalOverlap(t *testing.T) {
	subnet := netip.MustParsePrefix("10.77.0.0/16")
	tests := []struct {
		local []string
		frag  string // "" = no overlap
	}{
		{[]string{"192.168.1.1/24", "fe80::1/64", "127.0.0.1/8"}, ""},
		{[]string{"10.76.255.1/24", "10.78.0.1/24"}, ""},
		{[]string{"10.77.200.1/24"}, "10.77.200.1/24"},
		{[]string{"10.1.2.3/8"}, "10.1.2.3/8"},
		{[]string{"10.77.0.5/32"}, "10.77.0.5/32"},
		{[]string{"::ffff:10.77.1.1/120"}, "10.77.1.1/24"},
	}
	for _, tt := range tests {
		var ps []netip.Prefix
		for _, s := range tt.local {
			ps = append(ps, netip.MustParsePrefix(s))
		}
		err := checkLocalOverlap(subnet, func() ([]netip.Prefix, error) { return ps, nil })
		if tt.frag == "" {
			if err != nil {
				t.Errorf("%v: %v", tt.local, err)
			}
			continue
		}
		if !errors.Is(err, ErrSubnetOverlap) || !strings.Contains(err.Error(), tt.frag) {
			t.Errorf("%v: %v, want overlap naming %s", tt.local, err, tt.frag)
		}
	}
}

func TestInterfacePrefixes(t *testing.T) {
	ps, err := InterfacePrefixes()
	if err != nil {
		t.Skipf("no interface addresses here: %v", err)
	}
	for _, p := range ps {
		if !p.IsValid() || p.Addr().Is4In6() {
			t.Errorf("interface prefix %v", p)
		}
	}
}
