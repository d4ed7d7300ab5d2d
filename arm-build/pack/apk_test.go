package pack

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func TestAPKRoundTrip(t *testing.T) {
	d, l := testPackages(t)
	for _, p := range []*Package{d, l} {
		t.Run(p.Name, func(t *testing.T) {
			b, err := BuildAPK(p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b.Data, []byte("ADBd")) {
				t.Fatalf("starts %q, want ADBd", b.Data[:4])
			}
			got, err := ReadAPK(b.Data)
			if err != nil {
				t.Fatal(err)
			}
			in := got.Info
			wantArch := p.Arch
			if p.Arch == ArchAll {
				wantArch = "noarch"
			}
			if in.Name != p.Name || in.Version != "1.2.3-r1" || in.Arch != wantArch || in.License != "MIT" || in.Description != p.Description {
				t.Errorf("info = %+v", in)
			}
			if in.BuildTime != uint64(testTime.Unix()) || in.InstalledSize != b.InstalledSize {
				t.Errorf("build-time %d installed-size %d", in.BuildTime, in.InstalledSize)
			}
			if got.ADBHash != b.ADBHash {
				t.Error("reader and writer disagree on the ADB hash")
			}
			byPath := map[string]APKFile{}
			for _, f := range got.Files {
				byPath["/"+f.Path] = f
			}
			for _, f := range p.Files {
				af, ok := byPath[f.Path]
				if !ok || !bytes.Equal(af.Data, f.Data) || af.Mode != uint64(f.Mode) || af.User != "root" || af.Group != "root" {
					t.Errorf("%s: read back %+v", f.Path, af.Mode)
				}
			}
			if _, ok := byPath["/lib/apk/packages/"+p.Name+".list"]; !ok {
				t.Error("file list missing")
			}
			if got.Dirs[0] != "" {
				t.Errorf("first dir %q, want the root", got.Dirs[0])
			}
			if !strings.Contains(got.Scripts["post-install"], "default_postinst") || !strings.Contains(got.Scripts["pre-deinstall"], "default_prerm") {
				t.Errorf("scripts = %v", got.Scripts)
			}
		})
	}
	b, _ := BuildAPK(d)
	got, _ := ReadAPK(b.Data)
	if strings.Join(got.Info.Depends, ",") != "kmod-tun,libc" {
		t.Errorf("depends = %v, want sorted kmod-tun,libc", got.Info.Depends)
	}
	var static string
	for _, f := range got.Files {
		if f.Path == "lib/apk/packages/ipopd.conffiles_static" {
			static = string(f.Data)
		}
	}
	if !strings.HasPrefix(static, "/etc/config/ipop ") || len(strings.Fields(static)[1]) != 64 {
		t.Errorf("conffiles_static = %q", static)
	}
}

func TestAPKDeterministic(t *testing.T) {
	d, _ := testPackages(t)
	a, _ := BuildAPK(d)
	b, _ := BuildAPK(d)
	if !bytes.Equal(a.Data, b.Data) {
		t.Fatal("two builds differ")
	}
}

// uncompressed returns p's apk without the deflate wrapper, to corrupt.
func uncompressed(t *testing.T, p *Package) []byte {
	t.Helper()
	b, err := BuildAPK(p)
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := unwrapADB(b.Data)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestReadAPKRejects(t *testing.T) {
	d, _ := testPackages(t)
	raw := uncompressed(t, d)
	adbLen := int(binary.LittleEndian.Uint32(raw[8:]) & (1<<30 - 1))
	firstData := 8 + (adbLen+7)/8*8
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), raw...)) }
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"uncompressed is fine", raw, ""},
		{"bad magic", mutate(func(b []byte) []byte { b[0] = 'X'; return b }), "magic"},
		{"wrong schema", mutate(func(b []byte) []byte { copy(b[4:], "indx"); return b }), "schema"},
		{"flipped data byte", mutate(func(b []byte) []byte { b[len(b)-20] ^= 1; return b }), ""},
		{"truncated", raw[:len(raw)-100], ""},
		{"data before adb", mutate(func(b []byte) []byte { b[11] = b[11]&0x3f | 2<<6; return b }), "DATA block before"},
		{"data block index", mutate(func(b []byte) []byte { b[firstData+4]++; return b }), "not for"},
		{"zstd", append([]byte("ADBc\x02\x00"), raw...), "not supported"},
		{"short", []byte("AD"), "short"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadAPK(tc.data)
			if tc.name == "uncompressed is fine" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrFormat mentioning %q", err, tc.want)
			}
		})
	}
}

func TestADBValues(t *testing.T) {
	a := newADBBuilder()
	long := bytes.Repeat([]byte("x"), 300)
	huge := bytes.Repeat([]byte("y"), 70000)
	vals := []uint32{a.str("short"), a.blob(long), a.blob(huge), a.integer(5), a.integer(1 << 29), a.integer(1 << 40), a.blob(nil)}
	payload, err := a.finish(a.object(vals...))
	if err != nil {
		t.Fatal(err)
	}
	v := adbView{payload}
	root, _ := v.root()
	s, err := v.slots(root, adbObject)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 7 { // slot 0 + 6 fields: the trailing NULL is trimmed
		t.Fatalf("%d slots", len(s))
	}
	for i, want := range [][]byte{[]byte("short"), long, huge} {
		if got, err := v.blob(s[i+1]); err != nil || !bytes.Equal(got, want) {
			t.Errorf("blob %d: %v", i, err)
		}
	}
	for i, want := range []uint64{5, 1 << 29, 1 << 40} {
		if got, err := v.integer(s[i+4]); err != nil || got != want {
			t.Errorf("int %d = %d, %v", i, got, err)
		}
	}
	if s[2]>>28 != adbBlob16 || s[3]>>28 != adbBlob32 || s[5]>>28 != adbInt32 || s[6]>>28 != adbInt64 {
		t.Errorf("types %x", s)
	}
	if _, err := v.blob(adbBlob8<<28 | uint32(len(payload)-1)); err == nil {
		t.Error("blob past the end accepted")
	}
	if _, err := v.slots(adbObject<<28|2, adbObject); err == nil {
		t.Error("unaligned object accepted")
	}
	if _, err := v.integer(adbObject<<28 | 8); err == nil {
		t.Error("object read as an integer")
	}
	_ = sha256.Size
}
