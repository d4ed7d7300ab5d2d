package ubus

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStdlibOnly keeps ubus a library others can import: it and its test
// server may depend on the standard library only (STYLE.md rule 15).
func TestStdlibOnly(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		if goBin, err = exec.LookPath("/usr/local/go/bin/go"); err != nil {
			t.Skip("go command not available")
		}
	}
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".", "./ubustest").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg != "github.com/ipopd/ipopd/ubus" && pkg != "github.com/ipopd/ipopd/ubus/ubustest" {
			t.Errorf("forbidden dependency %s", pkg)
		}
	}
}
