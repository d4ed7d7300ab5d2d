package uci

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStdlibOnly keeps uci a library others can import: it may depend on
// the standard library only.
func TestStdlibOnly(t *testing.T) {
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
		if pkg != "github.com/ipopd/ipopd/uci" {
			t.Errorf("forbidden dependency %s", pkg)
		}
	}
}
