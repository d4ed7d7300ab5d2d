package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/netlab"
)

// TestBenchThroughput is make bench's end-to-end half (IPOP_BENCH=1): iperf3
// TCP through ipopd between two LAN hosts and over the raw veth underlay
// between the routers, in one run, with the ratio, ipopd's CPU seconds per
// GB carried and each daemon's peak RSS.
func TestBenchThroughput(t *testing.T) {
	if os.Getenv("IPOP_BENCH") == "" {
		t.Skip("benchmark: run with IPOP_BENCH=1 (make bench)")
	}
	if !netlab.HasCommand("iperf3") {
		t.Skip("needs iperf3")
	}
	w := newWorld(t)
	a, b := w.addSite(), w.addSite()
	for _, s := range []*site{a, b} {
		s.options["log_level"] = "info"
		s.options["keepalive"] = "5"
	}
	w.provision()
	w.startAll()
	a.host.WaitPing(t, b.lanIP, 15*time.Second)

	dur := "10"
	type run struct {
		name       string
		client     *netlab.Host
		server     *netlab.Host
		addr       string
		args       []string
		throughTun bool
	}
	runs := []run{
		{"raw veth, 1 stream", a.router, b.router, b.wanIP, nil, false},
		{"ipopd, 1 stream", a.host, b.host, b.lanIP, nil, true},
		{"ipopd, 1 stream -R", a.host, b.host, b.lanIP, []string{"-R"}, true},
		// MSS small enough that every TCP frame fits one record: shows
		// what the overlay's own fragmentation costs.
		{"ipopd, 1 stream MSS 1360", a.host, b.host, b.lanIP, []string{"-M", "1360"}, true},
		{"raw veth, 4 streams", a.router, b.router, b.wanIP, []string{"-P", "4"}, false},
		{"ipopd, 4 streams", a.host, b.host, b.lanIP, []string{"-P", "4"}, true},
	}
	var report strings.Builder
	fmt.Fprintf(&report, "\n%-22s %12s %10s %10s\n", "run", "Gbit/s", "GB", "CPU s/GB")
	results := map[string]float64{}
	for _, r := range runs {
		cpu0 := cpuSeconds(t, a) + cpuSeconds(t, b)
		srv := r.server.Start("iperf3-s", "iperf3", "-s", "-1")
		time.Sleep(300 * time.Millisecond)
		out, err := r.client.Exec(append([]string{"iperf3", "-c", r.addr, "-t", dur, "-J"}, r.args...)...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", r.name, err, out)
		}
		_ = srv.Wait()
		var res struct {
			End struct {
				SumReceived struct {
					Bytes float64 `json:"bytes"`
					Bps   float64 `json:"bits_per_second"`
				} `json:"sum_received"`
			} `json:"end"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%s: iperf3 json: %v", r.name, err)
		}
		gb := res.End.SumReceived.Bytes / 1e9
		gbps := res.End.SumReceived.Bps / 1e9
		results[r.name] = gbps
		cpuPerGB := "-"
		if r.throughTun {
			cpuPerGB = fmt.Sprintf("%.2f", (cpuSeconds(t, a)+cpuSeconds(t, b)-cpu0)/gb)
		}
		fmt.Fprintf(&report, "%-22s %12.3f %10.2f %10s\n", r.name, gbps, gb, cpuPerGB)
	}
	fmt.Fprintf(&report, "ratio ipopd/raw, 1 stream:  %.3f\n", results["ipopd, 1 stream"]/results["raw veth, 1 stream"])
	fmt.Fprintf(&report, "ratio ipopd/raw, 4 streams: %.3f\n", results["ipopd, 4 streams"]/results["raw veth, 4 streams"])
	for _, s := range []*site{a, b} {
		fmt.Fprintf(&report, "peak RSS %s: %.1f MiB\n", s.name, float64(statusKB(t, s, "VmHWM"))/1024)
	}
	t.Log(report.String())
}

// cpuSeconds is the daemon's user+system CPU time so far.
func cpuSeconds(t *testing.T, s *site) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.proc.Pid()))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name (which may hold spaces) start at ')'.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

// statusKB reads a kB field of /proc/PID/status.
func statusKB(t *testing.T, s *site, field string) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.proc.Pid()))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field+":") {
			n, _ := strconv.Atoi(strings.Fields(l)[1])
			return n
		}
	}
	return 0
}
