package daemon

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipopd/ipopd/internal/group"
	"github.com/ipopd/ipopd/uci"
)

func copyRoot(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"network", "dhcp"} {
		b, err := os.ReadFile(filepath.Join("testdata/uciroot", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestApplyNetwork(t *testing.T) {
	dir := copyRoot(t)
	before := map[string]string{}
	for _, f := range []string{"network", "dhcp"} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		before[f] = string(b)
	}
	st := &group.State{
		Subnet:  netip.MustParsePrefix("10.77.0.0/16"),
		Address: netip.MustParseAddr("10.77.0.3"),
		Pool:    netip.MustParsePrefix("10.77.3.0/24"),
	}
	changed, err := applyNetwork(dir, st)
	if err != nil || !changed {
		t.Fatalf("apply: changed=%v err=%v", changed, err)
	}
	nf, err := uci.ReadFile(filepath.Join(dir, "network"))
	if err != nil {
		t.Fatal(err)
	}
	ipop := nf.Section("ipop")
	for opt, want := range map[string]string{"proto": "static", "ipaddr": "10.77.0.3", "netmask": "255.255.0.0", "device": "br-ipop"} {
		if got, _ := ipop.Get(opt); got != want {
			t.Errorf("network.ipop.%s = %q, want %q", opt, got, want)
		}
	}
	df, _ := uci.ReadFile(filepath.Join(dir, "dhcp"))
	d := df.Section("ipop")
	for opt, want := range map[string]string{"interface": "ipop", "start": "769", "limit": "254", "dhcpv4": "server"} {
		if got, _ := d.Get(opt); got != want {
			t.Errorf("dhcp.ipop.%s = %q, want %q", opt, got, want)
		}
	}
	// Everything else as it was: the lan section is untouched.
	after, _ := os.ReadFile(filepath.Join(dir, "network"))
	lanBefore := before["network"][strings.Index(before["network"], "config interface 'lan'"):]
	lanBefore = lanBefore[:strings.Index(lanBefore[1:], "config ")+1]
	if !strings.Contains(string(after), lanBefore) {
		t.Fatalf("the lan section changed:\n%s", after)
	}
	// A second run changes nothing.
	if changed, err := applyNetwork(dir, st); err != nil || changed {
		t.Fatalf("second apply: changed=%v err=%v", changed, err)
	}
	// No OpenWRT network config: nothing written, no error.
	if changed, err := applyNetwork(t.TempDir(), st); err != nil || changed {
		t.Fatalf("empty root: changed=%v err=%v", changed, err)
	}
}
