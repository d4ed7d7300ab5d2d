package pkgtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ipopd/ipopd/uci"
)

// defaultsRoot is a scratch root with a default router's /etc/config (from
// testdata/config), ipopd's shipped /etc/config/ipop, the uci-defaults
// script and the fake uci.
func defaultsRoot(t *testing.T) (root string, env []string) {
	t.Helper()
	root = t.TempDir()
	for _, f := range []string{"network", "firewall", "dhcp"} {
		copyFile(t, filepath.Join("testdata", "config", f), filepath.Join(root, "etc", "config", f), 0o644)
	}
	dir := openwrtDir(t)
	copyFile(t, filepath.Join(dir, "ipopd", "files", "ipop.config"), filepath.Join(root, "etc", "config", "ipop"), 0o600)
	copyFile(t, filepath.Join(dir, "ipopd", "files", "ipopd.uci-defaults"),
		filepath.Join(root, "etc", "uci-defaults", "90-ipopd"), 0o755)
	return root, fakeUCI(t, root)
}

// runDefaults runs the script as the package's postinst does (sourced in a
// subshell from /etc/uci-defaults) or as a plain script, and requires exit 0.
func runDefaults(t *testing.T, shell []string, root string, env []string, sourced bool) {
	t.Helper()
	script := "./90-ipopd"
	args := append(append([]string{}, shell[1:]...), script)
	if sourced {
		args = append(append([]string{}, shell[1:]...), "-c", "( . ./90-ipopd )")
	}
	cmd := exec.Command(shell[0], args...)
	cmd.Dir = filepath.Join(root, "etc", "uci-defaults")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("uci-defaults: %v\n%s", err, out)
	}
	if staged, _ := os.ReadDir(filepath.Join(root, "tmp", ".uci")); len(staged) != 0 {
		t.Errorf("uncommitted changes left: %v", staged)
	}
}

func readConfigs(t *testing.T, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range []string{"network", "firewall", "dhcp", "ipop"} {
		data, err := os.ReadFile(filepath.Join(root, "etc", "config", f))
		if err != nil {
			t.Fatal(err)
		}
		out[f] = data
	}
	return out
}

// sectionsWith returns the sections of typ whose options all have the
// given values.
func sectionsWith(f *uci.File, typ string, kv ...string) []*uci.Section {
	var out []*uci.Section
	for _, s := range f.Sections() {
		if s.Type() != typ {
			continue
		}
		ok := true
		for i := 0; i+1 < len(kv); i += 2 {
			if v, _ := s.Get(kv[i]); v != kv[i+1] {
				ok = false
			}
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}

func TestUCIDefaults(t *testing.T) {
	for shName, shell := range shells(t) {
		t.Run(shName, func(t *testing.T) {
			root, env := defaultsRoot(t)
			before := readConfigs(t, root)
			runDefaults(t, shell, root, env, false)
			after := readConfigs(t, root)

			for _, f := range []string{"dhcp", "ipop"} {
				if !bytes.Equal(before[f], after[f]) {
					t.Errorf("%s changed:\n%s", f, after[f])
				}
			}
			parsed := map[string]*uci.File{}
			for _, f := range []string{"network", "firewall"} {
				if !bytes.HasPrefix(after[f], before[f]) {
					t.Errorf("%s: the existing text changed; now:\n%s", f, after[f])
				}
				p, err := uci.Parse(f, after[f])
				if err != nil {
					t.Fatalf("%s does not parse after uci-defaults: %v", f, err)
				}
				orig, err := uci.Parse(f, before[f])
				if err != nil {
					t.Fatal(err)
				}
				if got, was := len(p.Sections()), len(orig.Sections()); got <= was {
					t.Errorf("%s: %d sections, was %d", f, got, was)
				}
				parsed[f] = p
			}
			checkAdded(t, parsed["network"], parsed["firewall"])

			// A second run (reinstall, or a run after an interrupted boot)
			// changes nothing, whichever way it is started.
			runDefaults(t, shell, root, env, true)
			again := readConfigs(t, root)
			for f := range after {
				if !bytes.Equal(after[f], again[f]) {
					t.Errorf("second run changed %s:\n%s", f, again[f])
				}
			}
		})
	}
}

// checkAdded checks what the script adds, once each.
func checkAdded(t *testing.T, network, firewall *uci.File) {
	t.Helper()
	if devs := sectionsWith(network, "device", "name", "br-ipop", "type", "bridge"); len(devs) != 1 {
		t.Errorf("%d br-ipop bridge devices, want 1", len(devs))
	} else if ports := devs[0].List("ports"); !slices.Equal(ports, []string{"ipop0"}) {
		t.Errorf("br-ipop ports %q, want [ipop0]", ports)
	}
	ifc := network.Section("ipop")
	if ifc == nil || ifc.Type() != "interface" {
		t.Fatal("no interface ipop in network")
	}
	if len(sectionsWith(network, "interface", "device", "br-ipop")) != 1 {
		t.Error("br-ipop is not the device of exactly one interface")
	}
	if proto, _ := ifc.Get("proto"); proto != "none" {
		t.Errorf("ipop proto %q, want none (no address until joined)", proto)
	}
	if _, ok := ifc.Get("ipaddr"); ok {
		t.Error("ipop has an address before joining")
	}
	zones := sectionsWith(firewall, "zone", "name", "ipop")
	if len(zones) != 1 {
		t.Fatalf("%d ipop zones, want 1", len(zones))
	}
	if nets := zones[0].List("network"); !slices.Equal(nets, []string{"ipop"}) {
		t.Errorf("zone ipop networks %q", nets)
	}
	for opt, want := range map[string]string{"input": "REJECT", "forward": "REJECT"} {
		if got, _ := zones[0].Get(opt); got != want {
			t.Errorf("zone ipop %s = %q, want %q", opt, got, want)
		}
	}
	for _, pair := range [][2]string{{"ipop", "lan"}, {"lan", "ipop"}} {
		fw := sectionsWith(firewall, "forwarding", "src", pair[0], "dest", pair[1])
		if len(fw) != 1 {
			t.Errorf("%d forwardings %s->%s, want 1", len(fw), pair[0], pair[1])
			continue
		}
		if en, _ := fw[0].Get("enabled"); en != "0" {
			t.Errorf("forwarding %s->%s enabled=%q, want 0 (off by default)", pair[0], pair[1], en)
		}
	}
	for _, name := range []string{"Allow-ipop-DHCP", "Allow-ipop-DNS"} {
		if n := len(sectionsWith(firewall, "rule", "name", name, "src", "ipop")); n != 1 {
			t.Errorf("%d rules %s, want 1", n, name)
		}
	}
	if n := len(sectionsWith(firewall, "zone", "name", "lan")); n != 1 {
		t.Errorf("%d lan zones after setup", n)
	}
}

// TestUCIDefaultsExisting runs the script on a router that already has an
// (anonymous) ipop zone and a br-ipop device of its own: nothing is added
// twice and the owner's sections stay as they are.
func TestUCIDefaultsExisting(t *testing.T) {
	shell := shells(t)["sh"]
	if shell == nil {
		for _, s := range shells(t) {
			shell = s
		}
	}
	root, env := defaultsRoot(t)
	extraFW := "\nconfig zone\n\toption name 'ipop'\n\tlist network 'ipop'\n\toption input 'ACCEPT'\n"
	extraNet := "\nconfig device\n\toption name 'br-ipop'\n\toption type 'bridge'\n"
	for f, extra := range map[string]string{"firewall": extraFW, "network": extraNet} {
		p := filepath.Join(root, "etc", "config", f)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, append(data, extra...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before := readConfigs(t, root)
	runDefaults(t, shell, root, env, false)
	after := readConfigs(t, root)
	fw, err := uci.Parse("firewall", after["firewall"])
	if err != nil {
		t.Fatal(err)
	}
	zones := sectionsWith(fw, "zone", "name", "ipop")
	if len(zones) != 1 {
		t.Fatalf("%d ipop zones, want the owner's one", len(zones))
	}
	if in, _ := zones[0].Get("input"); in != "ACCEPT" {
		t.Errorf("the owner's zone was changed: input %q", in)
	}
	network, err := uci.Parse("network", after["network"])
	if err != nil {
		t.Fatal(err)
	}
	if n := len(sectionsWith(network, "device", "name", "br-ipop")); n != 1 {
		t.Errorf("%d br-ipop devices, want the owner's one", n)
	}
	if network.Section("ipop") == nil {
		t.Error("interface ipop missing")
	}
	for _, f := range []string{"network", "firewall"} {
		if !bytes.HasPrefix(after[f], before[f]) {
			t.Errorf("%s: existing text changed", f)
		}
	}
}
