package uci

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustParse(t *testing.T, in string) *File {
	t.Helper()
	f, err := Parse("test", []byte(in))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f
}

// text returns f.Bytes() after checking that it parses back to the same
// model f shows.
func text(t *testing.T, f *File) string {
	t.Helper()
	out := f.Bytes()
	g, err := Parse("reparse", out)
	if err != nil {
		t.Fatalf("edited file does not parse: %v\n%s", err, out)
	}
	if a, b := dump(f), dump(g); a != b {
		t.Fatalf("edited file parses to a different model:\n%s\nwant:\n%s\ntext:\n%s", b, a, out)
	}
	return string(out)
}

func TestRoundTripTestdata(t *testing.T) {
	files, err := filepath.Glob("testdata/*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, path := range files {
		if fi, err := os.Stat(path); err != nil || fi.IsDir() {
			continue
		}
		n++
		t.Run(filepath.Base(path), func(t *testing.T) {
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Bytes(); string(got) != string(want) {
				t.Errorf("round trip differs:\n%s", got)
			}
			if len(f.Sections()) == 0 {
				t.Errorf("no sections parsed")
			}
		})
	}
	if n < 4 {
		t.Fatalf("only %d testdata files", n)
	}
}

func TestRealFilesModel(t *testing.T) {
	f, err := ReadFile("testdata/network")
	if err != nil {
		t.Fatal(err)
	}
	dev := f.Section("@device[0]")
	if dev == nil || dev.Name() != "" {
		t.Fatalf("@device[0] = %v", dev)
	}
	if got := strings.Join(dev.List("ports"), ","); got != "lan1,lan2,lan3,lan4" {
		t.Errorf("ports = %q", got)
	}
	if v, ok := f.Section("lan").Get("ipaddr"); !ok || v != "192.168.1.1" {
		t.Errorf("lan.ipaddr = %q, %v", v, ok)
	}

	d, err := ReadFile("testdata/dhcp")
	if err != nil {
		t.Fatal(err)
	}
	dns := d.Section("@dnsmasq[0]")
	for opt, want := range map[string]string{"filterwin2k": "0", "rebind_protection": "1", "local": "/lan/", "nonwildcard": "1"} {
		if v, _ := dns.Get(opt); v != want {
			t.Errorf("dnsmasq.%s = %q, want %q", opt, v, want)
		}
	}
	if dns.Get("rebind_domain"); dns.IsList("rebind_domain") {
		t.Errorf("commented-out list parsed")
	}

	fw, err := ReadFile("testdata/firewall")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := fw.Section("@rule[-1]").Get("target"); v != "ACCEPT" {
		t.Errorf("last rule target = %q (file has no final newline)", v)
	}
	if got := fw.Section("@zone[1]").List("network"); strings.Join(got, " ") != "wan wan6" {
		t.Errorf("wan zone networks = %q", got)
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("config t\n\toption a 'x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var pe *ParseError
	if _, err := ReadFile(bad); !errors.As(err, &pe) || pe.File != bad || pe.Line != 2 {
		t.Errorf("bad file: %v", err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, MaxFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("big file: %v", err)
	}
	if _, err := ReadFile(dir); err == nil {
		t.Errorf("directory: no error")
	}
}

// TestEditKeepsTheRest edits each real file and checks that exactly the
// edited lines change.
func TestEditKeepsTheRest(t *testing.T) {
	orig, err := os.ReadFile("testdata/dhcp")
	if err != nil {
		t.Fatal(err)
	}
	f := mustParse(t, string(orig))
	lan := f.Section("lan")
	if err := lan.Set("start", "200"); err != nil {
		t.Fatal(err)
	}
	dns := f.Section("@dnsmasq[0]")
	if err := dns.Set("rebind_protection", "0"); err != nil {
		t.Fatal(err)
	}
	got := text(t, f)
	want := strings.Replace(string(orig), "\toption start \t100\n", "\toption start '200'\n", 1)
	want = strings.Replace(want, "\toption rebind_protection 1  # disable if upstream must serve RFC1918 addresses\n",
		"\toption rebind_protection '0' # disable if upstream must serve RFC1918 addresses\n", 1)
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if lan.Line("start") != 32 {
		t.Errorf("Line(start) after Set = %d, want the original 32", lan.Line("start"))
	}
}

func TestEdits(t *testing.T) {
	const base = "# top\nconfig t 'a'\n\toption x '1' # about x\n\t# inner\n\tlist l 'p'\n\tlist l 'q'\n\nconfig u\n\toption y \"2\"\n"
	tests := []struct {
		name string
		edit func(t *testing.T, f *File) error
		want string
	}{
		{"set existing keeps comment", func(t *testing.T, f *File) error { return f.Section("a").Set("x", "it's") },
			"# top\nconfig t 'a'\n\toption x 'it'\\''s' # about x\n\t# inner\n\tlist l 'p'\n\tlist l 'q'\n\nconfig u\n\toption y \"2\"\n"},
		{"set same value leaves the line", func(t *testing.T, f *File) error { return f.Section("@u[0]").Set("y", "2") },
			base},
		{"set list same values leaves the lines", func(t *testing.T, f *File) error { return f.Section("a").SetList("l", []string{"p", "q"}) },
			base},
		{"set new goes after the last option", func(t *testing.T, f *File) error { return f.Section("a").Set("z", "new") },
			"# top\nconfig t 'a'\n\toption x '1' # about x\n\t# inner\n\tlist l 'p'\n\tlist l 'q'\n\toption z 'new'\n\nconfig u\n\toption y \"2\"\n"},
		{"set replaces a list", func(t *testing.T, f *File) error { return f.Section("a").Set("l", "v") },
			"# top\nconfig t 'a'\n\toption x '1' # about x\n\t# inner\n\toption l 'v'\n\nconfig u\n\toption y \"2\"\n"},
		{"set empty deletes", func(t *testing.T, f *File) error { return f.Section("a").Set("x", "") },
			"# top\nconfig t 'a'\n\t# inner\n\tlist l 'p'\n\tlist l 'q'\n\nconfig u\n\toption y \"2\"\n"},
		{"set list over option", func(t *testing.T, f *File) error { return f.Section("a").SetList("x", []string{"m", ""}) },
			"# top\nconfig t 'a'\n\tlist x 'm' # about x\n\tlist x ''\n\t# inner\n\tlist l 'p'\n\tlist l 'q'\n\nconfig u\n\toption y \"2\"\n"},
		{"set list over list", func(t *testing.T, f *File) error { return f.Section("a").SetList("l", []string{"r"}) },
			"# top\nconfig t 'a'\n\toption x '1' # about x\n\t# inner\n\tlist l 'r'\n\nconfig u\n\toption y \"2\"\n"},
		{"set empty list deletes", func(t *testing.T, f *File) error { return f.Section("a").SetList("l", nil) },
			"# top\nconfig t 'a'\n\toption x '1' # about x\n\t# inner\n\nconfig u\n\toption y \"2\"\n"},
		{"add list appends after the last value", func(t *testing.T, f *File) error { return f.Section("a").AddList("l", "r") },
			"# top\nconfig t 'a'\n\toption x '1' # about x\n\t# inner\n\tlist l 'p'\n\tlist l 'q'\n\tlist l 'r'\n\nconfig u\n\toption y \"2\"\n"},
		{"add list converts an option", func(t *testing.T, f *File) error { return f.Section("@u[-1]").AddList("y", "3") },
			"# top\nconfig t 'a'\n\toption x '1' # about x\n\t# inner\n\tlist l 'p'\n\tlist l 'q'\n\nconfig u\n\tlist y '2'\n\tlist y '3'\n"},
		{"add list new", func(t *testing.T, f *File) error { return f.Section("@u[0]").AddList("k", "v") },
			"# top\nconfig t 'a'\n\toption x '1' # about x\n\t# inner\n\tlist l 'p'\n\tlist l 'q'\n\nconfig u\n\toption y \"2\"\n\tlist k 'v'\n"},
		{"delete option", func(t *testing.T, f *File) error {
			if !f.Section("a").Delete("l") || f.Section("a").Delete("nope") {
				return errors.New("Delete result wrong")
			}
			return nil
		}, "# top\nconfig t 'a'\n\toption x '1' # about x\n\t# inner\n\nconfig u\n\toption y \"2\"\n"},
		{"add named section", func(t *testing.T, f *File) error {
			s, err := f.AddSection("v", "c")
			if err != nil {
				return err
			}
			return s.Set("k", "v")
		}, "# top\nconfig t 'a'\n\toption x '1' # about x\n\t# inner\n\tlist l 'p'\n\tlist l 'q'\n\nconfig u\n\toption y \"2\"\n\nconfig v 'c'\n\toption k 'v'\n"},
		{"add anonymous section", func(t *testing.T, f *File) error {
			_, err := f.AddSection("wifi-iface", "")
			return err
		}, "# top\nconfig t 'a'\n\toption x '1' # about x\n\t# inner\n\tlist l 'p'\n\tlist l 'q'\n\nconfig u\n\toption y \"2\"\n\nconfig wifi-iface\n"},
		{"delete first section", func(t *testing.T, f *File) error {
			if !f.DeleteSection("a") {
				return errors.New("not deleted")
			}
			return nil
		}, "# top\n\nconfig u\n\toption y \"2\"\n"},
		{"delete last section", func(t *testing.T, f *File) error {
			if !f.DeleteSection("@u[-1]") || f.DeleteSection("@u[0]") {
				return errors.New("DeleteSection result wrong")
			}
			return nil
		}, "# top\nconfig t 'a'\n\toption x '1' # about x\n\t# inner\n\tlist l 'p'\n\tlist l 'q'\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustParse(t, base)
			if err := tt.edit(t, f); err != nil {
				t.Fatal(err)
			}
			if got := text(t, f); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestEditModel(t *testing.T) {
	f := mustParse(t, "config t 'a'\n\toption x 1\n\tlist l p\n")
	s := f.Section("a")
	if err := s.AddList("x", "2"); err != nil {
		t.Fatal(err)
	}
	if !s.IsList("x") || strings.Join(s.List("x"), ",") != "1,2" {
		t.Errorf("x = %q", s.List("x"))
	}
	if _, ok := s.Get("x"); ok {
		t.Errorf("Get on a list reports ok")
	}
	if err := s.Set("l", "single"); err != nil {
		t.Fatal(err)
	}
	if got := s.List("l"); len(got) != 1 || got[0] != "single" || s.IsList("l") {
		t.Errorf("List of a plain option = %q", got)
	}
	if s.Line("l") != 3 || s.Line("new") != 0 {
		t.Errorf("Line(l) = %d", s.Line("l"))
	}
	if err := s.Set("new", "v"); err != nil {
		t.Fatal(err)
	}
	if s.Line("new") != 0 {
		t.Errorf("Line(new) = %d, want 0", s.Line("new"))
	}
	if got := strings.Join(s.Options(), ","); got != "x,l,new" {
		t.Errorf("Options = %s", got)
	}
	text(t, f)
}

func TestEditErrors(t *testing.T) {
	f := mustParse(t, "config t 'a'\nconfig t 'b'\n")
	s := f.Section("a")
	for name, err := range map[string]error{
		"bad option name": s.Set("a-b", "x"),
		"empty name":      s.Set("", "x"),
		"nul value":       s.Set("x", "a\x00b"),
		"nul list value":  s.SetList("x", []string{"ok", "\x00"}),
		"bad add list":    s.AddList("a.b", "x"),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	anon, _ := f.AddSection("t", "")
	if err := anon.Set("a-b", "x"); err == nil || !strings.Contains(err.Error(), "section @t[2]") {
		t.Errorf("error does not name the anonymous section: %v", err)
	}
	f.DeleteSection("@t[2]")
	if err := s.Set("x", "a\x00"); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("NUL: %v", err)
	}
	if err := s.Set("a b", "x"); !errors.Is(err, ErrInvalidName) {
		t.Errorf("name: %v", err)
	}
	if _, err := f.AddSection("t", "b"); !errors.Is(err, ErrSectionExists) {
		t.Errorf("duplicate section: %v", err)
	}
	if _, err := f.AddSection("a.b", ""); !errors.Is(err, ErrInvalidType) {
		t.Errorf("bad type: %v", err)
	}
	if _, err := f.AddSection("t", "x-y"); !errors.Is(err, ErrInvalidName) {
		t.Errorf("bad name: %v", err)
	}
	if !f.DeleteSection("a") {
		t.Fatal("DeleteSection failed")
	}
	if err := s.Set("x", "y"); !errors.Is(err, ErrSectionDeleted) {
		t.Errorf("Set on deleted section: %v", err)
	}
	if s.Delete("x") || s.Options() != nil || s.List("x") != nil || s.Line("x") != 0 {
		t.Errorf("deleted section still answers")
	}
	if got := text(t, f); got != "config t 'b'\n" {
		t.Errorf("after delete: %q", got)
	}
	// The name is free again.
	if _, err := f.AddSection("u", "a"); err != nil {
		t.Errorf("re-adding a deleted name: %v", err)
	}
	text(t, f)
}

func TestEditTrickyLayouts(t *testing.T) {
	tests := []struct {
		name, in string
		edit     func(f *File) error
		want     string
	}{
		{"no final newline", "config t 'a'\n\toption x 1",
			func(f *File) error { return f.Section("a").Set("y", "2") },
			"config t 'a'\n\toption x 1\n\toption y '2'\n"},
		{"add section after no final newline", "config t 'a'",
			func(f *File) error { _, err := f.AddSection("u", ""); return err },
			"config t 'a'\n\nconfig u\n"},
		{"add section to empty file", "",
			func(f *File) error { _, err := f.AddSection("u", "n"); return err },
			"config u 'n'\n"},
		{"backslash at end of file", "config t 'a'\n\toption x b\\",
			func(f *File) error { return f.Section("a").Set("y", "2") },
			"config t 'a'\n\toption x 'b'\n\toption y '2'\n"},
		{"crlf", "config t 'a'\r\n\toption x 1\r\n",
			func(f *File) error { return f.Section("a").SetList("y", []string{"1", "2"}) },
			"config t 'a'\r\n\toption x 1\r\n\tlist y '1'\r\n\tlist y '2'\r\n"},
		{"insert before a section on the same line", "config t 'a'; option x 1; config u 'b'\n",
			func(f *File) error { return f.Section("a").Set("y", "2") },
			"config t 'a'\n\toption x '1'\n\toption y '2'\nconfig u 'b'\n"},
		{"set on a shared line", "config t 'a'; option x 1; option y 2 # c\n",
			func(f *File) error { return f.Section("a").Set("x", "3") },
			"config t 'a'\n\toption x '3'\n\toption y '2' # c\n"},
		{"delete on a shared line", "config t 'a'; option x 1; config u 'b'\n",
			func(f *File) error { f.Section("a").Delete("x"); return nil },
			"config t 'a'\nconfig u 'b'\n"},
		{"delete section on a shared line", "config t 'a'; option x 1; config u 'b' # c\n\toption y 2\n",
			func(f *File) error { f.DeleteSection("a"); return nil },
			"config u 'b' # c\n\toption y 2\n"},
		{"duplicate statements collapse", "config t 'a'\n\toption x 1\n\toption z 0\n\toption x 2\n",
			func(f *File) error { return f.Section("a").Set("x", "3") },
			"config t 'a'\n\toption x '3'\n\toption z 0\n"},
		{"reopened section", "config t 'a'\n\toption x 1\nconfig u 'b'\nconfig t 'a'\n\toption y 2\n",
			func(f *File) error { return f.Section("a").Set("z", "3") },
			"config t 'a'\n\toption x 1\nconfig u 'b'\nconfig t 'a'\n\toption y 2\n\toption z '3'\n"},
		{"delete reopened section", "config t 'a'\n\toption x 1\n\nconfig u 'b'\n\nconfig t 'a'\n\toption y 2\n",
			func(f *File) error { f.DeleteSection("a"); return nil },
			"config u 'b'\n"},
		{"delete keeps comments before the next section", "config t\n\toption x 1\n\t# in\n\toption y 2\n\n# about b\nconfig u 'b'\n",
			func(f *File) error { f.DeleteSection("@t[0]"); return nil },
			"# about b\nconfig u 'b'\n"},
		{"delete middle section collapses blank lines", "config t 'a'\n\nconfig t 'b'\n\toption x 1\n\nconfig t 'c'\n",
			func(f *File) error { f.DeleteSection("b"); return nil },
			"config t 'a'\n\nconfig t 'c'\n"},
		{"multi-line value", "config t 'a'\n\toption x 'l1\nl2'\n",
			func(f *File) error { return f.Section("a").Set("x", "m1\nm2") },
			"config t 'a'\n\toption x 'm1\nm2'\n"},
		{"package kept", "package p\nconfig t 'a'\n",
			func(f *File) error { return f.Section("a").Set("x", "1") },
			"package p\nconfig t 'a'\n\toption x '1'\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustParse(t, tt.in)
			if err := tt.edit(f); err != nil {
				t.Fatal(err)
			}
			if got := text(t, f); got != tt.want {
				t.Errorf("got:\n%q\nwant:\n%q", got, tt.want)
			}
		})
	}
}
