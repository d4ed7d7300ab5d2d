package netlab

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestStar: routers on a Star reach each other through the core, each over
// its own uplink, and the core holds one uplink per router.
func TestStar(t *testing.T) {
	lab := New(t)
	names := []string{"r0", "r1", "r2", "r3", "r4"}
	s := lab.Star("core", names, netip.MustParsePrefix("100.64.0.0/24"))
	if len(s.Routers) != len(names) || len(s.WAN) != len(names) {
		t.Fatalf("star has %d routers, %d addresses", len(s.Routers), len(s.WAN))
	}
	if s.WAN[3].String() != "100.64.0.7" || s.Gateway[3].String() != "100.64.0.6" {
		t.Fatalf("router 3: wan %s gateway %s", s.WAN[3], s.Gateway[3])
	}
	s.Routers[0].WaitPing(t, s.WAN[4].String(), 5*time.Second)
	s.Routers[2].WaitPing(t, s.WAN[1].String(), 5*time.Second)
	out := s.Core.MustExec(t, "ip", "-o", "link", "show")
	if n := strings.Count(out, ": u"); n != len(names) {
		t.Fatalf("core has %d uplinks:\n%s", n, out)
	}
	// Nothing of ours is left in the root namespace.
	root, err := runTimeout(setupTimeout, "ip", "-o", "link", "show")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(root, " nl") {
		t.Fatalf("a temporary veth name is left in the root namespace:\n%s", root)
	}
}

func TestStarRefusesASmallPrefix(t *testing.T) {
	ft := &fatalT{TB: t}
	lab := &Lab{t: ft, dir: t.TempDir()}
	func() {
		defer func() { _ = recover() }()
		lab.Star("core", []string{"a", "b", "c"}, netip.MustParsePrefix("100.64.0.0/30"))
	}()
	if !ft.failed {
		t.Fatal("3 uplinks accepted in a /30")
	}
}

// fatalT records Fatalf instead of ending the test.
type fatalT struct {
	testing.TB
	failed bool
}

func (f *fatalT) Fatalf(string, ...any) { f.failed = true; panic("fatal") }
func (f *fatalT) Helper()               {}
