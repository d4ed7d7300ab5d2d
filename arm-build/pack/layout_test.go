package pack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDaemonLayout(t *testing.T) {
	d, _ := testPackages(t)
	want := map[string]os.FileMode{
		"/usr/sbin/ipopd": 0o755, "/etc/config/ipop": 0o600, "/lib/upgrade/keep.d/ipopd": 0o644, "/etc/init.d/ipopd": 0o755,
		"/etc/uci-defaults/90-ipopd": 0o755, "/usr/share/rpcd/acl.d/ipopd.json": 0o644,
	}
	if len(d.Files) != len(want) {
		t.Errorf("%d files, want %d", len(d.Files), len(want))
	}
	for _, f := range d.Files {
		if m, ok := want[f.Path]; !ok || m != f.Mode {
			t.Errorf("%s mode %o: not expected", f.Path, f.Mode)
		}
	}
	if strings.Join(d.Depends, ",") != "libc,kmod-tun" || d.Conffiles[0] != "/etc/config/ipop" {
		t.Errorf("depends %v conffiles %v", d.Depends, d.Conffiles)
	}
}

func TestLuCILayout(t *testing.T) {
	_, l := testPackages(t)
	paths := map[string]os.FileMode{}
	for _, f := range l.Files {
		paths[f.Path] = f.Mode
	}
	for p, m := range map[string]os.FileMode{
		"/www/luci-static/resources/view/ipop/status.js": 0o644,
		"/usr/share/luci/menu.d/luci-app-ipop.json":      0o644,
		"/etc/uci-defaults/40-luci-ipop":                 0o755, // made executable though checked out 0644
		"/usr/share/empty.txt":                           0o644,
	} {
		if got, ok := paths[p]; !ok || got != m {
			t.Errorf("%s: present %v mode %o, want %o", p, ok, got, m)
		}
	}
	if l.Arch != ArchAll || apkArch(l.Arch) != "noarch" {
		t.Errorf("arch %q", l.Arch)
	}
}

func TestMissingFiles(t *testing.T) {
	root := fakeRepo(t)
	var warnings []string
	src := testSource(root)
	src.Warn = func(f string, a ...any) { warnings = append(warnings, fmt.Sprintf(f, a...)) }
	os.Remove(filepath.Join(root, "openwrt/ipopd/files/ipopd.init"))
	os.WriteFile(filepath.Join(root, "openwrt/ipopd/files/stray"), []byte("x"), 0o644)
	os.RemoveAll(filepath.Join(root, "openwrt/luci-app-ipop"))
	d, err := src.Daemon("x86_64", []byte("bin"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(d.PostInst, "/etc/init.d/ipopd") {
		t.Error("postinst enables a service that is not packaged")
	}
	l, err := src.LuCI()
	if l != nil || err != nil {
		t.Errorf("LuCI without its directory = %v, %v", l, err)
	}
	all := strings.Join(warnings, "\n")
	for _, w := range []string{"ipopd.init missing", "stray", "luci-app-ipop missing"} {
		if !strings.Contains(all, w) {
			t.Errorf("no warning about %s in:\n%s", w, all)
		}
	}
	os.Remove(filepath.Join(root, "openwrt/ipopd/files/ipop.config"))
	if _, err := src.Daemon("x86_64", []byte("bin")); !errors.Is(err, ErrSpec) {
		t.Errorf("missing config: err = %v", err)
	}
	if _, err := src.Daemon("x86_64", nil); !errors.Is(err, ErrSpec) {
		t.Errorf("empty binary: err = %v", err)
	}
}

func TestValidate(t *testing.T) {
	base := func() *Package {
		return &Package{Name: "a", Version: "1-r1", Arch: "x86_64", Description: "d", MTime: testTime, Files: []File{{Path: "/a/b", Mode: 0o644, Data: []byte("x")}}}
	}
	tests := []struct {
		name string
		edit func(p *Package)
	}{
		{"name", func(p *Package) { p.Name = "A b" }},
		{"version", func(p *Package) { p.Version = "1.0-1" }},
		{"arch noarch", func(p *Package) { p.Arch = "noarch" }},
		{"relative path", func(p *Package) { p.Files[0].Path = "a/b" }},
		{"unclean path", func(p *Package) { p.Files[0].Path = "/a/../b" }},
		{"space", func(p *Package) { p.Files[0].Path = "/a b" }},
		{"dup", func(p *Package) { p.Files = append(p.Files, p.Files[0]) }},
		{"file is dir", func(p *Package) { p.Files = append(p.Files, File{Path: "/a", Mode: 0o644}) }},
		{"mode", func(p *Package) { p.Files[0].Mode = os.ModeSymlink | 0o777 }},
		{"conffile", func(p *Package) { p.Conffiles = []string{"/etc/x"} }},
		{"newline", func(p *Package) { p.Description = "a\nb" }},
		{"no files", func(p *Package) { p.Files = nil }},
		{"dependency", func(p *Package) { p.Depends = []string{"a b"} }},
	}
	if err := base().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		p := base()
		tc.edit(p)
		if err := p.Validate(); !errors.Is(err, ErrSpec) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
}
