package pkgtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/ipopd/ipopd/openwrt/internal/fakeuci"
)

// TestMain turns the test binary into the fake uci command when a test
// runs it through the bin/uci wrapper that fakeUCI writes.
func TestMain(m *testing.M) {
	if os.Getenv("IPOP_FAKEUCI") == "1" {
		os.Exit(fakeuci.Run(fakeuci.Env{
			ConfDir: os.Getenv("UCI_CONFDIR"),
			SaveDir: os.Getenv("UCI_SAVEDIR"),
			Stdout:  os.Stdout,
			Stderr:  os.Stderr,
		}, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// openwrtDir is the repository's openwrt/ directory.
func openwrtDir(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test source")
	}
	return filepath.Dir(filepath.Dir(file))
}

// fakeUCI writes root/bin/uci, a wrapper that runs this test binary as uci
// over root/etc/config, and returns the environment that puts it on PATH.
func fakeUCI(t *testing.T, root string) []string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	wrapper := "#!/bin/sh\nexec \"$FAKEUCI_EXE\" \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "uci"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	return append(os.Environ(),
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"FAKEUCI_EXE="+exe,
		"IPOP_FAKEUCI=1",
		"UCI_CONFDIR="+filepath.Join(root, "etc", "config"),
		"UCI_SAVEDIR="+filepath.Join(root, "tmp", ".uci"),
	)
}

// shells returns the POSIX shells to run scripts with: busybox ash (the
// shell of OpenWRT) and the system sh, whichever exist.
func shells(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	if p, err := exec.LookPath("busybox"); err == nil {
		if exec.Command(p, "sh", "-c", "true").Run() == nil {
			out["ash"] = []string{p, "sh"}
		}
	}
	if p, err := exec.LookPath("sh"); err == nil {
		out["sh"] = []string{p}
	}
	if len(out) == 0 {
		t.Skip("no POSIX shell (busybox or sh) found")
	}
	return out
}

// copyFile copies src to dst with the given mode.
func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		t.Fatal(err)
	}
}
