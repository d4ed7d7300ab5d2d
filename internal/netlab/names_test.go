package netlab

import (
	"errors"
	"strings"
	"testing"
)

func TestNSNameRoundTrip(t *testing.T) {
	for _, host := range []string{"r1", "h-1", "a_b", "X", strings.Repeat("z", maxHostName), "x1-2x3"} {
		name := nsName(4242, 17, host)
		pid, ok := parseNSName(name)
		if !ok || pid != 4242 {
			t.Errorf("parseNSName(%q) = %d, %v; want 4242, true", name, pid, ok)
		}
	}
}

func TestParseNSNameRejects(t *testing.T) {
	for _, name := range []string{
		"", "ipl", "ipl1x1", "ipl1x1-", "ipl0x1-a", "ipl01x1-a", "ipl1x01-a",
		"ipl1y1-a", "iplx1-a", "ipl1x-a", "ipl1x1-a/b", "ipl1x1-a b", "ipl1x1-a.b",
		"IPL1x1-a", "xipl1x1-a", "ipl99999999999x1-a", "ipl4294967296x1-a",
		"ipl1x1-" + strings.Repeat("z", maxHostName+1), "docker0", "cni-1234",
	} {
		if pid, ok := parseNSName(name); ok {
			t.Errorf("parseNSName(%q) = %d, true; want rejection", name, pid)
		}
	}
}

func TestCheckNames(t *testing.T) {
	tests := []struct {
		name   string
		check  func(string) error
		in     string
		wantOK bool
	}{
		{"host ok", checkHostName, "router-1", true},
		{"host empty", checkHostName, "", false},
		{"host space", checkHostName, "a b", false},
		{"host dot", checkHostName, "a.b", false},
		{"host slash", checkHostName, "../x", false},
		{"host long", checkHostName, strings.Repeat("a", maxHostName+1), false},
		{"if ok", checkIfName, "eth0", true},
		{"if vlan", checkIfName, "eth0.100", true},
		{"if 15", checkIfName, "abcdefghijklmno", true},
		{"if 16", checkIfName, "abcdefghijklmnop", false},
		{"if dot", checkIfName, ".", false},
		{"if dotdot", checkIfName, "..", false},
		{"if colon", checkIfName, "eth0:1", false},
		{"if slash", checkIfName, "a/b", false},
		{"if dash option", checkIfName, "-x", true}, // passed after "dev", never parsed as an option
		{"if empty", checkIfName, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check(tt.in)
			if (err == nil) != tt.wantOK {
				t.Fatalf("check(%q) = %v, want ok=%v", tt.in, err, tt.wantOK)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestRandomIfName(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		n, err := randomIfName()
		if err != nil {
			t.Fatal(err)
		}
		if len(n) != 10 || !strings.HasPrefix(n, "nl") || checkIfName(n) != nil {
			t.Fatalf("bad name %q", n)
		}
		if seen[n] {
			t.Fatalf("duplicate %q", n)
		}
		seen[n] = true
	}
}

func TestParseNetnsList(t *testing.T) {
	out := "ipl1x2-a (id: 3)\nfoo\n\n  ipl9x9-b  \n"
	got := parseNetnsList(out)
	want := []string{"ipl1x2-a", "foo", "ipl9x9-b"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestCheckSysctl(t *testing.T) {
	for _, tt := range []struct {
		key, val string
		ok       bool
	}{
		{"net.ipv4.ip_forward", "1", true},
		{"net/ipv4/conf/eth0.100/forwarding", "1", true},
		{"net.ipv4.ping_group_range", "0 2147483647", true},
		{"", "1", false},
		{"-a", "1", false},
		{"net.ipv4.ip_forward=1", "1", false},
		{"net.ipv4 ip_forward", "1", false},
		{"net.ipv4.ip_forward", "1\n2", false},
	} {
		if err := checkSysctl(tt.key, tt.val); (err == nil) != tt.ok {
			t.Errorf("checkSysctl(%q, %q) = %v, want ok=%v", tt.key, tt.val, err, tt.ok)
		}
	}
}
