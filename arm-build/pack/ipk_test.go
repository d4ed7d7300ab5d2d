package pack

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"strings"
	"testing"
)

func TestIPKRoundTrip(t *testing.T) {
	d, l := testPackages(t)
	for _, p := range []*Package{d, l} {
		t.Run(p.Name, func(t *testing.T) {
			b, err := BuildIPK(p)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ReadIPK(b.Data)
			if err != nil {
				t.Fatal(err)
			}
			c := got.Control
			want := map[string]string{
				"Package": p.Name, "Version": "1.2.3-r1", "Architecture": p.Arch,
				"Depends": strings.Join(p.Depends, ", "), "License": "MIT", "Maintainer": "ipopd developers",
				"Section": p.Section, "Description": p.Description,
			}
			for k, v := range want {
				if c.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, c.Get(k), v)
				}
			}
			if uint64(got.DataTarSize) != b.InstalledSize {
				t.Errorf("Installed-Size %d, data.tar %d", b.InstalledSize, got.DataTarSize)
			}
			if !strings.Contains(got.Scripts["postinst"], "default_postinst") || !strings.Contains(got.Scripts["prerm"], "default_prerm") {
				t.Errorf("scripts = %q", got.Scripts)
			}
			files := map[string]TarFile{}
			for _, f := range got.Files {
				files[f.Name] = f
			}
			for _, f := range p.Files {
				tf, ok := files["."+f.Path]
				if !ok || !bytes.Equal(tf.Data, f.Data) || tf.Mode != int64(f.Mode) {
					t.Errorf("%s: read back %v (mode %o), want mode %o", f.Path, ok, tf.Mode, f.Mode)
				}
			}
			for _, d := range p.dirs() {
				if !files["./"+d+"/"].Dir {
					t.Errorf("directory %s missing", d)
				}
			}
		})
	}
	got, _ := BuildIPK(d)
	r, _ := ReadIPK(got.Data)
	if strings.Join(r.Conffiles, ",") != "/etc/config/ipop" {
		t.Errorf("conffiles = %q", r.Conffiles)
	}
	if !strings.Contains(r.Scripts["postinst"], "/etc/init.d/ipopd enable") || !strings.Contains(r.Scripts["prerm"], "/etc/init.d/ipopd disable") ||
		!strings.Contains(r.Scripts["postinst"], ". /etc/uci-defaults/90-ipopd") {
		t.Errorf("daemon scripts do not enable/run uci-defaults/disable:\n%s\n%s", r.Scripts["postinst"], r.Scripts["prerm"])
	}
}

func TestIPKDeterministic(t *testing.T) {
	d, _ := testPackages(t)
	a, err := BuildIPK(d)
	if err != nil {
		t.Fatal(err)
	}
	d.Files[0], d.Files[1] = d.Files[1], d.Files[0] // order of the spec must not matter
	b, err := BuildIPK(d)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Data, b.Data) {
		t.Fatal("two builds of one package differ")
	}
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func tarOf(t *testing.T, format tar.Format, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		data := []byte("2.0\n")
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(data)), Format: format, Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	tw.Close()
	return buf.Bytes()
}

func TestReadIPKRejects(t *testing.T) {
	d, _ := testPackages(t)
	good, err := BuildIPK(d)
	if err != nil {
		t.Fatal(err)
	}
	outer, _ := gunzip(good.Data, "t")
	corruptHeader := append([]byte(nil), outer...)
	corruptHeader[0] ^= 0x20 // breaks the header checksum
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"ar container", []byte("!<arch>\ndebian-binary   "), "not gzip"},
		{"plain tar", outer, "not gzip"},
		{"bad checksum", gz(t, corruptHeader), "tar"},
		{"long pax name", gz(t, tarOf(t, tar.FormatPAX, "./"+strings.Repeat("x", 120))), "PAX"},
		{"missing members", gz(t, tarOf(t, tar.FormatGNU, "./debian-binary")), "members"},
		{"unexpected member", gz(t, tarOf(t, tar.FormatGNU, "./other")), "unexpected member"},
		{"empty", nil, "not gzip"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadIPK(tc.data)
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrFormat mentioning %q", err, tc.want)
			}
		})
	}
}

func TestParseParagraphs(t *testing.T) {
	tests := []struct {
		name, in string
		n        int
		wantErr  bool
	}{
		{"one", "Package: a\nVersion: 1\n", 1, false},
		{"two", "Package: a\n\nPackage: b\n", 2, false},
		{"continuation", "Package: a\nDescription: x\n more\n", 1, false},
		{"crlf", "Package: a\r\n", 1, false},
		{"no colon", "Package a\n", 0, true},
		{"dup", "Package: a\nPackage: b\n", 0, true},
		{"leading continuation", " x\n", 0, true},
		{"empty", "\n\n", 0, true},
		{"bad key", "Pack age: a\n", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := ParseParagraphs([]byte(tc.in))
			if (err != nil) != tc.wantErr || len(ps) != tc.n {
				t.Fatalf("got %d paragraphs, err %v", len(ps), err)
			}
		})
	}
	c, _ := ParseControl([]byte("Description: x\n more\n"))
	if c.Get("Description") != "x\n more" {
		t.Errorf("continuation = %q", c.Get("Description"))
	}
}
