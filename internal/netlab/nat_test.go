package netlab

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

// natLab is the NAT test topology:
//
//	h 10.0.1.2 --eth0/lan0-- nat 10.0.1.1 | wan0 172.16.0.1 --+
//	                                                          | switch "inet" (bridge)
//	s1 172.16.0.11, s2 172.16.0.12, s3 172.16.0.13 -----------+
//
// s1 and s2 run udpecho servers on port 7000; s3 only probes.
type natLab struct {
	lab        *Lab
	h, nat     *Host
	s1, s2, s3 *Host
	echo       string // udpecho binary
}

func newNATLab(t *testing.T, kind NATKind) *natLab {
	lab := New(t)
	n := &natLab{lab: lab, echo: BuildTool(t, UDPEchoTool)}
	n.h, n.nat = lab.Host("h"), lab.Router("nat")
	inet := lab.Host("inet")
	n.s1, n.s2, n.s3 = lab.Host("s1"), lab.Host("s2"), lab.Host("s3")
	lab.Link(n.h, "eth0", n.nat, "lan0")
	lab.Link(n.nat, "wan0", inet, "p0")
	ports := []string{"p0"}
	for i, s := range []*Host{n.s1, n.s2, n.s3} {
		p := "p" + string(rune('1'+i))
		lab.Link(s, "eth0", inet, p)
		ports = append(ports, p)
		s.Addr("eth0", "172.16.0.1"+string(rune('1'+i))+"/24")
		if kind == None {
			// Without NAT the inside is reached by routing.
			s.Route("10.0.1.0/24", "via", "172.16.0.1")
		}
	}
	inet.Bridge("br0", ports...)
	n.h.Addr("eth0", "10.0.1.2/24")
	n.h.Route("default", "via", "10.0.1.1")
	n.nat.Addr("lan0", "10.0.1.1/24")
	n.nat.Addr("wan0", "172.16.0.1/24")
	lab.NAT(n.nat, "wan0", kind)
	for _, s := range []*Host{n.s1, n.s2} {
		p := s.Start("echo", n.echo, "-listen", "0.0.0.0:7000")
		p.WaitLog(t, "listening", 5*time.Second)
	}
	n.h.WaitPing(t, "172.16.0.11", 5*time.Second)
	return n
}

// send runs udpecho -send on from and returns the observed source address,
// or ok=false when no reply came.
func (n *natLab) send(t *testing.T, from *Host, dst string, port int, timeout time.Duration) (netip.AddrPort, bool) {
	t.Helper()
	out, err := from.Exec(n.echo, "-send", dst, "-from", itoa(port), "-msg", "m", "-timeout", timeout.String())
	if err != nil {
		return netip.AddrPort{}, false
	}
	ap, msg, err := ParseEcho(out)
	if err != nil || msg != "m" {
		t.Fatalf("udpecho output %q: %v", out, err)
	}
	return ap, true
}

// hole keeps h's socket on port open after talking to s1, so that others
// can try to reach the mapping; it returns the mapped address.
func (n *natLab) hole(t *testing.T, port int) netip.AddrPort {
	t.Helper()
	p := n.h.Start("hole", n.echo, "-send", "172.16.0.11:7000", "-from", itoa(port), "-msg", "open", "-linger", "60s")
	p.WaitLog(t, "\nopen\n", 5*time.Second)
	ap, _, err := ParseEcho(p.Log())
	if err != nil {
		t.Fatalf("hole: %v", err)
	}
	return ap
}

// probe reports whether `from` (sending from port) gets an answer from the
// mapped address, i.e. whether the NAT lets it in.
func (n *natLab) probe(t *testing.T, from *Host, port int, mapped netip.AddrPort) bool {
	t.Helper()
	_, ok := n.send(t, from, mapped.String(), port, time.Second)
	return ok
}

func itoa(n int) string { return strconv.Itoa(n) }

var natWAN = netip.MustParseAddr("172.16.0.1")

func TestNATNone(t *testing.T) {
	t.Parallel()
	n := newNATLab(t, None)
	o, ok := n.send(t, n.h, "172.16.0.11:7000", 4000, 2*time.Second)
	if !ok || o != netip.MustParseAddrPort("10.0.1.2:4000") {
		t.Fatalf("observed %v (ok %v), want the inside address unchanged", o, ok)
	}
}

func TestNATEndpointIndependent(t *testing.T) {
	t.Parallel()
	n := newNATLab(t, EndpointIndependent)
	o1, ok1 := n.send(t, n.h, "172.16.0.11:7000", 4000, 2*time.Second)
	o2, ok2 := n.send(t, n.h, "172.16.0.12:7000", 4000, 2*time.Second)
	want := netip.AddrPortFrom(natWAN, 4000)
	if !ok1 || !ok2 || o1 != want || o2 != want {
		t.Fatalf("mapping %v, %v; want %v towards both servers (endpoint-independent, port kept)", o1, o2, want)
	}
	mapped := n.hole(t, 4100)
	if !n.probe(t, n.s3, 5000, mapped) {
		t.Errorf("a third host could not reach the full-cone mapping %v", mapped)
	}
	if !n.probe(t, n.s1, 7002, mapped) {
		t.Errorf("another port of the contacted host could not reach the full-cone mapping %v", mapped)
	}
	// After a flush the mapping is gone until h sends again.
	n.lab.FlushConntrack(n.nat)
	if n.probe(t, n.s3, 5001, mapped) {
		t.Errorf("mapping %v still open after FlushConntrack", mapped)
	}
}

func TestNATPortRestricted(t *testing.T) {
	t.Parallel()
	n := newNATLab(t, PortRestricted)
	o1, ok1 := n.send(t, n.h, "172.16.0.11:7000", 4000, 2*time.Second)
	o2, ok2 := n.send(t, n.h, "172.16.0.12:7000", 4000, 2*time.Second)
	want := netip.AddrPortFrom(natWAN, 4000)
	if !ok1 || !ok2 || o1 != want || o2 != want {
		t.Fatalf("mapping %v, %v; want %v towards both servers (endpoint-independent, port kept)", o1, o2, want)
	}
	mapped := n.hole(t, 4100)
	if n.probe(t, n.s3, 5000, mapped) {
		t.Errorf("a third host reached the port-restricted mapping %v", mapped)
	}
	if n.probe(t, n.s1, 7002, mapped) {
		t.Errorf("another port of the contacted host reached the port-restricted mapping %v", mapped)
	}
}

func TestNATSymmetric(t *testing.T) {
	t.Parallel()
	n := newNATLab(t, Symmetric)
	o1, ok1 := n.send(t, n.h, "172.16.0.11:7000", 4000, 2*time.Second)
	o2, ok2 := n.send(t, n.h, "172.16.0.12:7000", 4000, 2*time.Second)
	if !ok1 || !ok2 || o1.Addr() != natWAN || o2.Addr() != natWAN {
		t.Fatalf("mapping %v, %v; want both on %v", o1, o2, natWAN)
	}
	// fully-random draws from ~64000 ports: equal ports by chance are a
	// 1 in 64000 event.
	if o1.Port() == o2.Port() {
		t.Fatalf("both destinations saw port %d: mapping is not endpoint-dependent", o1.Port())
	}
	// The same destination keeps its mapping while conntrack remembers
	// the flow, and gets a new one after a flush.
	again, _ := n.send(t, n.h, "172.16.0.11:7000", 4000, 2*time.Second)
	if again != o1 {
		t.Fatalf("repeated flow mapped to %v, first %v", again, o1)
	}
	n.lab.FlushConntrack(n.nat)
	fresh, _ := n.send(t, n.h, "172.16.0.11:7000", 4000, 2*time.Second)
	if fresh == o1 {
		t.Errorf("mapping %v survived FlushConntrack", o1)
	}
	mapped := n.hole(t, 4100)
	if n.probe(t, n.s3, 5000, mapped) {
		t.Errorf("a third host reached the symmetric mapping %v", mapped)
	}
}

func TestNATReplace(t *testing.T) {
	t.Parallel()
	n := newNATLab(t, Symmetric)
	// Switching the kind replaces the rules (one table, atomically).
	n.lab.NAT(n.nat, "wan0", PortRestricted)
	n.lab.NAT(n.nat, "wan0", PortRestricted)
	o, ok := n.send(t, n.h, "172.16.0.11:7000", 4200, 2*time.Second)
	if !ok || o != netip.AddrPortFrom(natWAN, 4200) {
		t.Fatalf("after replacing Symmetric by PortRestricted: %v (ok %v)", o, ok)
	}
	out := n.nat.MustExec(t, "nft", "list", "table", "ip", natTable)
	if strings.Contains(out, "fully-random") {
		t.Fatalf("old rules survived:\n%s", out)
	}
}
