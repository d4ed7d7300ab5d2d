package pack

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// A flat apt repository (the "Flat Repository Format" of the Debian wiki's
// DebianRepository/Format): one directory holding the .deb files, a
// Packages index with their control paragraphs plus Filename, Size and
// hashes, Packages.gz, and a Release file with the hashes of both indexes.
// apt takes it as
//
//	deb [trusted=yes] file:/path/to/dist/deb ./
//
// [trusted=yes] because nothing is signed (no Release.gpg, no InRelease).

// DebEntry is one package of a repository with its built file.
type DebEntry struct {
	Pkg *DebPackage
	Deb *Built
}

// ReleaseFile is the name of the repository's Release file.
const ReleaseFile = "Release"

// debPackagesText renders the Packages index, sorted by name then
// architecture so the same packages give the same bytes.
func debPackagesText(entries []DebEntry) string {
	sorted := append([]DebEntry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool {
		a, b := sorted[i].Pkg, sorted[j].Pkg
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Arch < b.Arch
	})
	var b strings.Builder
	for i, e := range sorted {
		if i > 0 {
			b.WriteString("\n")
		}
		md := md5.Sum(e.Deb.Data)
		sha := sha256.Sum256(e.Deb.Data)
		b.WriteString(e.Pkg.controlText())
		fmt.Fprintf(&b, "Filename: ./%s\nSize: %d\nMD5sum: %s\nSHA256: %s\n",
			e.Pkg.DebName(), len(e.Deb.Data), hex.EncodeToString(md[:]), hex.EncodeToString(sha[:]))
	}
	return b.String()
}

// releaseText renders the Release file: the architectures, a date (the
// packages' mtime, so rebuilding gives the same bytes) and MD5Sum and
// SHA256 lines for each index file.
func releaseText(origin string, archs []string, date time.Time, files map[string][]byte) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "Origin: %s\nLabel: %s\nArchitectures: %s\nDate: %s\n", origin, origin,
		strings.Join(archs, " "), date.UTC().Format("Mon, 02 Jan 2006 15:04:05 UTC"))
	b.WriteString("MD5Sum:\n")
	for _, n := range names {
		s := md5.Sum(files[n])
		fmt.Fprintf(&b, " %s %d %s\n", hex.EncodeToString(s[:]), len(files[n]), n)
	}
	b.WriteString("SHA256:\n")
	for _, n := range names {
		s := sha256.Sum256(files[n])
		fmt.Fprintf(&b, " %s %d %s\n", hex.EncodeToString(s[:]), len(files[n]), n)
	}
	return b.String()
}

// WriteDebRepo writes entries and their indexes into dir, replacing what a
// previous run left there.
func WriteDebRepo(dir, origin string, entries []DebEntry) error {
	if len(entries) == 0 {
		return fmt.Errorf("%w: deb repository %s: no packages", ErrSpec, dir)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("deb repository: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("deb repository: %w", err)
	}
	seen := map[string]bool{}
	archSet := map[string]bool{}
	var mtime time.Time
	for _, e := range entries {
		if e.Pkg == nil || e.Deb == nil {
			return fmt.Errorf("%w: deb repository entry without package or file", ErrSpec)
		}
		name := e.Pkg.DebName()
		if seen[name] {
			return fmt.Errorf("%w: deb repository %s: %s twice", ErrSpec, dir, name)
		}
		seen[name] = true
		archSet[e.Pkg.Arch] = true
		if e.Pkg.MTime.After(mtime) {
			mtime = e.Pkg.MTime
		}
		if err := os.WriteFile(filepath.Join(dir, name), e.Deb.Data, 0o644); err != nil {
			return fmt.Errorf("deb repository: %w", err)
		}
	}
	idx := []byte(debPackagesText(entries))
	gz, err := gzipBytes(idx)
	if err != nil {
		return err
	}
	archs := make([]string, 0, len(archSet))
	for a := range archSet {
		archs = append(archs, a)
	}
	sort.Strings(archs)
	indexes := map[string][]byte{PackagesFile: idx, PackagesGzFile: gz}
	indexes[ReleaseFile] = []byte(releaseText(origin, archs, mtime, indexes))
	for name, data := range indexes {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("deb repository: %w", err)
		}
	}
	return nil
}

// CheckDebRepo reads back every .deb in dir with ReadDeb and checks the
// indexes against them: each .deb named name_version_arch.deb after its
// control file and listed once in Packages with its size and hashes and
// the same control fields; Packages.gz the same text; Release the right
// sizes and hashes of both and every architecture. It returns the
// packages by file name.
func CheckDebRepo(dir string) (map[string]*Deb, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("deb repository: %w", err)
	}
	debs := map[string]*Deb{}
	raw := map[string][]byte{}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".deb") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("deb repository: %w", err)
		}
		d, err := ReadDeb(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		c := d.Control
		if want := c.Get("Package") + "_" + c.Get("Version") + "_" + c.Get("Architecture") + ".deb"; e.Name() != want {
			return nil, fmt.Errorf("%s: %w: file name should be %s", e.Name(), ErrFormat, want)
		}
		debs[e.Name()], raw[e.Name()] = d, b
	}
	if len(debs) == 0 {
		return nil, fmt.Errorf("deb repository %s: %w: no .deb files", dir, ErrFormat)
	}
	idx, err := os.ReadFile(filepath.Join(dir, PackagesFile))
	if err != nil {
		return nil, fmt.Errorf("deb repository: %w", err)
	}
	gz, err := os.ReadFile(filepath.Join(dir, PackagesGzFile))
	if err != nil {
		return nil, fmt.Errorf("deb repository: %w", err)
	}
	unz, err := gunzip(gz, PackagesGzFile)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(unz, idx) {
		return nil, formatErr("%s: %s is not %s compressed", dir, PackagesGzFile, PackagesFile)
	}
	paras, err := ParseParagraphs(idx)
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", dir, PackagesFile, err)
	}
	listed := map[string]bool{}
	archs := map[string]bool{}
	for _, p := range paras {
		name := strings.TrimPrefix(p.Get("Filename"), "./")
		b, ok := raw[name]
		if !ok || listed[name] {
			return nil, formatErr("%s: Filename %q is not a .deb of the directory, or is listed twice", PackagesFile, p.Get("Filename"))
		}
		listed[name] = true
		md := md5.Sum(b)
		sha := sha256.Sum256(b)
		if p.Get("Size") != strconv.Itoa(len(b)) || p.Get("MD5sum") != hex.EncodeToString(md[:]) || p.Get("SHA256") != hex.EncodeToString(sha[:]) {
			return nil, formatErr("%s: %s: Size, MD5sum or SHA256 does not match the file", PackagesFile, name)
		}
		for _, f := range debs[name].Control.Fields {
			if p.Get(f.Key) != f.Value {
				return nil, formatErr("%s: %s: %s is %q, the package says %q", PackagesFile, name, f.Key, p.Get(f.Key), f.Value)
			}
		}
		archs[p.Get("Architecture")] = true
	}
	if len(listed) != len(raw) {
		return nil, formatErr("%s lists %d of the %d .deb files", PackagesFile, len(listed), len(raw))
	}
	rel, err := os.ReadFile(filepath.Join(dir, ReleaseFile))
	if err != nil {
		return nil, fmt.Errorf("deb repository: %w", err)
	}
	if err := checkRelease(rel, archs, map[string][]byte{PackagesFile: idx, PackagesGzFile: gz}); err != nil {
		return nil, err
	}
	return debs, nil
}

// checkRelease checks that the Release file names every architecture and
// gives the right size, MD5 and SHA-256 of each index file.
func checkRelease(rel []byte, archs map[string]bool, files map[string][]byte) error {
	c, err := ParseControl(rel)
	if err != nil {
		return fmt.Errorf("%s: %w", ReleaseFile, err)
	}
	have := map[string]bool{}
	for _, a := range strings.Fields(c.Get("Architectures")) {
		have[a] = true
	}
	for a := range archs {
		if !have[a] {
			return formatErr("%s: Architectures %q lacks %s", ReleaseFile, c.Get("Architectures"), a)
		}
	}
	if _, err := time.Parse("Mon, 02 Jan 2006 15:04:05 MST", c.Get("Date")); err != nil {
		return formatErr("%s: Date %q: %v", ReleaseFile, c.Get("Date"), err)
	}
	for _, h := range []struct {
		field string
		sum   func([]byte) string
	}{
		{"MD5Sum", func(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }},
		{"SHA256", func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }},
	} {
		got := map[string]string{}
		for _, l := range strings.Split(c.Get(h.field), "\n") {
			if f := strings.Fields(l); len(f) == 3 {
				got[f[2]] = f[0] + " " + f[1]
			}
		}
		for name, b := range files {
			if want := h.sum(b) + " " + strconv.Itoa(len(b)); got[name] != want {
				return formatErr("%s: %s of %s is %q, want %q", ReleaseFile, h.field, name, got[name], want)
			}
		}
	}
	return nil
}
