package pack

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// MaxUnpacked bounds what a reader decompresses from one package or
// member: a router package is a few MiB, so 64 MiB means a bomb or a bug.
const MaxUnpacked = 64 << 20

// maxUnpacked is MaxUnpacked, lowered by the fuzz targets: a mutated deflate
// stream that inflates to the limit takes a second per run and would stall
// fuzzing and minimisation.
var maxUnpacked = MaxUnpacked

// TarFile is one member of a tar archive as read back.
type TarFile struct {
	Name   string // as stored, "./usr/sbin/ipopd"
	Mode   int64
	Dir    bool
	Size   int64
	SHA256 [32]byte
	Data   []byte
}

// IPK is an .ipk file as read back by ReadIPK.
type IPK struct {
	Control     Control
	Conffiles   []string
	Scripts     map[string]string // postinst, prerm, preinst, postrm
	Files       []TarFile         // data.tar.gz members
	DataTarSize int64             // uncompressed data.tar
}

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrFormat}, args...)...)
}

// gunzip decompresses one gzip stream, refusing more than MaxUnpacked bytes.
func gunzip(b []byte, what string) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, formatErr("%s: not gzip: %v", what, err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, int64(maxUnpacked)+1))
	if err != nil {
		return nil, formatErr("%s: gzip: %v", what, err)
	}
	if len(out) > maxUnpacked {
		return nil, fmt.Errorf("%s: %w: over %d bytes unpacked", what, ErrTooLarge, maxUnpacked)
	}
	return out, nil
}

// readTar reads every member of a tar archive, checking what opkg's parser
// needs (FORMATS.md ipk "Tar dialect"): ustar or GNU headers, never PAX,
// correct header checksums (archive/tar verifies them), numeric owner 0 and
// only regular files and directories (all a package of ours holds).
func readTar(b []byte, what string) ([]TarFile, error) {
	tr := tar.NewReader(bytes.NewReader(b))
	var out []TarFile
	total := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, formatErr("%s: tar: %v", what, err)
		}
		if h.Format&tar.FormatPAX != 0 || len(h.PAXRecords) > 0 {
			return nil, formatErr("%s: %s has a PAX header, which opkg does not support", what, h.Name)
		}
		if h.Format&(tar.FormatUSTAR|tar.FormatGNU) == 0 {
			return nil, formatErr("%s: %s: header is neither ustar nor GNU (%v)", what, h.Name, h.Format)
		}
		if h.Uid != 0 || h.Gid != 0 {
			return nil, formatErr("%s: %s owned by %d:%d, want 0:0", what, h.Name, h.Uid, h.Gid)
		}
		f := TarFile{Name: h.Name, Mode: h.Mode}
		switch h.Typeflag {
		case tar.TypeDir:
			f.Dir = true
		case tar.TypeReg:
			if total += int(h.Size); h.Size > int64(maxUnpacked) || total > maxUnpacked {
				return nil, fmt.Errorf("%s: %s: %w", what, h.Name, ErrTooLarge)
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				return nil, formatErr("%s: %s: %v", what, h.Name, err)
			}
			f.Data, f.Size, f.SHA256 = data, int64(len(data)), sha256.Sum256(data)
		default:
			return nil, formatErr("%s: %s has tar type %q; only files and directories are expected", what, h.Name, h.Typeflag)
		}
		out = append(out, f)
	}
}

// memberName strips the "./" opkg tolerates (FORMATS.md ipk: "opkg looks
// members up by name (with or without ./ prefix)").
func memberName(s string) string { return strings.TrimPrefix(s, "./") }

// ReadIPK parses an .ipk and checks it against FORMATS.md ipk: gzip'd tar
// outer container with debian-binary, data.tar.gz and control.tar.gz;
// control with Package, Version and Architecture; scripts 0755;
// Installed-Size equal to the uncompressed data.tar; conffiles present in
// the data.
func ReadIPK(b []byte) (*IPK, error) {
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		return nil, formatErr("ipk: outer container is not gzip (an ar or plain tar .ipk is rejected by opkg)")
	}
	outerTar, err := gunzip(b, "ipk")
	if err != nil {
		return nil, err
	}
	outer, err := readTar(outerTar, "ipk")
	if err != nil {
		return nil, err
	}
	members := map[string][]byte{}
	var order []string
	for _, m := range outer {
		n := memberName(m.Name)
		if m.Dir || (n != "debian-binary" && n != "data.tar.gz" && n != "control.tar.gz") {
			return nil, formatErr("ipk: unexpected member %q", m.Name)
		}
		if _, dup := members[n]; dup {
			return nil, formatErr("ipk: member %q twice", n)
		}
		members[n] = m.Data
		order = append(order, n)
	}
	if strings.Join(order, " ") != "debian-binary data.tar.gz control.tar.gz" {
		return nil, formatErr("ipk: members %v, want debian-binary data.tar.gz control.tar.gz", order)
	}
	if string(members["debian-binary"]) != "2.0\n" {
		return nil, formatErr("ipk: debian-binary is %q, want \"2.0\\n\"", members["debian-binary"])
	}
	pkg := &IPK{Scripts: map[string]string{}}
	if err := pkg.readControlTar(members["control.tar.gz"]); err != nil {
		return nil, err
	}
	dataTar, err := gunzip(members["data.tar.gz"], "data.tar.gz")
	if err != nil {
		return nil, err
	}
	pkg.DataTarSize = int64(len(dataTar))
	if pkg.Files, err = readTar(dataTar, "data.tar.gz"); err != nil {
		return nil, err
	}
	regular := map[string]bool{}
	for _, f := range pkg.Files {
		if !strings.HasPrefix(f.Name, "./") {
			return nil, formatErr("data.tar.gz: %q does not start with ./", f.Name)
		}
		if !f.Dir {
			regular["/"+memberName(f.Name)] = true
		}
	}
	if s := pkg.Control.Get("Installed-Size"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n != pkg.DataTarSize {
			return nil, formatErr("control: Installed-Size %q, want the data.tar size %d", s, pkg.DataTarSize)
		}
	}
	for _, c := range pkg.Conffiles {
		if !regular[c] {
			return nil, formatErr("conffiles: %s is not a file of the package", c)
		}
	}
	return pkg, nil
}

func (pkg *IPK) readControlTar(gz []byte) error {
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
			if pkg.Control, err = ParseControl(f.Data); err != nil {
				return err
			}
			haveControl = true
		case n == "conffiles":
			for _, l := range strings.Split(strings.TrimRight(string(f.Data), "\n"), "\n") {
				if !strings.HasPrefix(l, "/") {
					return formatErr("conffiles: %q is not an absolute path", l)
				}
				pkg.Conffiles = append(pkg.Conffiles, l)
			}
		case n == "postinst" || n == "prerm" || n == "preinst" || n == "postrm":
			if f.Mode&0o777 != 0o755 {
				return formatErr("control.tar.gz: %s has mode %o, want 0755", n, f.Mode)
			}
			if !bytes.HasPrefix(f.Data, []byte("#!")) {
				return formatErr("control.tar.gz: %s does not start with #!", n)
			}
			pkg.Scripts[n] = string(f.Data)
		default:
			return formatErr("control.tar.gz: unexpected member %q", f.Name)
		}
	}
	if !haveControl {
		return formatErr("control.tar.gz: no control file")
	}
	for _, k := range []string{"Package", "Version", "Architecture"} {
		if pkg.Control.Get(k) == "" {
			return formatErr("control: required field %s missing", k)
		}
	}
	if !validName(pkg.Control.Get("Package")) {
		return formatErr("control: Package %q outside [a-zA-Z0-9_.+-]", pkg.Control.Get("Package"))
	}
	return nil
}
