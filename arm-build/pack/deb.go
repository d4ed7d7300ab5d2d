package pack

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// A .deb (deb(5)) is an ar archive of three members, in this order:
//
//	debian-binary   "2.0\n"
//	control.tar.gz  ./control ./md5sums [./conffiles] [./preinst ./postinst ./prerm ./postrm]
//	data.tar.gz     ./ ./etc/ ./etc/config/ ./etc/config/ipop ... (uid/gid 0)
//
// ar (deb-ar(5)): the magic "!<arch>\n", then per member a 60-byte header
// (name 16, mtime 12, uid 6, gid 6, octal mode 8, size 10, "`\n", all
// space-padded ASCII) and the data, padded with "\n" to an even length.

// DebPackage describes one Debian binary package.
type DebPackage struct {
	Name       string // [a-z0-9][a-z0-9+.-]+ (Debian policy 5.6.1)
	Version    string // Debian syntax, see DebVersion
	Arch       string // Debian architecture: amd64, arm64, armhf, all
	Maintainer string // "Name <email>" (policy 5.6.2)
	Section    string
	Priority   string
	Homepage   string
	Depends    []string
	Summary    string   // the Description's first line
	Long       []string // the extended description, one paragraph each
	Files      []File
	// Dirs are directories with a mode other than 0755, or that must exist
	// though they hold no file (the state directory /etc/ipop, 0700).
	Dirs      []Dir
	Conffiles []string
	// Scripts are the maintainer scripts by name: preinst, postinst,
	// prerm, postrm.
	Scripts map[string]string
	MTime   time.Time
}

// Dir is a directory of a package with its mode.
type Dir struct {
	Path string
	Mode fs.FileMode
}

// DebName is the file name Debian gives the package: name_version_arch.deb.
func (d *DebPackage) DebName() string { return d.Name + "_" + d.Version + "_" + d.Arch + ".deb" }

var debScripts = []string{"preinst", "postinst", "prerm", "postrm"}

func validDebName(s string) bool {
	if len(s) < 2 || len(s) > 128 {
		return false
	}
	for i, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if i > 0 {
			ok = ok || c == '+' || c == '-' || c == '.'
		}
		if !ok {
			return false
		}
	}
	return true
}

// Validate checks what BuildDeb and dpkg rely on.
func (d *DebPackage) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: deb %s: "+format, append([]any{ErrSpec, d.Name}, args...)...)
	}
	if !validDebName(d.Name) {
		return bad("package name (want [a-z0-9][a-z0-9+.-]+)")
	}
	if err := ValidateDebVersion(d.Version); err != nil {
		return bad("%v", err)
	}
	if !validDebName(d.Arch) {
		return bad("architecture %q", d.Arch)
	}
	if !strings.Contains(d.Maintainer, "<") || !strings.HasSuffix(d.Maintainer, ">") || !strings.Contains(d.Maintainer, "@") {
		return bad("maintainer %q is not \"Name <email>\"", d.Maintainer)
	}
	for _, dep := range d.Depends {
		if !validDebName(strings.Fields(dep + " x")[0]) {
			return bad("dependency %q", dep)
		}
	}
	if d.Summary == "" {
		return bad("no summary")
	}
	for _, s := range append([]string{d.Summary, d.Maintainer, d.Section, d.Priority, d.Homepage}, d.Long...) {
		if strings.ContainsAny(s, "\n\r") {
			return bad("a control field has a line break: %q", s)
		}
	}
	if len(d.Files) == 0 {
		return bad("no files")
	}
	seen := map[string]bool{}
	for _, f := range d.Files {
		if _, err := cleanPath(f.Path); err != nil {
			return bad("%v", err)
		}
		if seen[f.Path] {
			return bad("%s listed twice", f.Path)
		}
		seen[f.Path] = true
		if f.Mode&^fs.ModePerm != 0 {
			return bad("%s: mode %v is not plain permission bits", f.Path, f.Mode)
		}
	}
	for _, dir := range d.Dirs {
		if _, err := cleanPath(dir.Path); err != nil {
			return bad("%v", err)
		}
		if seen[dir.Path] {
			return bad("%s is both a file and a directory", dir.Path)
		}
		if dir.Mode&^fs.ModePerm != 0 {
			return bad("%s: mode %v is not plain permission bits", dir.Path, dir.Mode)
		}
	}
	for _, dir := range d.dirModes() {
		if seen[dir.Path] {
			return bad("%s is both a file and a directory", dir.Path)
		}
	}
	for _, c := range d.Conffiles {
		if !seen[c] {
			return bad("conffile %q is not one of its files", c)
		}
	}
	for name, s := range d.Scripts {
		if !contains(debScripts, name) {
			return bad("unknown maintainer script %q", name)
		}
		if !strings.HasPrefix(s, "#!") {
			return bad("%s does not start with #!", name)
		}
	}
	if d.MTime.Unix() < 0 || d.MTime.Unix() > 1<<33-1 {
		return bad("mtime %v does not fit a tar header", d.MTime)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// dirModes lists every directory of the package, the parents of its files
// and d.Dirs, with its mode (0755 unless d.Dirs says otherwise), sorted.
func (d *DebPackage) dirModes() []Dir {
	modes := map[string]fs.FileMode{}
	add := func(p string) {
		for p != "/" && p != "." {
			if _, ok := modes[p]; !ok {
				modes[p] = 0o755
			}
			p = path.Dir(p)
		}
	}
	for _, f := range d.Files {
		add(path.Dir(f.Path))
	}
	for _, dir := range d.Dirs {
		add(dir.Path)
	}
	for _, dir := range d.Dirs {
		modes[dir.Path] = dir.Mode
	}
	out := make([]Dir, 0, len(modes))
	for p, m := range modes {
		out = append(out, Dir{p, m})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// dataEntries lists the payload: "./", the directories and the files, in
// path order so that a directory precedes what it holds.
func (d *DebPackage) dataEntries() []tarEntry {
	es := []tarEntry{{name: "./", mode: 0o755, dir: true}}
	for _, dir := range d.dirModes() {
		es = append(es, tarEntry{name: "." + dir.Path + "/", mode: dir.Mode, dir: true})
	}
	for _, f := range d.Files {
		es = append(es, tarEntry{name: "." + f.Path, mode: f.Mode, data: f.Data})
	}
	key := func(e tarEntry) string { return strings.TrimSuffix(e.name, "/") }
	sort.SliceStable(es, func(i, j int) bool { return key(es[i]) < key(es[j]) })
	return es
}

// InstalledSizeKiB is what dpkg-gencontrol puts in Installed-Size: each
// file rounded up to KiB plus one KiB per directory.
func (d *DebPackage) InstalledSizeKiB() int {
	n := len(d.dirModes())
	for _, f := range d.Files {
		n += (len(f.Data) + 1023) / 1024
	}
	return n
}

// controlText renders the control file in dpkg-gencontrol's field order.
func (d *DebPackage) controlText() string {
	var b strings.Builder
	field := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	field("Package", d.Name)
	field("Version", d.Version)
	field("Architecture", d.Arch)
	field("Maintainer", d.Maintainer)
	field("Installed-Size", strconv.Itoa(d.InstalledSizeKiB()))
	field("Depends", strings.Join(d.Depends, ", "))
	field("Section", d.Section)
	field("Priority", d.Priority)
	field("Homepage", d.Homepage)
	field("Description", d.Summary)
	// Extended description: each line starts with a space, paragraphs are
	// separated by " ." (policy 5.6.13).
	for i, p := range d.Long {
		if i > 0 {
			b.WriteString(" .\n")
		}
		for _, l := range wrap(p, 79) {
			b.WriteString(" " + l + "\n")
		}
	}
	return b.String()
}

// wrap breaks s into lines of at most width bytes at spaces.
func wrap(s string, width int) []string {
	var out []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > width {
			out = append(out, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		out = append(out, line)
	}
	return out
}

// md5sumsText lists the MD5 of every file but the conffiles (dpkg keeps
// those hashes itself), as dh_md5sums writes it.
func (d *DebPackage) md5sumsText() string {
	files := append([]File(nil), d.Files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	var b strings.Builder
	for _, f := range files {
		if contains(d.Conffiles, f.Path) {
			continue
		}
		sum := md5.Sum(f.Data)
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(sum[:]), f.Path[1:])
	}
	return b.String()
}

// BuildDeb returns d as a .deb file; Built.InstalledSize is in KiB, as the
// control file says.
func BuildDeb(d *DebPackage) (*Built, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	dataTar, err := writeTar(d.dataEntries(), d.MTime)
	if err != nil {
		return nil, err
	}
	dataGz, err := gzipBytes(dataTar)
	if err != nil {
		return nil, err
	}
	ctl := []tarEntry{
		{name: "./", mode: 0o755, dir: true},
		{name: "./control", mode: 0o644, data: []byte(d.controlText())},
		{name: "./md5sums", mode: 0o644, data: []byte(d.md5sumsText())},
	}
	if len(d.Conffiles) > 0 {
		ctl = append(ctl, tarEntry{name: "./conffiles", mode: 0o644, data: []byte(strings.Join(d.Conffiles, "\n") + "\n")})
	}
	for _, name := range debScripts {
		if s, ok := d.Scripts[name]; ok {
			ctl = append(ctl, tarEntry{name: "./" + name, mode: 0o755, data: []byte(s)})
		}
	}
	ctlTar, err := writeTar(ctl, d.MTime)
	if err != nil {
		return nil, err
	}
	ctlGz, err := gzipBytes(ctlTar)
	if err != nil {
		return nil, err
	}
	ar, err := writeAr([]arMember{
		{"debian-binary", []byte("2.0\n")},
		{"control.tar.gz", ctlGz},
		{"data.tar.gz", dataGz},
	}, d.MTime)
	if err != nil {
		return nil, err
	}
	return &Built{Data: ar, InstalledSize: uint64(d.InstalledSizeKiB())}, nil
}

type arMember struct {
	name string
	data []byte
}

const arMagic = "!<arch>\n"

// writeAr writes members as a System V ar archive the way dpkg-deb does:
// names without the GNU "/" terminator, owner 0, mode 100644.
func writeAr(members []arMember, mtime time.Time) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(arMagic)
	for _, m := range members {
		if len(m.name) > 16 || strings.ContainsAny(m.name, " /") {
			return nil, fmt.Errorf("%w: ar member name %q", ErrSpec, m.name)
		}
		if len(m.data) > 9999999999 {
			return nil, fmt.Errorf("%w: ar member %s too large", ErrSpec, m.name)
		}
		fmt.Fprintf(&b, "%-16s%-12d%-6d%-6d%-8o%-10d`\n", m.name, mtime.Unix(), 0, 0, 0o100644, len(m.data))
		b.Write(m.data)
		if len(m.data)%2 == 1 {
			b.WriteByte('\n')
		}
	}
	return b.Bytes(), nil
}

// ValidateDebVersion checks v against deb-version(7): [epoch:]upstream
// [-revision]; upstream starts with a digit and holds alphanumerics and
// ".+~-" (the hyphen only when there is a revision), the revision
// alphanumerics and "+.~". We never use an epoch.
func ValidateDebVersion(v string) error {
	up, rev := v, ""
	if i := strings.LastIndex(v, "-"); i >= 0 {
		up, rev = v[:i], v[i+1:]
		if rev == "" || strings.Trim(rev, debVersionChars) != "" {
			return fmt.Errorf("version %q: revision %q (want alphanumerics and +.~)", v, rev)
		}
	}
	if up == "" || up[0] < '0' || up[0] > '9' {
		return fmt.Errorf("version %q: must start with a digit", v)
	}
	if strings.Trim(up, debVersionChars+"-") != "" {
		return fmt.Errorf("version %q: upstream part holds characters outside alphanumerics and .+~-", v)
	}
	return nil
}

const debVersionChars = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.+~"

// DebVersion turns a package version from PackageVersion (apk syntax,
// "1.2.3_p4-r1") into a Debian one that dpkg orders the same way:
//
//	1.2.3-r1      -> 1.2.3-1
//	1.2.3_p4-r1   -> 1.2.3+p4-1   (after 1.2.3)
//	0_git12-r1    -> 0+git12-1
//	1.2.3_rc1-r1  -> 1.2.3~rc1-1  (before 1.2.3: alpha, beta, pre and rc)
func DebVersion(apkVersion string) (string, error) {
	if err := ValidateVersion(apkVersion); err != nil {
		return "", fmt.Errorf("%w: %v", ErrSpec, err)
	}
	main, rel, _ := strings.Cut(apkVersion, "-r")
	main, hash, _ := strings.Cut(main, "~")
	parts := strings.Split(main, "_")
	v := parts[0]
	for _, s := range parts[1:] {
		sep := "+"
		for _, pre := range []string{"alpha", "beta", "pre", "rc"} {
			if strings.HasPrefix(s, pre) {
				sep = "~"
			}
		}
		v += sep + s
	}
	if hash != "" {
		v += "+g" + hash
	}
	v += "-" + rel
	if err := ValidateDebVersion(v); err != nil {
		return "", fmt.Errorf("%w: from %q: %v", ErrSpec, apkVersion, err)
	}
	return v, nil
}
