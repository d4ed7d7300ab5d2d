package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ipopd/ipopd/internal/netlab"
)

// The bench's measurement primitives: iperf3 and ping runs between two
// namespaces, and a daemon's CPU time and memory from /proc. Each tool's
// output goes through a pure parse function (fuzzed in bench_parse_test.go).

// errToolOutput: iperf3, ping, /proc or a tunnel daemon printed something
// that does not have the shape the bench reads.
var errToolOutput = errors.New("bench: unexpected tool output")

const (
	// iperfSeconds and iperfOmit: every TCP run lasts omit+seconds; the
	// first second (slow start, ARP, a tunnel's first handshake packets)
	// is left out of the rate.
	iperfSeconds = "4"
	iperfOmit    = "1"
	// udpSeconds: the 64-byte UDP flood. No omit period: iperf3 3.12 resets
	// the byte count after it but not the packet sequence, which makes
	// the received-packet figure inconsistent.
	udpSeconds = "3"
	// serverReady bounds the wait for iperf3 -s to listen.
	serverReady = 5 * time.Second
	// serverExit bounds the wait for a one-shot iperf3 server to exit after
	// its client finished.
	serverExit = 5 * time.Second
	// userHZ converts /proc/PID/stat clock ticks to seconds. The kernel
	// exports USER_HZ = 100 on every architecture Linux runs on (it is
	// part of the ABI, independent of CONFIG_HZ).
	userHZ = 100
)

// iperfResult is what one iperf3 client run reports.
type iperfResult struct {
	// bps is the receiver's rate over the measured (non-omitted) seconds.
	bps float64
	// totalBytes is what the client moved in every interval, the omitted
	// ones included: the traffic the daemons' CPU time was spent on.
	totalBytes float64
	// rxPPS is, for UDP, the datagrams the server received per second.
	rxPPS float64
}

// iperfJSON is the part of iperf3 -J output the bench reads.
type iperfJSON struct {
	Error     string `json:"error"`
	Intervals []struct {
		Sum struct {
			Bytes float64 `json:"bytes"`
		} `json:"sum"`
	} `json:"intervals"`
	End struct {
		SumReceived struct {
			Seconds     float64 `json:"seconds"`
			Bytes       float64 `json:"bytes"`
			Bps         float64 `json:"bits_per_second"`
			Packets     float64 `json:"packets"`
			LostPackets float64 `json:"lost_packets"`
		} `json:"sum_received"`
	} `json:"end"`
}

// parseIperf reads an iperf3 -J client report. For UDP runs it computes the
// received packet rate: packets (the highest sequence number the server
// saw) minus lost packets (the gaps), over the seconds.
func parseIperf(out []byte, udp bool) (iperfResult, error) {
	var j iperfJSON
	if err := json.Unmarshal(out, &j); err != nil {
		return iperfResult{}, fmt.Errorf("%w: iperf3 -J: %v", errToolOutput, err)
	}
	if j.Error != "" {
		return iperfResult{}, fmt.Errorf("iperf3: %s", j.Error)
	}
	r := j.End.SumReceived
	if !finiteNonNeg(r.Seconds, r.Bytes, r.Bps, r.Packets, r.LostPackets) || r.Seconds == 0 {
		return iperfResult{}, fmt.Errorf("%w: iperf3 sum_received has no duration or a negative figure (seconds %v, bytes %v, bits/s %v)",
			errToolOutput, r.Seconds, r.Bytes, r.Bps)
	}
	res := iperfResult{bps: r.Bps}
	for _, iv := range j.Intervals {
		if !finiteNonNeg(iv.Sum.Bytes) {
			return iperfResult{}, fmt.Errorf("%w: iperf3 interval with %v bytes", errToolOutput, iv.Sum.Bytes)
		}
		res.totalBytes += iv.Sum.Bytes
	}
	if res.totalBytes == 0 {
		res.totalBytes = r.Bytes
	}
	if udp {
		if r.LostPackets > r.Packets {
			return iperfResult{}, fmt.Errorf("%w: iperf3 lost %v of %v packets", errToolOutput, r.LostPackets, r.Packets)
		}
		res.rxPPS = (r.Packets - r.LostPackets) / r.Seconds
	}
	if !finiteNonNeg(res.totalBytes, res.rxPPS) {
		return iperfResult{}, fmt.Errorf("%w: iperf3 figures are not finite (bytes %v, packets/s %v)", errToolOutput, res.totalBytes, res.rxPPS)
	}
	return res, nil
}

func finiteNonNeg(vs ...float64) bool {
	for _, v := range vs {
		if !(v >= 0) || math.IsInf(v, 1) {
			return false
		}
	}
	return true
}

// runIperf runs one iperf3 test: a one-shot server in server, the client
// in client against addr, with extra client args (-R, -P 4, -u ...).
func runIperf(client, server *netlab.Host, addr string, udp bool, args ...string) (iperfResult, error) {
	// --forceflush: the log file sees "Server listening" at once.
	srv := server.Start("iperf3-s", "iperf3", "-s", "-1", "--forceflush")
	if err := waitOutput(srv, "Server listening", serverReady); err != nil {
		_ = srv.Stop()
		return iperfResult{}, err
	}
	cmd := append([]string{"iperf3", "-c", addr, "-J", "--connect-timeout", "3000"}, args...)
	out, runErr := client.Exec(cmd...)
	select {
	case <-srv.Done():
	case <-time.After(serverExit):
		_ = srv.Stop()
	}
	res, err := parseIperf([]byte(out), udp)
	if err != nil {
		if runErr != nil {
			return iperfResult{}, fmt.Errorf("%s: %w (%v)", strings.Join(cmd, " "), err, runErr)
		}
		return iperfResult{}, fmt.Errorf("%s: %w", strings.Join(cmd, " "), err)
	}
	if runErr != nil {
		return iperfResult{}, runErr
	}
	return res, nil
}

// waitOutput waits until p's log holds substr; it fails when p exits first
// or within passes.
func waitOutput(p *netlab.Proc, substr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for !strings.Contains(p.Log(), substr) {
		select {
		case <-p.Done():
			return fmt.Errorf("%s exited (%v) before printing %q:\n%s", p, p.Wait(), substr, p.Log())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not print %q within %v:\n%s", p, substr, within, p.Log())
		}
	}
	return nil
}

// parsePingAvg returns the average round trip in milliseconds from the
// summary line of iputils ping ("rtt min/avg/max/mdev = a/b/c/d ms") or
// busybox ping ("round-trip min/avg/max = a/b/c ms").
func parsePingAvg(out string) (float64, error) {
	for _, line := range strings.Split(out, "\n") {
		names, rest, ok := strings.Cut(line, " = ")
		if !ok || !strings.Contains(names, "min/avg/max") {
			continue
		}
		// iputils may append ", pipe N" (replies outstanding at once).
		fields := strings.Fields(rest)
		if len(fields) < 2 || strings.TrimSuffix(fields[1], ",") != "ms" {
			return 0, fmt.Errorf("%w: ping summary %q: want milliseconds", errToolOutput, line)
		}
		f := strings.Split(fields[0], "/")
		if len(f) < 3 {
			return 0, fmt.Errorf("%w: ping summary %q: want min/avg/max", errToolOutput, line)
		}
		avg, err := strconv.ParseFloat(f[1], 64)
		if err != nil || !finiteNonNeg(avg) || avg > 1e7 {
			return 0, fmt.Errorf("%w: ping summary %q: bad average %q", errToolOutput, line, f[1])
		}
		return avg, nil
	}
	return 0, fmt.Errorf("%w: no min/avg/max summary in ping output %q", errToolOutput, out)
}

// pingAvg sends 50 echo requests 10 ms apart from h to addr and returns
// the average round trip in milliseconds.
func pingAvg(h *netlab.Host, addr string) (float64, error) {
	out, err := h.Exec("ping", "-c", "50", "-i", "0.01", "-q", "-W", "1", addr)
	if err != nil {
		return 0, err
	}
	return parsePingAvg(out)
}

// parseCPUSeconds returns utime+stime in seconds from /proc/PID/stat.
// The command name (field 2) may hold spaces and parentheses, so fields
// are counted from the last ')'.
func parseCPUSeconds(stat string) (float64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("%w: /proc stat %q has no command name", errToolOutput, stat)
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is the state (field 3); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("%w: /proc stat has %d fields after the command name, want at least 13", errToolOutput, len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 63)
	st, err2 := strconv.ParseUint(f[12], 10, 63)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%w: /proc stat utime %q stime %q", errToolOutput, f[11], f[12])
	}
	return (float64(ut) + float64(st)) / userHZ, nil
}

// parseStatusKB returns a "Name:   N kB" field of /proc/PID/status in kB.
func parseStatusKB(status, field string) (int64, error) {
	for _, l := range strings.Split(status, "\n") {
		rest, ok := strings.CutPrefix(l, field+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("%w: /proc status line %q: want N kB", errToolOutput, l)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%w: /proc status line %q: bad size", errToolOutput, l)
		}
		return n, nil
	}
	return 0, fmt.Errorf("%w: /proc status has no %s line", errToolOutput, field)
}

// cpuSeconds is the summed user+system CPU time of pids so far.
func cpuSeconds(pids []int) (float64, error) {
	var sum float64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return 0, fmt.Errorf("bench: CPU time of pid %d: %w", pid, err)
		}
		s, err := parseCPUSeconds(string(b))
		if err != nil {
			return 0, fmt.Errorf("pid %d: %w", pid, err)
		}
		sum += s
	}
	return sum, nil
}

// maxStatusMiB is the largest value of a /proc/PID/status kB field (VmRSS,
// VmHWM) among pids, in MiB.
func maxStatusMiB(pids []int, field string) (float64, error) {
	var most int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return 0, fmt.Errorf("bench: %s of pid %d: %w", field, pid, err)
		}
		kb, err := parseStatusKB(string(b), field)
		if err != nil {
			return 0, fmt.Errorf("pid %d: %w", pid, err)
		}
		most = max(most, kb)
	}
	return float64(most) / 1024, nil
}

// rssSampler polls the VmRSS of a set of processes while a transfer runs
// and keeps the largest value seen for any one of them.
type rssSampler struct {
	stop chan struct{}
	done chan struct{}
	peak float64 // MiB; written by the sampler goroutine before done closes
	err  error
}

// rssSampleEvery: often enough to catch a burst of buffer growth, rare
// enough not to steal measurable CPU from the transfer.
const rssSampleEvery = 50 * time.Millisecond

func sampleRSS(pids []int) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	// One goroutine per sampler; stopPeak waits for it.
	go func() {
		defer close(s.done)
		tick := time.NewTicker(rssSampleEvery)
		defer tick.Stop()
		for {
			m, err := maxStatusMiB(pids, "VmRSS")
			if err != nil {
				s.err = err
				return
			}
			s.peak = max(s.peak, m)
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// stopPeak ends the sampling and returns the peak in MiB.
func (s *rssSampler) stopPeak() (float64, error) {
	close(s.stop)
	<-s.done
	return s.peak, s.err
}
