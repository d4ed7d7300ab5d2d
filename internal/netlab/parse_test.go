package netlab

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestParseEcho(t *testing.T) {
	tests := []struct {
		in      string
		addr    string
		msg     string
		wantErr bool
	}{
		{"172.16.0.1:4000\nhello\n", "172.16.0.1:4000", "hello", false},
		{"[fd00::1]:7\nmulti\nline\n", "[fd00::1]:7", "multi\nline", false},
		{"10.0.0.1:1\n", "10.0.0.1:1", "", false},
		{"10.0.0.1:1", "", "", true},
		{"nonsense\nx", "", "", true},
		{"10.0.0.1\nx", "", "", true},
		{"", "", "", true},
	}
	for _, tt := range tests {
		ap, msg, err := ParseEcho(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseEcho(%q) err = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrBadOutput) {
				t.Errorf("ParseEcho(%q) error %v does not wrap ErrBadOutput", tt.in, err)
			}
			continue
		}
		if ap != netip.MustParseAddrPort(tt.addr) || msg != tt.msg {
			t.Errorf("ParseEcho(%q) = %v, %q; want %s, %q", tt.in, ap, msg, tt.addr, tt.msg)
		}
	}
}

func TestPingRTTs(t *testing.T) {
	iputils := `PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.
64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=41.3 ms
64 bytes from 10.0.0.2: icmp_seq=2 ttl=64 time=40.9 ms

--- 10.0.0.2 ping statistics ---
2 packets transmitted, 2 received, 0% packet loss, time 1001ms
rtt min/avg/max/mdev = 40.900/41.100/41.300/0.200 ms`
	busybox := `PING 10.0.0.2 (10.0.0.2): 56 data bytes
64 bytes from 10.0.0.2: seq=0 ttl=64 time=0.071 ms

--- 10.0.0.2 ping statistics ---
1 packets transmitted, 1 packets received, 0% packet loss
round-trip min/avg/max = 0.071/0.071/0.071 ms`
	got, err := PingRTTs(iputils)
	if err != nil || len(got) != 2 || got[0] != 41300*time.Microsecond || got[1] != 40900*time.Microsecond {
		t.Fatalf("iputils: %v, %v", got, err)
	}
	got, err = PingRTTs(busybox)
	if err != nil || len(got) != 1 || got[0] != 71*time.Microsecond {
		t.Fatalf("busybox: %v, %v", got, err)
	}
	for _, bad := range []string{"", "no replies", "x time=abc ms", "x time=5 s", "x time=-1 ms", "x time=1"} {
		if _, err := PingRTTs(bad); !errors.Is(err, ErrBadOutput) {
			t.Errorf("PingRTTs(%q) err = %v, want ErrBadOutput", bad, err)
		}
	}
}

func TestNATRuleset(t *testing.T) {
	none, err := natRuleset("wan0", None)
	if err != nil || strings.Count(none, "table ip ipopd_nat") != 2 || !strings.Contains(none, "delete table ip ipopd_nat") || strings.Contains(none, "masquerade") {
		t.Fatalf("None ruleset %q, %v", none, err)
	}
	tests := []struct {
		kind NATKind
		want []string
		not  []string
	}{
		{PortRestricted, []string{`oifname "wan0" masquerade` + "\n", `iifname "wan0" drop`, `ct state established,related accept`}, []string{"fully-random", "fullcone"}},
		{Symmetric, []string{`oifname "wan0" masquerade fully-random`, `iifname "wan0" drop`}, []string{"fullcone"}},
		{EndpointIndependent, []string{`oifname "wan0" masquerade` + "\n", "map fullcone", "dnat ip to udp dport map @fullcone", "ct direction original ct status snat", "ct status dnat accept"}, []string{"fully-random"}},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			s, err := natRuleset("wan0", tt.kind)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(s, none) {
				t.Errorf("ruleset does not first replace the old table:\n%s", s)
			}
			for _, w := range tt.want {
				if !strings.Contains(s, w) {
					t.Errorf("ruleset lacks %q:\n%s", w, s)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(s, n) {
					t.Errorf("ruleset has %q:\n%s", n, s)
				}
			}
		})
	}
	if _, err := natRuleset("wan0", NATKind(99)); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown kind: err = %v", err)
	}
	if _, err := natRuleset(`wan0" accept`, PortRestricted); !errors.Is(err, ErrInvalid) {
		t.Errorf("hostile interface name: err = %v", err)
	}
	if NATKind(99).String() != "NATKind(99)" || Symmetric.String() != "Symmetric" {
		t.Error("String")
	}
}

func TestImpairmentCheck(t *testing.T) {
	for _, tt := range []struct {
		im Impairment
		ok bool
	}{
		{Impairment{}, true},
		{Impairment{Delay: time.Millisecond, Jitter: time.Millisecond, Loss: 1, Queue: 5}, true},
		{Impairment{Delay: -1}, false},
		{Impairment{Jitter: -1}, false},
		{Impairment{Loss: 1.01}, false},
		{Impairment{Loss: -0.1}, false},
		{Impairment{Queue: -1}, false},
	} {
		if err := tt.im.check(); (err == nil) != tt.ok {
			t.Errorf("%+v: err = %v, want ok=%v", tt.im, err, tt.ok)
		}
	}
}

func TestCmdlineAndTail(t *testing.T) {
	if got := cmdline("ip", []string{"netns", "exec", "n", "sh", "-c", "echo a b", ""}); got != `ip netns exec n sh -c "echo a b" ""` {
		t.Errorf("cmdline = %s", got)
	}
	if got := tail("a\nb\nc\n", 2); got != "... (1 lines skipped)\nb\nc" {
		t.Errorf("tail = %q", got)
	}
	if got := tail("a\n", 2); got != "a" {
		t.Errorf("tail = %q", got)
	}
}

func TestAnyIPv6(t *testing.T) {
	if anyIPv6([]string{"default", "via", "10.0.0.1"}) || !anyIPv6([]string{"default", "via", "fd00::1"}) || !anyIPv6([]string{"fd00:1::/64", "dev", "eth0"}) {
		t.Error("anyIPv6")
	}
}
