package pack

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"strconv"
	"strings"
)

// Deb is a .deb as read back by ReadDeb.
type Deb struct {
	Control   Control
	Conffiles []string
	MD5Sums   map[string]string // path without the leading slash -> hex
	Scripts   map[string]string // preinst, postinst, prerm, postrm
	Files     []TarFile         // data.tar.gz members
}

// readAr splits a System V ar archive into its members (deb-ar(5)),
// checking the magic, every header's fields and the padding.
func readAr(b []byte) ([]arMember, error) {
	if !bytes.HasPrefix(b, []byte(arMagic)) {
		return nil, formatErr("deb: not an ar archive (no !<arch> magic)")
	}
	var out []arMember
	rest := b[len(arMagic):]
	for len(rest) > 0 {
		if len(rest) < 60 {
			return nil, formatErr("deb: truncated ar header")
		}
		h := rest[:60]
		if string(h[58:60]) != "`\n" {
			return nil, formatErr("deb: ar header without its `\\n terminator")
		}
		name := strings.TrimRight(string(h[:16]), " ")
		name = strings.TrimSuffix(name, "/") // GNU ar's terminator, which dpkg accepts
		sizeField := strings.TrimRight(string(h[48:58]), " ")
		size, err := strconv.ParseUint(sizeField, 10, 63)
		if err != nil || sizeField == "" {
			return nil, formatErr("deb: ar member %q: size %q", name, sizeField)
		}
		for _, f := range []string{string(h[16:28]), string(h[28:34]), string(h[34:40])} {
			if f = strings.TrimRight(f, " "); f != "" && !allDigits(f) {
				return nil, formatErr("deb: ar member %q: header field %q is not a number", name, f)
			}
		}
		rest = rest[60:]
		if size > uint64(len(rest)) || size > uint64(maxUnpacked) {
			return nil, formatErr("deb: ar member %q: size %d beyond the file", name, size)
		}
		out = append(out, arMember{name: name, data: rest[:size]})
		rest = rest[size:]
		if size%2 == 1 {
			if len(rest) == 0 || rest[0] != '\n' {
				return nil, formatErr("deb: ar member %q: odd size without \\n padding", name)
			}
			rest = rest[1:]
		}
	}
	return out, nil
}

// ReadDeb parses a .deb and checks it against deb(5) and deb-control(5):
// the members debian-binary "2.0\n", control.tar.gz and data.tar.gz in that
// order; a control file with Package, Version, Architecture, Maintainer and
// Description; md5sums that match the data; conffiles that are files of
// the package; maintainer scripts 0755 with a #! line; data paths under ./.
// Only gzip members are read: that is what BuildDeb writes.
func ReadDeb(b []byte) (*Deb, error) {
	members, err := readAr(b)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range members {
		names = append(names, m.name)
	}
	if strings.Join(names, " ") != "debian-binary control.tar.gz data.tar.gz" {
		return nil, formatErr("deb: members %v, want debian-binary control.tar.gz data.tar.gz", names)
	}
	if string(members[0].data) != "2.0\n" {
		return nil, formatErr("deb: debian-binary is %q, want \"2.0\\n\"", members[0].data)
	}
	d := &Deb{MD5Sums: map[string]string{}, Scripts: map[string]string{}}
	if err := d.readControlTar(members[1].data); err != nil {
		return nil, err
	}
	dataTar, err := gunzip(members[2].data, "data.tar.gz")
	if err != nil {
		return nil, err
	}
	if d.Files, err = readTar(dataTar, "data.tar.gz"); err != nil {
		return nil, err
	}
	data := map[string][]byte{}
	for _, f := range d.Files {
		if !strings.HasPrefix(f.Name, "./") || strings.Contains(f.Name, "/../") || strings.HasSuffix(f.Name, "/..") {
			return nil, formatErr("data.tar.gz: %q is not a clean path under ./", f.Name)
		}
		if !f.Dir {
			data[f.Name[2:]] = f.Data
		}
	}
	for p, want := range d.MD5Sums {
		content, ok := data[p]
		if !ok {
			return nil, formatErr("md5sums: %s is not a file of the package", p)
		}
		if sum := md5.Sum(content); hex.EncodeToString(sum[:]) != want {
			return nil, formatErr("md5sums: %s does not match its data", p)
		}
	}
	for _, c := range d.Conffiles {
		if _, ok := data[strings.TrimPrefix(c, "/")]; !ok {
			return nil, formatErr("conffiles: %s is not a file of the package", c)
		}
	}
	return d, nil
}

func (d *Deb) readControlTar(gz []byte) error {
	ctlTar, err := gunzip(gz, "control.tar.gz")
	if err != nil {
		return err
	}
	files, err := readTar(ctlTar, "control.tar.gz")
	if err != nil {
		return err
	}
	var haveControl bool
	for _, f := range files {
		n := memberName(f.Name)
		switch {
		case f.Dir && (n == "" || n == "."):
		case f.Dir:
			return formatErr("control.tar.gz: unexpected directory %q", f.Name)
		case n == "control":
			if d.Control, err = ParseControl(f.Data); err != nil {
				return err
			}
			haveControl = true
		case n == "md5sums":
			for _, l := range strings.Split(strings.TrimSuffix(string(f.Data), "\n"), "\n") {
				if l == "" {
					continue
				}
				sum, p, ok := strings.Cut(l, "  ")
				if !ok || len(sum) != 32 || strings.Trim(sum, "0123456789abcdef") != "" || p == "" || strings.HasPrefix(p, "/") {
					return formatErr("md5sums: line %q is not \"md5  path\"", l)
				}
				d.MD5Sums[p] = sum
			}
		case n == "conffiles":
			for _, l := range strings.Split(strings.TrimSuffix(string(f.Data), "\n"), "\n") {
				if !strings.HasPrefix(l, "/") {
					return formatErr("conffiles: %q is not an absolute path", l)
				}
				d.Conffiles = append(d.Conffiles, l)
			}
		case contains(debScripts, n):
			if f.Mode&0o777 != 0o755 {
				return formatErr("control.tar.gz: %s has mode %o, want 0755", n, f.Mode)
			}
			if !bytes.HasPrefix(f.Data, []byte("#!")) {
				return formatErr("control.tar.gz: %s does not start with #!", n)
			}
			d.Scripts[n] = string(f.Data)
		default:
			return formatErr("control.tar.gz: unexpected member %q", f.Name)
		}
	}
	if !haveControl {
		return formatErr("control.tar.gz: no control file")
	}
	for _, k := range []string{"Package", "Version", "Architecture", "Maintainer", "Description"} {
		if d.Control.Get(k) == "" {
			return formatErr("control: required field %s missing", k)
		}
	}
	if !validDebName(d.Control.Get("Package")) {
		return formatErr("control: Package %q (want [a-z0-9][a-z0-9+.-]+)", d.Control.Get("Package"))
	}
	if err := ValidateDebVersion(d.Control.Get("Version")); err != nil {
		return formatErr("control: %v", err)
	}
	if s := d.Control.Get("Installed-Size"); s != "" && !allDigits(s) {
		return formatErr("control: Installed-Size %q is not a number", s)
	}
	return nil
}
