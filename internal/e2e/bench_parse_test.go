package e2e

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// Tests of the bench's parsers and report, without namespaces or tools:
// they run in every `go test`, root or not.

const iperfTCPSample = `{"start":{},"intervals":[
 {"streams":[],"sum":{"start":0,"end":1,"seconds":1,"bytes":1000000000,"omitted":true}},
 {"streams":[],"sum":{"start":0,"end":1,"seconds":1,"bytes":500000000,"omitted":false}}],
 "end":{"sum_sent":{"seconds":1,"bytes":500000000,"bits_per_second":4e9},
 "sum_received":{"seconds":1.01,"bytes":499000000,"bits_per_second":3.95e9}}}`

const iperfUDPSample = `{"intervals":[{"sum":{"bytes":6400000,"packets":100000}}],
 "end":{"sum_received":{"seconds":2,"bytes":6000000,"bits_per_second":2.4e7,"packets":100000,"lost_packets":6250}}}`

func TestParseIperf(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		udp     bool
		want    iperfResult
		wantErr string
	}{
		{name: "tcp", in: iperfTCPSample, want: iperfResult{bps: 3.95e9, totalBytes: 1.5e9}},
		{name: "udp", in: iperfUDPSample, udp: true, want: iperfResult{bps: 2.4e7, totalBytes: 6.4e6, rxPPS: 46875}},
		{name: "no intervals", in: `{"end":{"sum_received":{"seconds":2,"bytes":10,"bits_per_second":40}}}`, want: iperfResult{bps: 40, totalBytes: 10}},
		{name: "iperf error", in: `{"error":"unable to connect to server: Connection refused"}`, wantErr: "Connection refused"},
		{name: "not json", in: "iperf3: error - the server is busy", wantErr: "iperf3 -J"},
		{name: "no duration", in: `{"end":{"sum_received":{"seconds":0,"bytes":10}}}`, wantErr: "no duration"},
		{name: "negative", in: `{"end":{"sum_received":{"seconds":1,"bytes":-1}}}`, wantErr: "negative"},
		{name: "more lost than sent", in: `{"end":{"sum_received":{"seconds":1,"packets":5,"lost_packets":6}}}`, udp: true, wantErr: "lost 6 of 5"},
		{name: "overflowing sum", in: `{"intervals":[{"sum":{"bytes":1e308}},{"sum":{"bytes":1e308}}],"end":{"sum_received":{"seconds":1}}}`, wantErr: "not finite"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseIperf([]byte(tc.in), tc.udp)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParsePingAvg(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     float64
		wantErr  bool
	}{
		{name: "iputils", in: "--- 10.0.0.2 ping statistics ---\n50 packets transmitted, 50 received, 0% packet loss, time 540ms\nrtt min/avg/max/mdev = 0.031/0.047/0.090/0.011 ms\n", want: 0.047},
		{name: "iputils pipe", in: "rtt min/avg/max/mdev = 0.122/4.950/92.699/16.348 ms, pipe 5\n", want: 4.95},
		{name: "busybox", in: "round-trip min/avg/max = 0.100/0.200/0.300 ms\n", want: 0.2},
		{name: "no summary", in: "50 packets transmitted, 0 received, 100% packet loss\n", wantErr: true},
		{name: "seconds", in: "rtt min/avg/max/mdev = 1/2/3/4 s\n", wantErr: true},
		{name: "short", in: "rtt min/avg/max = 1/2\n", wantErr: true},
		{name: "bad number", in: "rtt min/avg/max/mdev = 1/x/3/4 ms\n", wantErr: true},
		{name: "negative", in: "rtt min/avg/max/mdev = 1/-2/3/4 ms\n", wantErr: true},
		{name: "nan", in: "rtt min/avg/max/mdev = 1/NaN/3/4 ms\n", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parsePingAvg(tc.in)
			if tc.wantErr {
				if !errors.Is(err, errToolOutput) {
					t.Fatalf("got %v, %v; want errToolOutput", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

const procStatSample = "4242 (ipopd (x) y) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 130 0 0 20 0 9 0 12345 1000000 2000 18446744073709551615 1 1 0 0 0 0 0 0 2143420159 0 0 0 17 1 0 0 0 0 0\n"

const procStatusSample = "Name:\tipopd\nState:\tS (sleeping)\nVmHWM:\t   14336 kB\nVmRSS:\t    9216 kB\nThreads:\t9\n"

func TestParseProc(t *testing.T) {
	if got, err := parseCPUSeconds(procStatSample); err != nil || got != 3.8 {
		t.Fatalf("parseCPUSeconds = %v, %v; want 3.8 (250+130 ticks)", got, err)
	}
	for _, bad := range []string{"", "4242 ipopd S 1", "1 (x) S 1 2 3", "1 (x) S 1 1 1 1 1 1 1 1 1 1 -5 3 0"} {
		if _, err := parseCPUSeconds(bad); !errors.Is(err, errToolOutput) {
			t.Errorf("parseCPUSeconds(%q) = %v, want errToolOutput", bad, err)
		}
	}
	for _, tc := range []struct {
		field   string
		want    int64
		wantErr bool
	}{
		{field: "VmRSS", want: 9216},
		{field: "VmHWM", want: 14336},
		{field: "VmSwap", wantErr: true},
		{field: "Threads", wantErr: true}, // no kB unit
	} {
		got, err := parseStatusKB(procStatusSample, tc.field)
		if tc.wantErr != (err != nil) || got != tc.want {
			t.Errorf("parseStatusKB(%s) = %v, %v; want %v (error %v)", tc.field, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestParseUAPIReply(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"errno=0\n\n", true},
		{"last_handshake_time_sec=0\nerrno=0\n\n", true},
		{"errno=-22\n\n", false},
		{"errno=x\n\n", false},
		{"\n", false},
		{"", false},
	} {
		if err := parseUAPIReply(tc.in); (err == nil) != tc.ok {
			t.Errorf("parseUAPIReply(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestWGConfig(t *testing.T) {
	a, err := newWGKeys()
	if err != nil {
		t.Fatal(err)
	}
	b, err := newWGKeys()
	if err != nil {
		t.Fatal(err)
	}
	if a.pub == b.pub || a.pub == [32]byte{} {
		t.Fatalf("key pairs not distinct: %x %x", a.pub, b.pub)
	}
	req := wgConfig(a, b, "172.31.0.2:51820", "10.201.0.2")
	for _, want := range []string{"set=1\n", "listen_port=51820\n", "endpoint=172.31.0.2:51820\n", "allowed_ip=10.201.0.2/32\n"} {
		if !strings.Contains(req, want) {
			t.Errorf("UAPI request lacks %q:\n%s", want, req)
		}
	}
	if !strings.HasSuffix(req, "\n\n") {
		t.Errorf("UAPI request does not end with an empty line:\n%q", req)
	}
}

func TestNebulaConfig(t *testing.T) {
	cfg := nebulaConfig("/k", 1, "10.202.0.2", "172.31.0.2", true)
	for _, want := range []string{"cert: /k/n1.crt", `"10.202.0.2": ["172.31.0.2:4242"]`, "am_lighthouse: false",
		"read_buffer: 4194304", "dev: nebb1", "  inbound:\n    - port: any"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("nebula config lacks %q:\n%s", want, cfg)
		}
	}
	if strings.Contains(nebulaConfig("/k", 2, "10.202.0.1", "172.31.0.1", false), "read_buffer") {
		t.Error("default nebula config sets socket buffers")
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	r := &benchRow{}
	r.add(colTCP1, math.NaN())
	r.add(colTCP1, math.Inf(1))
	if _, ok := r.median(colTCP1); ok {
		t.Error("NaN and Inf samples were recorded")
	}
}

// TestRenderReport checks the verdicts on made-up figures: ipopd twice as
// fast as wireguard-go but missing the nebula goal on 4 streams, and a
// peer that did not run.
func TestRenderReport(t *testing.T) {
	rows := map[string]*benchRow{}
	var order []*benchRow
	for _, n := range []string{rowRaw, rowIpopd, rowIpopdLAN, rowWG, rowNebula, rowNebulaLB} {
		rows[n] = &benchRow{name: n}
		order = append(order, rows[n])
	}
	set := func(row string, vals map[column]float64) {
		for c, v := range vals {
			rows[row].add(c, v)
		}
	}
	set(rowRaw, map[column]float64{colTCP1: 20, colTCPR: 18, colTCP4: 40, colPPS: 240e3})
	set(rowIpopd, map[column]float64{colTCP1: 6, colTCPR: 6, colTCP4: 0.8, colCPU: 2, colPPS: 70e3, colIdleRSS: 7, colPeakRSS: 12, colRSS4: 16, colRTT: 0.15})
	set(rowWG, map[column]float64{colTCP1: 3, colTCPR: 3, colTCP4: 3, colCPU: 4, colPPS: 38e3, colIdleRSS: 9, colPeakRSS: 300, colRTT: 0.1})
	set(rowNebula, map[column]float64{colTCP1: 0.5, colTCPR: 0.5, colTCP4: 0.6, colCPU: 20, colPPS: 64e3, colRTT: 0.2})
	rows[rowNebulaLB].note = "not installed"
	out := renderReport(order, rows, []float64{0.05}, 3)
	for _, want := range []string{
		"| raw veth (ceiling)",
		"nebula, large buffers * ",
		"* nebula, large buffers: not installed",
		"base RTT (raw veth, average of 50 pings): 0.050 ms",
		"| ipopd / wireguard-go",
		"TCP 1 >= 1.0x wireguard-go",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	verdicts := map[string]string{
		"TCP 1 >= 1.0x wireguard-go":          "met",
		"TCP 4 >= 1.5x nebula":                "MISSED",
		"CPU s/GB <= wireguard-go's":          "met",
		"64 B UDP rx pps >= nebula's":         "met",
		"idle RSS <= 8 MiB":                   "met",
		"RSS during the 4-stream run <= 15 M": "MISSED",
		"added RTT within 0.1 ms of wireguar": "met",
	}
	for _, line := range strings.Split(out, "\n") {
		for goal, want := range verdicts {
			if strings.Contains(line, goal) {
				if f := strings.Fields(line); f[len(f)-1] != want {
					t.Errorf("goal line %q: want %s", line, want)
				}
				delete(verdicts, goal)
			}
		}
	}
	for goal := range verdicts {
		t.Errorf("no goal line for %q:\n%s", goal, out)
	}
}

// Fuzz targets: no input panics a parser, and what a parser accepts is a
// finite, non-negative figure.

func FuzzBenchIperf(f *testing.F) {
	f.Add([]byte(iperfTCPSample), false)
	f.Add([]byte(iperfUDPSample), true)
	f.Fuzz(func(t *testing.T, in []byte, udp bool) {
		r, err := parseIperf(in, udp)
		if err == nil && !finiteNonNeg(r.bps, r.totalBytes, r.rxPPS) {
			t.Fatalf("accepted %q with figures %+v", in, r)
		}
	})
}

func FuzzBenchPing(f *testing.F) {
	f.Add("rtt min/avg/max/mdev = 0.031/0.047/0.090/0.011 ms\n")
	f.Add("round-trip min/avg/max = 0.100/0.200/0.300 ms\n")
	f.Fuzz(func(t *testing.T, in string) {
		v, err := parsePingAvg(in)
		if err == nil && (!finiteNonNeg(v) || v > 1e7) {
			t.Fatalf("accepted %q as %v ms", in, v)
		}
	})
}

func FuzzBenchProc(f *testing.F) {
	f.Add(procStatSample)
	f.Add(procStatusSample)
	f.Fuzz(func(t *testing.T, in string) {
		if v, err := parseCPUSeconds(in); err == nil && !finiteNonNeg(v) {
			t.Fatalf("stat %q parsed as %v s", in, v)
		}
		for _, field := range []string{"VmRSS", "VmHWM"} {
			if v, err := parseStatusKB(in, field); err == nil && v < 0 {
				t.Fatalf("status %q: %s parsed as %d kB", in, field, v)
			}
		}
	})
}

func FuzzBenchUAPI(f *testing.F) {
	f.Add("errno=0\n\n")
	f.Add("errno=-22\n\n")
	f.Fuzz(func(t *testing.T, in string) {
		if err := parseUAPIReply(in); err == nil && !strings.Contains(in, "errno=") {
			t.Fatalf("accepted %q without an errno line", in)
		}
	})
}

func TestFirstReplyAt(t *testing.T) {
	out := "64 bytes from 10.77.3.10: icmp_seq=1 ttl=64 time=1480 ms\n" +
		"64 bytes from 10.77.3.10: icmp_seq=9 ttl=64 time=2.10 ms\n" +
		"64 bytes from 10.77.3.10: icmp_seq=10 ttl=64 time=1.90 ms\n"
	got, ok := firstReplyAt(out, 100*time.Millisecond)
	if want := 802100 * time.Microsecond; !ok || got != want {
		t.Fatalf("firstReplyAt = %v, %v; want %v", got, ok, want)
	}
	if _, ok := firstReplyAt("no answer\n", time.Second); ok {
		t.Fatal("a reply found in output without one")
	}
}
