package pack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRealPackageUnpacks builds the daemon and LuCI packages from this
// repository's own openwrt/ files (not a fake tree), reads each back with
// the readers, unpacks the data into a scratch root and checks the file
// list, the modes (init script and uci-defaults 0755, the config, which
// may hold secrets, 0600), the conffiles and the control fields.
func TestRealPackageUnpacks(t *testing.T) {
	src := testSource("../..")
	d, err := src.Daemon("x86_64", fakeBinary())
	if err != nil {
		t.Fatal(err)
	}
	built, err := BuildIPK(d)
	if err != nil {
		t.Fatal(err)
	}
	ipk, err := ReadIPK(built.Data)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for _, f := range ipk.Files {
		p := filepath.Join(root, filepath.FromSlash(f.Name))
		if f.Dir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, os.FileMode(f.Mode)&0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, os.FileMode(f.Mode)&0o777); err != nil {
			t.Fatal(err)
		}
	}
	for path, mode := range map[string]os.FileMode{
		"usr/sbin/ipopd":                  0o755,
		"etc/init.d/ipopd":                0o755,
		"etc/uci-defaults/90-ipopd":       0o755,
		"etc/config/ipop":                 0o600,
		"usr/share/rpcd/acl.d/ipopd.json": 0o644,
		"lib/upgrade/keep.d/ipopd":        0o644,
	} {
		fi, err := os.Stat(filepath.Join(root, path))
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %o, want %o", path, fi.Mode().Perm(), mode)
		}
	}
	init, _ := os.ReadFile(filepath.Join(root, "etc/init.d/ipopd"))
	if !strings.Contains(string(init), "USE_PROCD=1") {
		t.Error("init script is not a procd script")
	}
	if len(ipk.Conffiles) != 1 || ipk.Conffiles[0] != "/etc/config/ipop" {
		t.Errorf("conffiles %v", ipk.Conffiles)
	}
	for key, want := range map[string]string{"Package": "ipopd", "Architecture": "x86_64", "License": "MIT"} {
		if got := ipk.Control.Get(key); got != want {
			t.Errorf("control %s = %q, want %q", key, got, want)
		}
	}
	if !strings.Contains(ipk.Control.Get("Depends"), "kmod-tun") {
		t.Errorf("Depends %q lacks kmod-tun", ipk.Control.Get("Depends"))
	}
	if ipk.Scripts["postinst"] == "" || ipk.Scripts["prerm"] == "" {
		t.Error("postinst or prerm missing")
	}
	l, err := src.LuCI()
	if err != nil || l == nil {
		t.Fatalf("LuCI package: %v", err)
	}
	var views int
	for _, f := range l.Files {
		if strings.HasPrefix(f.Path, "/www/luci-static/resources/view/ipop/") {
			views++
		}
	}
	if views < 4 {
		t.Errorf("LuCI package has %d views, want overview, join, invite, settings", views)
	}
}
