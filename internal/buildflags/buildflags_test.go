package buildflags

import (
	"os"
	"strings"
	"testing"
)

// TestMakefileAgrees: the Makefile's COLD_PKGS is the same list, so make
// build and the cross builds make the same binary.
func TestMakefileAgrees(t *testing.T) {
	b, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	var list string
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "COLD_PKGS"); ok {
			list = strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(v), ":?="))
		}
	}
	got := strings.Fields(list)
	if strings.Join(got, " ") != strings.Join(ColdPackages, " ") {
		t.Fatalf("Makefile COLD_PKGS = %q\nbuildflags.ColdPackages = %q", got, ColdPackages)
	}
	for _, f := range GCFlags() {
		if !strings.HasPrefix(f, "-gcflags=") || !strings.HasSuffix(f, "=-l") {
			t.Fatalf("bad flag %q", f)
		}
	}
}
