package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/netlab"
)

// TestOverVeth sends each canned frame kind across a veth pair and checks
// the listener sees it exactly once, and that the receiving kernel accepts
// the RA (its prefix becomes an address), which proves the checksum.
func TestOverVeth(t *testing.T) {
	lab := netlab.New(t)
	bin := netlab.BuildTool(t, netlab.RawFrameTool)
	a, b := lab.Host("a"), lab.Host("b")
	lab.Link(a, "eth0", b, "eth0")
	mac := a.MAC("eth0")

	listen := func(kind string) *netlab.Proc {
		p := b.Start("listen-"+kind, bin, "-i", "eth0", "-listen", "-kind", kind, "-timeout", "2s")
		p.WaitLog(t, "listening on eth0", 5*time.Second)
		return p
	}

	p := listen("bcast")
	a.MustExec(t, bin, "-i", "eth0", "-kind", "bcast", "-msg", "hello lab")
	if err := p.Wait(); err != nil {
		t.Fatalf("listener: %v\n%s", err, p.Log())
	}
	if log := p.Log(); !strings.Contains(log, "bcast hello lab from "+mac+"\n") || !strings.HasSuffix(log, "count 1\n") {
		t.Fatalf("bcast listener log:\n%s", log)
	}

	p = listen("ra")
	a.MustExec(t, bin, "-i", "eth0", "-kind", "ra", "-prefix", "fd00:77::/64")
	if err := p.Wait(); err != nil {
		t.Fatalf("listener: %v\n%s", err, p.Log())
	}
	ll := a.LinkLocal("eth0")
	if log := p.Log(); !strings.Contains(log, "ra from "+ll+" mac "+mac+"\n") || !strings.HasSuffix(log, "count 1\n") {
		t.Fatalf("ra listener log (want source %s):\n%s", ll, log)
	}
	deadline := time.Now().Add(3 * time.Second)
	for !strings.Contains(b.MustExec(t, "ip", "-6", "addr", "show", "dev", "eth0"), "fd00:77:") {
		if time.Now().After(deadline) {
			t.Fatalf("b did not autoconfigure from the RA:\n%s", b.MustExec(t, "ip", "-6", "addr"))
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A hex frame of the other kind is not counted; the listener filters.
	p = listen("bcast")
	a.MustExec(t, bin, "-i", "eth0", "-hex", "ffffffffffff"+strings.ReplaceAll(mac, ":", "")+"0800"+strings.Repeat("00", 46))
	if err := p.Wait(); err != nil {
		t.Fatalf("listener: %v", err)
	}
	if log := p.Log(); !strings.HasSuffix(log, "count 0\n") {
		t.Fatalf("listener counted a foreign frame:\n%s", log)
	}
}
