package netlab

import (
	"strings"
	"testing"
)

// FuzzParseNSName checks that the sweep's name parser never panics, only
// accepts names nsName could have made, and round-trips them.
func FuzzParseNSName(f *testing.F) {
	f.Add("ipl1234x1-r1")
	f.Add("ipl1x1-")
	f.Add("docker0")
	f.Fuzz(func(t *testing.T, name string) {
		pid, ok := parseNSName(name)
		if !ok {
			return
		}
		if pid <= 0 {
			t.Fatalf("accepted %q with pid %d", name, pid)
		}
		rest := strings.TrimPrefix(name, nsPrefix)
		_, rest, _ = strings.Cut(rest, "x")
		lab, host, _ := strings.Cut(rest, "-")
		if checkHostName(host) != nil {
			t.Fatalf("accepted %q with bad host %q", name, host)
		}
		var labN int
		for _, c := range lab {
			labN = labN*10 + int(c-'0')
		}
		if again := nsName(pid, labN, host); again != name {
			t.Fatalf("%q parsed and rebuilt as %q", name, again)
		}
	})
}

// FuzzParseEcho checks the udpecho reply parser never panics and that an
// accepted reply's address line round-trips.
func FuzzParseEcho(f *testing.F) {
	f.Add("172.16.0.1:4000\nhello\n")
	f.Add("[fe80::1%eth0]:1\n")
	f.Add("x")
	f.Fuzz(func(t *testing.T, out string) {
		ap, msg, err := ParseEcho(out)
		if err != nil {
			return
		}
		if !ap.IsValid() || strings.HasSuffix(msg, "\n") && !strings.HasSuffix(out, "\n\n") {
			t.Fatalf("ParseEcho(%q) = %v, %q", out, ap, msg)
		}
	})
}

// FuzzPingRTTs checks the ping output parser never panics and returns only
// sane durations.
func FuzzPingRTTs(f *testing.F) {
	f.Add("64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=41.3 ms\n")
	f.Add("64 bytes from 10.0.0.2: seq=0 ttl=64 time=0.071 ms")
	f.Add("time= ms")
	f.Fuzz(func(t *testing.T, out string) {
		rtts, err := PingRTTs(out)
		if err != nil {
			return
		}
		if len(rtts) == 0 {
			t.Fatal("no error and no RTTs")
		}
		for _, r := range rtts {
			if r < 0 {
				t.Fatalf("negative RTT %v from %q", r, out)
			}
		}
	})
}
