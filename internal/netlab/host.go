package netlab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
)

// Host is one network namespace of a Lab.
type Host struct {
	lab  *Lab
	name string // logical name given to Lab.Host
	ns   string // namespace name
}

// Name returns the namespace name (for `ip netns exec` or log lines).
func (h *Host) Name() string { return h.ns }

// String returns the logical host name.
func (h *Host) String() string { return h.name }

// ip runs `ip -n NS args...`.
func (h *Host) ip(args ...string) (string, error) {
	return runTimeout(setupTimeout, "ip", append([]string{"-n", h.ns}, args...)...)
}

// mustIP is ip that fails the test.
func (h *Host) mustIP(args ...string) string {
	h.lab.t.Helper()
	out, err := h.ip(args...)
	if err != nil {
		h.lab.fatalf("host %s: %v", h.name, err)
	}
	return out
}

// Exec runs args inside the namespace (`ip netns exec NS args...`) and
// returns the combined output. The error names the command and holds its
// output. The command is killed after execTimeout.
func (h *Host) Exec(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), execTimeout)
	defer cancel()
	return h.ExecContext(ctx, args...)
}

// ExecContext is Exec bounded by ctx instead of the default timeout.
func (h *Host) ExecContext(ctx context.Context, args ...string) (string, error) {
	if len(args) == 0 || args[0] == "" {
		return "", fmt.Errorf("%w: host %s: Exec needs a command", ErrInvalid, h.name)
	}
	return run(ctx, "ip", append([]string{"netns", "exec", h.ns}, args...)...)
}

// MustExec is Exec that fails the test on error.
func (h *Host) MustExec(t testing.TB, args ...string) string {
	t.Helper()
	out, err := h.Exec(args...)
	if err != nil {
		t.Fatalf("netlab: host %s: %v", h.name, err)
	}
	return out
}

// Sysctl sets one sysctl inside the namespace, e.g.
// Sysctl("net.ipv6.conf.all.forwarding", "1").
func (h *Host) Sysctl(key, val string) {
	h.lab.t.Helper()
	if err := checkSysctl(key, val); err != nil {
		h.lab.fatalf("host %s: %v", h.name, err)
	}
	h.sysctls(key + "=" + val)
}

// sysctls sets several key=value pairs with one sysctl run.
func (h *Host) sysctls(kv ...string) {
	h.lab.t.Helper()
	args := append([]string{"netns", "exec", h.ns, "sysctl", "-q", "-w"}, kv...)
	if _, err := runTimeout(setupTimeout, "ip", args...); err != nil {
		h.lab.fatalf("host %s: %v", h.name, err)
	}
}

// checkSysctl keeps keys to sysctl's own syntax (dots or slashes between
// words) and values to one line, so that neither can smuggle options.
func checkSysctl(key, val string) error {
	if key == "" || strings.HasPrefix(key, "-") || strings.HasPrefix(key, ".") || strings.HasPrefix(key, "/") {
		return fmt.Errorf("%w: sysctl key %q", ErrInvalid, key)
	}
	for _, c := range []byte(key) {
		if !isWordByte(c) && c != '.' && c != '/' && c != '-' {
			return fmt.Errorf("%w: sysctl key %q: character %q not allowed", ErrInvalid, key, c)
		}
	}
	if strings.ContainsAny(val, "\n\x00") {
		return fmt.Errorf("%w: sysctl %s: value %q spans lines", ErrInvalid, key, val)
	}
	return nil
}

// Forwarding switches IPv4 and IPv6 forwarding on or off.
func (h *Host) Forwarding(on bool) {
	h.lab.t.Helper()
	v := "0"
	if on {
		v = "1"
	}
	h.sysctls("net.ipv4.ip_forward="+v, "net.ipv6.conf.all.forwarding="+v)
}

// Addr sets an address with prefix length ("10.0.0.1/24", "fd00::1/64") on
// ifname. It is idempotent (ip addr replace). IPv6 addresses skip DAD.
func (h *Host) Addr(ifname, cidr string) {
	h.lab.t.Helper()
	if err := checkIfName(ifname); err != nil {
		h.lab.fatalf("host %s: %v", h.name, err)
	}
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		h.lab.fatalf("host %s: Addr(%q, %q): %v: %v", h.name, ifname, cidr, ErrInvalid, err)
	}
	args := []string{"addr", "replace", p.String(), "dev", ifname}
	if p.Addr().Is6() {
		args = append([]string{"-6"}, append(args, "nodad")...)
	}
	h.mustIP(args...)
}

// routeVerbs are the ip-route subcommands Route passes through unchanged.
var routeVerbs = map[string]bool{"replace": true, "del": true, "delete": true, "change": true, "append": true, "prepend": true}

// Route changes the routing table. args are what follows `ip route`; when
// they start with a route instead of a verb (Route("default", "via",
// "10.0.0.1")) or with "add", the route is installed with "replace" so that
// repeating the call is harmless. IPv6 is selected when any argument is an
// IPv6 address or prefix.
func (h *Host) Route(args ...string) {
	h.lab.t.Helper()
	if len(args) == 0 {
		h.lab.fatalf("host %s: Route needs arguments", h.name)
	}
	switch {
	case args[0] == "add":
		args = append([]string{"replace"}, args[1:]...)
	case !routeVerbs[args[0]]:
		args = append([]string{"replace"}, args...)
	}
	full := append([]string{"route"}, args...)
	if anyIPv6(args) {
		full = append([]string{"-6"}, full...)
	}
	h.mustIP(full...)
}

func anyIPv6(args []string) bool {
	for _, a := range args {
		if p, err := netip.ParsePrefix(a); err == nil && p.Addr().Is6() {
			return true
		}
		if ad, err := netip.ParseAddr(a); err == nil && ad.Is6() && !ad.Is4In6() {
			return true
		}
	}
	return false
}

// ipLink is the part of `ip -j link show` and `ip -j addr show` we read.
type ipLink struct {
	IfName   string `json:"ifname"`
	Address  string `json:"address"`
	AddrInfo []struct {
		Family string `json:"family"`
		Local  string `json:"local"`
		Scope  string `json:"scope"`
	} `json:"addr_info"`
}

func (h *Host) showLink(what, ifname string) ipLink {
	h.lab.t.Helper()
	if err := checkIfName(ifname); err != nil {
		h.lab.fatalf("host %s: %v", h.name, err)
	}
	out := h.mustIP("-j", what, "show", "dev", ifname)
	var links []ipLink
	if err := json.Unmarshal([]byte(out), &links); err != nil || len(links) != 1 {
		h.lab.fatalf("host %s: %v: ip -j %s show dev %s: %q", h.name, ErrBadOutput, what, ifname, out)
	}
	return links[0]
}

// MAC returns the hardware address of ifname ("aa:bb:cc:dd:ee:ff").
func (h *Host) MAC(ifname string) string {
	h.lab.t.Helper()
	return h.showLink("link", ifname).Address
}

// LinkLocal returns the IPv6 link-local address of ifname without a zone
// ("fe80::1"). To reach it from a neighbour, add the neighbour's own
// interface as zone: peer.Ping(addr+"%eth0", 1).
func (h *Host) LinkLocal(ifname string) string {
	h.lab.t.Helper()
	for _, a := range h.showLink("addr", ifname).AddrInfo {
		if a.Family == "inet6" && a.Scope == "link" {
			return a.Local
		}
	}
	h.lab.fatalf("host %s: %s has no IPv6 link-local address", h.name, ifname)
	return ""
}

// HasCommand reports whether name is an executable on PATH (namespaces
// share the file system with the test).
func HasCommand(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}
