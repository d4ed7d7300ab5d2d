package pack

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"
)

// File is one regular file of a package.
type File struct {
	Path string      // absolute install path, "/usr/sbin/ipopd"
	Mode fs.FileMode // permission bits only (0644, 0755)
	Data []byte
}

// Package describes one package independent of its format.
type Package struct {
	Name        string   // [a-z0-9][a-z0-9_.+-]*
	Version     string   // apk syntax with release, "1.2.3-r1" (see PackageVersion)
	Arch        string   // OpenWrt package arch ("mipsel_24kc") or "all"
	Depends     []string // package names
	Description string   // one line
	License     string
	Maintainer  string
	Section     string
	URL         string
	Files       []File
	Conffiles   []string // absolute paths of files in Files that users edit
	PostInst    string   // script text or ""
	PreRm       string   // script text or ""
	MTime       time.Time
}

// ArchAll is the architecture of architecture-independent packages; apk
// calls it noarch (FORMATS.md apk: "OpenWrt uses arch:noarch for PKGARCH=all").
const ArchAll = "all"

func apkArch(arch string) string {
	if arch == ArchAll {
		return "noarch"
	}
	return arch
}

// IPKName is the file name opkg's convention gives the package
// (FORMATS.md ipk: <Package>_<Version>_<Architecture>.ipk).
func (p *Package) IPKName() string { return p.Name + "_" + p.Version + "_" + p.Arch + ".ipk" }

// APKName is the file name apk's default pkgname-spec gives it, ${name}-${version}.apk.
func (p *Package) APKName() string { return p.Name + "-" + p.Version + ".apk" }

func validName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z'
		if i > 0 {
			ok = ok || c == '_' || c == '.' || c == '+' || c == '-'
		}
		if !ok {
			return false
		}
	}
	return true
}

// cleanPath checks that p is an absolute, clean, ASCII path and returns it
// without the leading slash.
func cleanPath(p string) (string, error) {
	if !strings.HasPrefix(p, "/") || path.Clean(p) != p || p == "/" {
		return "", fmt.Errorf("%w: path %q is not absolute and clean", ErrSpec, p)
	}
	for _, c := range p {
		if c <= ' ' || c >= 0x7f || c == '\\' {
			return "", fmt.Errorf("%w: path %q: only printable ASCII without spaces is packaged", ErrSpec, p)
		}
	}
	if len(p) > 255 {
		return "", fmt.Errorf("%w: path %q longer than 255 bytes", ErrSpec, p)
	}
	return p[1:], nil
}

// Validate checks everything the writers rely on.
func (p *Package) Validate() error {
	if !validName(p.Name) {
		return fmt.Errorf("%w: package name %q (want [a-zA-Z0-9][a-zA-Z0-9_.+-]*)", ErrSpec, p.Name)
	}
	if err := ValidateVersion(p.Version); err != nil {
		return fmt.Errorf("%w: package %s: %v", ErrSpec, p.Name, err)
	}
	if !validName(p.Arch) || p.Arch == "noarch" {
		return fmt.Errorf("%w: package %s: architecture %q", ErrSpec, p.Name, p.Arch)
	}
	for _, d := range p.Depends {
		if !validName(d) {
			return fmt.Errorf("%w: package %s: dependency %q", ErrSpec, p.Name, d)
		}
	}
	for _, s := range []struct{ name, v string }{{"Description", p.Description}, {"License", p.License}, {"Maintainer", p.Maintainer}, {"Section", p.Section}, {"URL", p.URL}} {
		if strings.ContainsAny(s.v, "\n\r") {
			return fmt.Errorf("%w: package %s: %s has a line break", ErrSpec, p.Name, s.name)
		}
	}
	if p.Description == "" {
		return fmt.Errorf("%w: package %s: no description", ErrSpec, p.Name)
	}
	if len(p.Files) == 0 {
		return fmt.Errorf("%w: package %s has no files", ErrSpec, p.Name)
	}
	seen := map[string]bool{}
	for _, f := range p.Files {
		rel, err := cleanPath(f.Path)
		if err != nil {
			return fmt.Errorf("package %s: %w", p.Name, err)
		}
		if seen[rel] {
			return fmt.Errorf("%w: package %s: %s listed twice", ErrSpec, p.Name, f.Path)
		}
		seen[rel] = true
		if f.Mode&^fs.ModePerm != 0 {
			return fmt.Errorf("%w: package %s: %s: mode %v is not plain permission bits", ErrSpec, p.Name, f.Path, f.Mode)
		}
	}
	for _, d := range p.dirs() {
		if seen[d] {
			return fmt.Errorf("%w: package %s: /%s is both a file and a directory", ErrSpec, p.Name, d)
		}
	}
	for _, c := range p.Conffiles {
		if _, err := cleanPath(c); err != nil || !seen[c[1:]] {
			return fmt.Errorf("%w: package %s: conffile %q is not one of its files", ErrSpec, p.Name, c)
		}
	}
	if p.MTime.Unix() < 0 || p.MTime.Unix() > 1<<33-1 {
		return fmt.Errorf("%w: package %s: mtime %v does not fit a tar header", ErrSpec, p.Name, p.MTime)
	}
	return nil
}

// dirs lists every directory that holds a file, relative and without
// slashes, sorted bytewise (parents sort before their children).
func (p *Package) dirs() []string {
	set := map[string]bool{}
	for _, f := range p.Files {
		d := path.Dir(strings.TrimPrefix(f.Path, "/"))
		for d != "." && !set[d] {
			set[d] = true
			d = path.Dir(d)
		}
	}
	out := make([]string, 0, len(set))
	for d := range set {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// sortedFiles returns the files sorted by path, so output does not depend on
// the order a caller listed them in.
func (p *Package) sortedFiles() []File {
	fs := append([]File(nil), p.Files...)
	sort.Slice(fs, func(i, j int) bool { return fs[i].Path < fs[j].Path })
	return fs
}
