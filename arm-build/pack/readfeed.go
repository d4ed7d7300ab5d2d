package pack

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// FeedReport is what CheckFeed found in one feed directory.
type FeedReport struct {
	IPK map[string]*IPK // by file name
	APK map[string]*APK // by file name
}

// CheckFeed reads back every .ipk and .apk in dir with ReadIPK and ReadAPK
// and checks the indexes against them: every package listed exactly once in
// Packages (FORMATS.md ipk "Index-only: Filename, Size, SHA256sum"), in
// Packages.gz with the same text, and in packages.adb with hashes = SHA-256
// of its ADB block and file-size = its size (FORMATS.md apk 8); and each file
// named as its manager expects.
func CheckFeed(dir string) (*FeedReport, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	r := &FeedReport{IPK: map[string]*IPK{}, APK: map[string]*APK{}}
	raw := map[string][]byte{}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".ipk") && !strings.HasSuffix(name, ".apk") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("feed: %w", err)
		}
		raw[name] = b
		if strings.HasSuffix(name, ".ipk") {
			p, err := ReadIPK(b)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			c := p.Control
			if want := c.Get("Package") + "_" + c.Get("Version") + "_" + c.Get("Architecture") + ".ipk"; name != want {
				return nil, fmt.Errorf("%s: %w: file name should be %s", name, ErrFormat, want)
			}
			r.IPK[name] = p
			continue
		}
		p, err := ReadAPK(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if want := p.Info.Name + "-" + p.Info.Version + ".apk"; name != want {
			return nil, fmt.Errorf("%s: %w: file name should be %s", name, ErrFormat, want)
		}
		r.APK[name] = p
	}
	if len(r.IPK) > 0 {
		if err := checkPackagesIndex(dir, r.IPK, raw); err != nil {
			return nil, err
		}
	}
	if len(r.APK) > 0 {
		if err := checkAPKIndex(dir, r.APK, raw); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func checkPackagesIndex(dir string, ipks map[string]*IPK, raw map[string][]byte) error {
	text, err := os.ReadFile(filepath.Join(dir, PackagesFile))
	if err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	gz, err := os.ReadFile(filepath.Join(dir, PackagesGzFile))
	if err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	if plain, err := gunzip(gz, PackagesGzFile); err != nil {
		return err
	} else if !bytes.Equal(plain, text) {
		return formatErr("%s does not hold the text of %s", PackagesGzFile, PackagesFile)
	}
	paras, err := ParseParagraphs(text)
	if err != nil {
		return fmt.Errorf("%s: %w", PackagesFile, err)
	}
	listed := map[string]bool{}
	for _, c := range paras {
		fn := c.Get("Filename")
		p, ok := ipks[fn]
		if !ok || listed[fn] {
			return formatErr("%s: Filename %q is not a package here, or listed twice", PackagesFile, fn)
		}
		listed[fn] = true
		sum := sha256.Sum256(raw[fn])
		if c.Get("Size") != strconv.Itoa(len(raw[fn])) || c.Get("SHA256sum") != hex.EncodeToString(sum[:]) {
			return formatErr("%s: %s: Size/SHA256sum do not match the file", PackagesFile, fn)
		}
		for _, k := range []string{"Package", "Version", "Architecture", "Depends", "Installed-Size"} {
			if c.Get(k) != p.Control.Get(k) {
				return formatErr("%s: %s: %s %q, the package says %q", PackagesFile, fn, k, c.Get(k), p.Control.Get(k))
			}
		}
	}
	return missing(PackagesFile, ipks, listed)
}

func checkAPKIndex(dir string, apks map[string]*APK, raw map[string][]byte) error {
	b, err := os.ReadFile(filepath.Join(dir, APKIndexFile))
	if err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	idx, err := ReadAPKIndex(b)
	if err != nil {
		return fmt.Errorf("%s: %w", APKIndexFile, err)
	}
	listed := map[string]bool{}
	for _, in := range idx.Packages {
		fn := in.Name + "-" + in.Version + ".apk"
		p, ok := apks[fn]
		if !ok || listed[fn] {
			return formatErr("%s: %s is not a package here, or listed twice", APKIndexFile, fn)
		}
		listed[fn] = true
		if !bytes.Equal(in.Hashes, p.ADBHash[:]) {
			return formatErr("%s: %s: hashes is not the SHA-256 of its ADB block", APKIndexFile, fn)
		}
		if in.FileSize != uint64(len(raw[fn])) {
			return formatErr("%s: %s: file-size %d, the file has %d bytes", APKIndexFile, fn, in.FileSize, len(raw[fn]))
		}
		if in.Arch != p.Info.Arch || in.InstalledSize != p.Info.InstalledSize || strings.Join(in.Depends, ",") != strings.Join(p.Info.Depends, ",") {
			return formatErr("%s: %s: arch, installed-size or depends differ from the package", APKIndexFile, fn)
		}
	}
	return missing(APKIndexFile, apks, listed)
}

func missing[T any](index string, all map[string]T, listed map[string]bool) error {
	var not []string
	for n := range all {
		if !listed[n] {
			not = append(not, n)
		}
	}
	if len(not) > 0 {
		sort.Strings(not)
		return formatErr("%s does not list %s", index, strings.Join(not, ", "))
	}
	return nil
}
