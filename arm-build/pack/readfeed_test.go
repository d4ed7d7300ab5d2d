package pack

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeTestFeed(t *testing.T) string {
	t.Helper()
	d, l := testPackages(t)
	var entries []FeedEntry
	for _, p := range []*Package{d, l} {
		ipk, err := BuildIPK(p)
		if err != nil {
			t.Fatal(err)
		}
		apk, err := BuildAPK(p)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, FeedEntry{p, ipk, apk})
	}
	dir := t.TempDir()
	if err := WriteFeed(dir, "test feed", entries); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestFeedReadsBack(t *testing.T) {
	dir := writeTestFeed(t)
	r, err := CheckFeed(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.IPK) != 2 || len(r.APK) != 2 {
		t.Fatalf("%d ipk, %d apk", len(r.IPK), len(r.APK))
	}
	for _, n := range []string{"ipopd_1.2.3-r1_mipsel_24kc.ipk", "luci-app-ipop_1.2.3-r1_all.ipk", "ipopd-1.2.3-r1.apk", "luci-app-ipop-1.2.3-r1.apk"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Error(err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, APKIndexFile))
	idx, err := ReadAPKIndex(b)
	if err != nil || idx.Description != "test feed" || len(idx.Packages) != 2 || idx.Packages[0].Name != "ipopd" {
		t.Fatalf("index %+v, %v", idx, err)
	}
}

func TestFeedCheckCatchesTampering(t *testing.T) {
	tests := []struct {
		name string
		edit func(dir string)
		want string
	}{
		{"stale Packages", func(dir string) {
			p := filepath.Join(dir, PackagesFile)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(b), "SHA256sum: ", "SHA256sum: 0", 1)), 0o644)
		}, "Packages.gz"},
		{"unlisted ipk", func(dir string) {
			os.WriteFile(filepath.Join(dir, PackagesFile), nil, 0o644)
		}, ""},
		{"renamed apk", func(dir string) {
			os.Rename(filepath.Join(dir, "ipopd-1.2.3-r1.apk"), filepath.Join(dir, "ipopd-1.2.4-r1.apk"))
		}, "file name"},
		{"apk changed after indexing", func(dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, "ipopd-1.2.3-r1.apk"))
			os.WriteFile(filepath.Join(dir, "ipopd-1.2.3-r1.apk"), append(b, 0), 0o644)
		}, "file-size"},
		{"no index", func(dir string) { os.Remove(filepath.Join(dir, APKIndexFile)) }, "packages.adb"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeTestFeed(t)
			tc.edit(dir)
			_, err := CheckFeed(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
			if tc.name != "no index" && !errors.Is(err, ErrFormat) {
				t.Errorf("err = %v is not ErrFormat", err)
			}
		})
	}
}
