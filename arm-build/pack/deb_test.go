package pack

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestDebVersion(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1.2.3-r1", "1.2.3-1"},
		{"1.2.3_p4-r1", "1.2.3+p4-1"},
		{"0_git12-r1", "0+git12-1"},
		{"1.2.3_rc1-r2", "1.2.3~rc1-2"},
		{"1.0b_beta2_p1-r1", "1.0b~beta2+p1-1"},
		{"1.0~abc1234-r1", "1.0+gabc1234-1"},
	} {
		got, err := DebVersion(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("DebVersion(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "1.0", "1.0-1", "v1.0-r1"} {
		if _, err := DebVersion(bad); !errors.Is(err, ErrSpec) {
			t.Errorf("DebVersion(%q): %v, want ErrSpec", bad, err)
		}
	}
	for _, bad := range []string{"", "a1.0", "1.0-", "1.0_1-1", "1.0-r_1", "1 0-1"} {
		if ValidateDebVersion(bad) == nil {
			t.Errorf("ValidateDebVersion(%q) accepted", bad)
		}
	}
}

// TestDebVersionOrder checks with dpkg itself that the Debian versions
// sort as PackageVersion's versions do for apk and opkg: untagged builds,
// release candidates, the release, commits after it.
func TestDebVersionOrder(t *testing.T) {
	needTool(t, "dpkg")
	order := []string{"0_git12-r1", "0_git13-r1", "1.0_rc1-r1", "1.0-r1", "1.0-r2", "1.0_p3-r1", "1.0_p12-r1", "1.1-r1"}
	for i := 1; i < len(order); i++ {
		a, _ := DebVersion(order[i-1])
		b, _ := DebVersion(order[i])
		if err := exec.Command("dpkg", "--compare-versions", a, "lt", b).Run(); err != nil {
			t.Errorf("dpkg does not order %s (%s) before %s (%s)", a, order[i-1], b, order[i])
		}
	}
}

func testDeb(t testing.TB) *DebPackage {
	t.Helper()
	d, err := testSource(fakeRepo(t)).DebDaemon("armhf", testDebMaintainer, fakeBinary())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDebRoundTrip builds a .deb and reads it back with ReadDeb: control
// fields, the payload with its modes, conffiles, md5sums and scripts, and
// that building again gives the same bytes.
func TestDebRoundTrip(t *testing.T) {
	d := testDeb(t)
	b, err := BuildDeb(d)
	if err != nil {
		t.Fatal(err)
	}
	again, err := BuildDeb(testDeb(t))
	if err != nil || !bytes.Equal(again.Data, b.Data) {
		t.Errorf("building twice gives different bytes (%v)", err)
	}
	r, err := ReadDeb(b.Data)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"Package": "ipopd", "Version": "1.2.3-1", "Architecture": "armhf", "Depends": "", "Section": "net"} {
		if got := r.Control.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if !strings.Contains(r.Control.Get("Description"), "\n .\n") {
		t.Errorf("extended description without paragraphs: %q", r.Control.Get("Description"))
	}
	modes := map[string]int64{}
	for _, f := range r.Files {
		modes[f.Name] = f.Mode
	}
	for name, want := range map[string]int64{"./usr/sbin/ipopd": 0o755, "./etc/config/ipop": 0o600, "./etc/ipop/": 0o700, "./lib/systemd/system/ipopd.service": 0o644} {
		if modes[name] != want {
			t.Errorf("%s mode %o, want %o", name, modes[name], want)
		}
	}
	if len(r.Conffiles) != 1 || r.Conffiles[0] != "/etc/config/ipop" {
		t.Errorf("conffiles %v", r.Conffiles)
	}
	if _, ok := r.MD5Sums["etc/config/ipop"]; ok {
		t.Error("md5sums lists the conffile")
	}
	if _, ok := r.MD5Sums["usr/sbin/ipopd"]; !ok {
		t.Error("md5sums lacks the binary")
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		if r.Scripts[s] == "" {
			t.Errorf("no %s", s)
		}
	}
}

// TestDebMaintainerScripts checks what the scripts do on their own, with
// sh on a fake root: postinst starts nothing, postrm keeps config and keys
// on remove and deletes them on purge. (dpkg runs them for real in
// TestDebDpkgInstall.)
func TestDebMaintainerScripts(t *testing.T) {
	for _, s := range []string{debPostinst, debPrerm, debPostrm} {
		for _, l := range strings.Split(s, "\n") {
			if strings.Contains(l, "echo ") {
				continue // the hint telling the user how to enable it
			}
			for _, forbidden := range []string{"systemctl enable", "systemctl start", "deb-systemd-invoke start", "deb-systemd-invoke restart", "deb-systemd-helper enable"} {
				if strings.Contains(l, forbidden) {
					t.Errorf("a maintainer script runs %q: %s", forbidden, l)
				}
			}
		}
		if out, err := exec.Command("sh", "-n", "-c", s).CombinedOutput(); err != nil {
			t.Errorf("sh -n: %v\n%s\n%s", err, out, s)
		}
	}
	if !strings.Contains(debPostrm, "purge)\n\trm -rf /etc/ipop") {
		t.Error("postrm does not delete the keys on purge")
	}
	if strings.Contains(strings.SplitN(debPostrm, "purge)", 2)[0], "rm ") {
		t.Error("postrm deletes something outside purge")
	}
}

func TestDebValidate(t *testing.T) {
	for name, mod := range map[string]func(d *DebPackage){
		"name":          func(d *DebPackage) { d.Name = "Ipopd" },
		"version":       func(d *DebPackage) { d.Version = "1.0_1-r1" },
		"arch":          func(d *DebPackage) { d.Arch = "" },
		"maintainer":    func(d *DebPackage) { d.Maintainer = "ipopd developers" },
		"summary":       func(d *DebPackage) { d.Summary = "" },
		"line break":    func(d *DebPackage) { d.Long = []string{"a\nb"} },
		"no files":      func(d *DebPackage) { d.Files = nil },
		"dup file":      func(d *DebPackage) { d.Files = append(d.Files, d.Files[0]) },
		"file mode":     func(d *DebPackage) { d.Files[0].Mode = 0o4755 | os.ModeSetuid },
		"dir is file":   func(d *DebPackage) { d.Dirs = append(d.Dirs, Dir{"/usr/sbin/ipopd", 0o755}) },
		"file is dir":   func(d *DebPackage) { d.Files = append(d.Files, File{Path: "/etc/ipop", Mode: 0o644}) },
		"conffile":      func(d *DebPackage) { d.Conffiles = []string{"/etc/nope"} },
		"script name":   func(d *DebPackage) { d.Scripts["config"] = "#!/bin/sh\n" },
		"script #!":     func(d *DebPackage) { d.Scripts["postinst"] = "exit 0\n" },
		"relative path": func(d *DebPackage) { d.Files[0].Path = "usr/sbin/ipopd" },
		"dependency":    func(d *DebPackage) { d.Depends = []string{"Bad Dep"} },
	} {
		d := testDeb(t)
		mod(d)
		if _, err := BuildDeb(d); !errors.Is(err, ErrSpec) {
			t.Errorf("%s: %v, want ErrSpec", name, err)
		}
	}
}

// TestReadDebRejects breaks a good .deb in the ways ReadDeb must notice.
func TestReadDebRejects(t *testing.T) {
	d := testDeb(t)
	b, err := BuildDeb(d)
	if err != nil {
		t.Fatal(err)
	}
	members, err := readAr(b.Data)
	if err != nil {
		t.Fatal(err)
	}
	rebuild := func(ms []arMember) []byte {
		out, err := writeAr(ms, testTime)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// A data.tar.gz whose binary differs from md5sums.
	other := *d
	other.Files = append([]File(nil), d.Files...)
	for i := range other.Files {
		if other.Files[i].Path == "/usr/sbin/ipopd" {
			other.Files[i].Data = []byte("changed")
		}
	}
	ob, err := BuildDeb(&other)
	if err != nil {
		t.Fatal(err)
	}
	om, _ := readAr(ob.Data)
	for name, bad := range map[string][]byte{
		"empty":          nil,
		"not ar":         []byte("PK\x03\x04"),
		"truncated":      b.Data[:len(b.Data)-10],
		"order":          rebuild([]arMember{members[0], members[2], members[1]}),
		"missing data":   rebuild(members[:2]),
		"version 3.0":    rebuild([]arMember{{"debian-binary", []byte("3.0\n")}, members[1], members[2]}),
		"md5 mismatch":   rebuild([]arMember{members[0], members[1], om[2]}),
		"header":         append([]byte(nil), bytes.Replace(b.Data, []byte("`\n"), []byte("``"), 1)...),
		"extra member":   rebuild(append(append([]arMember(nil), members...), arMember{"extra", []byte("x")})),
		"control not gz": rebuild([]arMember{members[0], {"control.tar.gz", []byte("plain")}, members[2]}),
	} {
		if _, err := ReadDeb(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestDebRepo writes a repository and checks it, then breaks each index.
func TestDebRepo(t *testing.T) {
	var entries []DebEntry
	for _, arch := range []string{"amd64", "arm64", "armhf"} {
		d, err := testSource(fakeRepo(t)).DebDaemon(arch, testDebMaintainer, fakeBinary())
		if err != nil {
			t.Fatal(err)
		}
		b, err := BuildDeb(d)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, DebEntry{d, b})
	}
	dir := filepath.Join(t.TempDir(), "deb")
	if err := WriteDebRepo(dir, "ipopd", entries); err != nil {
		t.Fatal(err)
	}
	debs, err := CheckDebRepo(dir)
	if err != nil || len(debs) != 3 {
		t.Fatalf("CheckDebRepo: %d packages, %v", len(debs), err)
	}
	rel, _ := os.ReadFile(filepath.Join(dir, ReleaseFile))
	if !strings.Contains(string(rel), "Architectures: amd64 arm64 armhf\n") {
		t.Errorf("Release:\n%s", rel)
	}
	if err := WriteDebRepo(dir, "ipopd", append(entries, entries[0])); !errors.Is(err, ErrSpec) {
		t.Errorf("a package twice: %v", err)
	}
	for _, name := range []string{PackagesFile, PackagesGzFile, ReleaseFile, entries[1].Pkg.DebName()} {
		t.Run("broken "+name, func(t *testing.T) {
			if err := WriteDebRepo(dir, "ipopd", entries); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, name)
			b, _ := os.ReadFile(p)
			b = append(b[:len(b)/2:len(b)/2], append([]byte("X"), b[len(b)/2+1:]...)...)
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := CheckDebRepo(dir); err == nil {
				t.Errorf("a changed byte in %s went unnoticed", name)
			}
		})
	}
}
