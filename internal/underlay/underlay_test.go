package underlay

import (
	"net/netip"
	"slices"
	"testing"
)

func TestParseRule(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // String() of the rule; "" = an error
	}{
		{"eth0", "eth0"},
		{"!wan6", "!wan6"},
		{" ! eth1 ", "!eth1"},
		{"192.0.2.0/24", "192.0.2.0/24"},
		{"192.0.2.7/24", "192.0.2.0/24"},
		{"!10.0.0.0/8", "!10.0.0.0/8"},
		{"198.51.100.2", "198.51.100.2/32"},
		{"2001:db8::/32", "2001:db8::/32"},
		{"", ""},
		{"!", ""},
		{"a/b", ""},
		{"averyveryverylongname", ""},
		{"fe80::1%eth0", ""},
		{"eth 0", ""},
	} {
		r, err := ParseRule(tc.in)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("ParseRule(%q) = %v, want an error", tc.in, r)
		case tc.want != "" && err != nil:
			t.Errorf("ParseRule(%q): %v", tc.in, err)
		case tc.want != "" && r.String() != tc.want:
			t.Errorf("ParseRule(%q) = %q, want %q", tc.in, r.String(), tc.want)
		}
	}
}

func mustRules(t *testing.T, s ...string) []Rule {
	t.Helper()
	var out []Rule
	for _, x := range s {
		r, err := ParseRule(x)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func TestPath(t *testing.T) {
	f := &Filter{Overlay: []netip.Prefix{netip.MustParsePrefix("10.79.0.0/16"), netip.MustParsePrefix("192.168.50.0/24")}}
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"198.51.100.2", true},
		{"10.80.0.1", true},
		{"10.79.0.3", false},        // the group subnet: through the tunnel itself
		{"192.168.50.9", false},     // a prefix on the bridge
		{"::ffff:10.79.0.3", false}, // mapped forms are the same address
		{"0.0.0.0", false},
		{"224.0.0.1", false},
		{"255.255.255.255", false},
		{"169.254.1.1", false},
		{"fe80::1", false},
		{"2001:db8::1", true},
	} {
		if got := f.Path(netip.MustParseAddr(tc.addr)); got != tc.ok {
			t.Errorf("Path(%s) = %v, want %v", tc.addr, got, tc.ok)
		}
	}
	var none *Filter
	if !none.Path(netip.MustParseAddr("10.79.0.3")) {
		t.Error("a nil filter refused an address")
	}
}

func TestCandidates(t *testing.T) {
	ifaces := []Iface{
		{Name: "lo", Up: true, Addrs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}},
		{Name: "wan", Up: true, Addrs: []netip.Prefix{netip.MustParsePrefix("198.51.100.2/24"), netip.MustParsePrefix("2001:db8::2/64")}},
		{Name: "lan", Up: true, Addrs: []netip.Prefix{netip.MustParsePrefix("192.168.1.1/24")}},
		{Name: "ipop0", Up: true, Addrs: []netip.Prefix{netip.MustParsePrefix("10.79.0.3/16")}},
		{Name: "br-ipop", Up: true, Addrs: []netip.Prefix{netip.MustParsePrefix("10.79.0.4/16"), netip.MustParsePrefix("172.16.9.1/24")}},
		{Name: "wwan", Up: false, Addrs: []netip.Prefix{netip.MustParsePrefix("100.64.0.5/10")}},
		{Name: "vpn", Up: true, Addrs: []netip.Prefix{netip.MustParsePrefix("10.79.0.9/32")}}, // inside the subnet on another interface
	}
	subnet := netip.MustParsePrefix("10.79.0.0/16")
	overlay := OverlayPrefixes(ifaces, subnet, "ipop0", "br-ipop")
	if want := []netip.Prefix{subnet, netip.MustParsePrefix("172.16.9.0/24")}; !slices.Equal(overlay, want) {
		t.Fatalf("OverlayPrefixes = %v, want %v", overlay, want)
	}
	for _, tc := range []struct {
		name  string
		rules []string
		want  []string
	}{
		{"every underlay address", nil, []string{"192.168.1.1:4720", "198.51.100.2:4720"}},
		{"deny an interface", []string{"!lan"}, []string{"198.51.100.2:4720"}},
		{"allow list", []string{"wan"}, []string{"198.51.100.2:4720"}},
		{"allow a prefix", []string{"192.168.0.0/16"}, []string{"192.168.1.1:4720"}},
		{"first match wins", []string{"!192.168.1.1", "lan", "wan"}, []string{"198.51.100.2:4720"}},
		{"an allow rule cannot bring back the overlay", []string{"ipop0", "br-ipop", "10.0.0.0/8"}, nil},
	} {
		f := &Filter{Overlay: overlay, Rules: mustRules(t, tc.rules...)}
		var got []string
		for _, c := range Candidates(ifaces, f, 4720, "ipop0", "br-ipop") {
			got = append(got, c.String())
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: Candidates = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// FuzzParseRule: any string either fails with an error or gives a rule
// that reads back as itself.
func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"eth0", "!wan6", "192.0.2.0/24", "!10.0.0.0/8", "2001:db8::1", "", "!", "fe80::1%eth0", "br-lan.100"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRule(s)
		if err != nil {
			return
		}
		again, err := ParseRule(r.String())
		if err != nil || again != r {
			t.Fatalf("%q -> %q -> %v, %v", s, r.String(), again, err)
		}
	})
}
