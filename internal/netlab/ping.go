package netlab

import (
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pingCommand returns the ping to use: iputils ping when installed, else
// busybox's. Both understand -c, -W and IPv6 literals with a zone.
func pingCommand() ([]string, error) {
	if p, err := exec.LookPath("ping"); err == nil {
		return []string{p}, nil
	}
	if p, err := exec.LookPath("busybox"); err == nil {
		return []string{p, "ping"}, nil
	}
	return nil, fmt.Errorf("%w: neither ping nor busybox is installed", ErrCommand)
}

// Ping sends count echo requests to addr (an IPv4 or IPv6 literal, with a
// zone for link-local: "fe80::1%eth0"), one per second, and waits at most
// one second for the last reply. It returns ping's output and an error when
// no reply arrived.
func (h *Host) Ping(addr string, count int) (string, error) {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return "", fmt.Errorf("%w: ping address %q: %v", ErrInvalid, addr, err)
	}
	if count < 1 {
		return "", fmt.Errorf("%w: ping count %d", ErrInvalid, count)
	}
	cmd, err := pingCommand()
	if err != nil {
		return "", err
	}
	args := append(cmd, "-c", strconv.Itoa(count), "-W", "1")
	if a.Is6() && !a.Is4In6() {
		args = append(args, "-6")
	}
	// busybox ping rejects "addr%zone"; both pings take the zone as -I.
	if zone := a.Zone(); zone != "" {
		if err := checkIfName(zone); err != nil {
			return "", fmt.Errorf("ping address %q: %w", addr, err)
		}
		args = append(args, "-I", zone)
		a = a.WithZone("")
	}
	return h.Exec(append(args, a.String())...)
}

// WaitPing pings addr once per try until a reply arrives, failing the test
// with the last output after timeout.
func (h *Host) WaitPing(t testing.TB, addr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out, err := h.Ping(addr, 1)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("netlab: host %s: no ping reply from %s within %v: %v\n%s", h.name, addr, timeout, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// PingRTTs returns the round-trip times of every reply line ("... time=41.2
// ms") in ping output, as printed by iputils and busybox ping.
func PingRTTs(out string) ([]time.Duration, error) {
	var rtts []time.Duration
	for _, line := range strings.Split(out, "\n") {
		_, after, ok := strings.Cut(line, " time=")
		if !ok {
			continue
		}
		num, unit, ok := strings.Cut(strings.TrimSpace(after), " ")
		if !ok || strings.TrimSpace(unit) != "ms" {
			return nil, fmt.Errorf("%w: ping line %q: want time=N ms", ErrBadOutput, line)
		}
		ms, err := strconv.ParseFloat(num, 64)
		if err != nil || !(ms >= 0 && ms <= 1e7) {
			return nil, fmt.Errorf("%w: ping line %q: bad time %q", ErrBadOutput, line, num)
		}
		rtts = append(rtts, time.Duration(ms*float64(time.Millisecond)))
	}
	if len(rtts) == 0 {
		return nil, fmt.Errorf("%w: no reply times in ping output %q", ErrBadOutput, out)
	}
	return rtts, nil
}
