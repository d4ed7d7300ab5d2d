package pack

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// FeedEntry is one package of a feed in both formats.
type FeedEntry struct {
	Pkg      *Package
	IPK, APK *Built
}

// Feed index file names (FORMATS.md ipk "Index-only: Filename, Size,
// SHA256sum"; FORMATS.md apk 8).
const (
	PackagesFile   = "Packages"
	PackagesGzFile = "Packages.gz"
	APKIndexFile   = "packages.adb"
)

// packagesText renders opkg's Packages index: each package's control
// paragraph plus Filename, Size and SHA256sum, separated by blank lines.
func packagesText(entries []FeedEntry) string {
	var b strings.Builder
	for i, e := range entries {
		if i > 0 {
			b.WriteString("\n")
		}
		sum := sha256.Sum256(e.IPK.Data)
		b.WriteString(e.Pkg.controlText(int(e.IPK.InstalledSize)))
		fmt.Fprintf(&b, "Filename: %s\nSize: %d\nSHA256sum: %s\n", e.Pkg.IPKName(), len(e.IPK.Data), hex.EncodeToString(sum[:]))
	}
	return b.String()
}

// BuildAPKIndex returns an unsigned packages.adb listing entries: object
// {1 description, 2 packages}, each package its info object with hashes =
// SHA-256 of its ADB block payload and file-size = size of the .apk
// (FORMATS.md apk 8), sorted by name then version.
func BuildAPKIndex(description string, entries []FeedEntry) ([]byte, error) {
	sorted := append([]FeedEntry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool {
		a, b := sorted[i].Pkg, sorted[j].Pkg
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Version < b.Version
	})
	a := newADBBuilder()
	var pkgs []uint32
	for _, e := range sorted {
		h := e.APK.ADBHash
		pkgs = append(pkgs, e.Pkg.writeInfo(a, e.APK.InstalledSize, h[:], uint64(len(e.APK.Data))))
	}
	payload, err := a.finish(a.object(a.str(description), a.array(pkgs)))
	if err != nil {
		return nil, err
	}
	file, err := appendBlock([]byte(adbMagic+schemaIndex), blockADB, payload)
	if err != nil {
		return nil, err
	}
	return deflateADB(file)
}

// WriteFeed writes every package of entries into dir in both formats, with
// the opkg and apk indexes, so dir is a local feed for either manager. All
// packages of one feed must have distinct names: apk file names carry no
// architecture.
func WriteFeed(dir, description string, entries []FeedEntry) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if e.Pkg == nil || e.IPK == nil || e.APK == nil {
			return fmt.Errorf("%w: feed entry without package or built files", ErrSpec)
		}
		if seen[e.Pkg.Name] {
			return fmt.Errorf("%w: feed %s: package %s twice", ErrSpec, dir, e.Pkg.Name)
		}
		seen[e.Pkg.Name] = true
		if err := os.WriteFile(filepath.Join(dir, e.Pkg.IPKName()), e.IPK.Data, 0o644); err != nil {
			return fmt.Errorf("feed: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Pkg.APKName()), e.APK.Data, 0o644); err != nil {
			return fmt.Errorf("feed: %w", err)
		}
	}
	idx := packagesText(entries)
	gz, err := gzipBytes([]byte(idx))
	if err != nil {
		return err
	}
	adb, err := BuildAPKIndex(description, entries)
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{PackagesFile: []byte(idx), PackagesGzFile: gz, APKIndexFile: adb} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("feed: %w", err)
		}
	}
	return nil
}
