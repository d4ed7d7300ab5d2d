package ipopconf

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps ipopconf importable without the daemon: the
// standard library, package uci, and packages underlay and overlay (whose
// announce rules and flood_allow syntax the config checks with their own
// parsers; both import only the standard library).
func TestDependencies(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		if goBin, err = exec.LookPath("/usr/local/go/bin/go"); err != nil {
			t.Skip("go command not available")
		}
	}
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg != "github.com/ipopd/ipopd/uci" && pkg != "github.com/ipopd/ipopd/uci/ipopconf" && pkg != "github.com/ipopd/ipopd/internal/underlay" && pkg != "github.com/ipopd/ipopd/internal/overlay" {
			t.Errorf("forbidden dependency %s", pkg)
		}
	}
}
