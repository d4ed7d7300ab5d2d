package pack

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"path"
	"strings"
)

// APKInfo is a package's info object (FORMATS.md apk 5).
type APKInfo struct {
	Name, Version, Description, Arch, License, Origin, Maintainer, URL string
	Hashes                                                             []byte
	BuildTime, InstalledSize, FileSize                                 uint64
	Depends                                                            []string
}

// APKFile is one file of a package's paths.
type APKFile struct {
	Path        string // "usr/sbin/ipopd"
	Mode        uint64
	User, Group string
	Size, MTime uint64
	Hash        [32]byte
	Data        []byte // from its DATA block; nil when empty
}

// APK is a package as read back by ReadAPK.
type APK struct {
	Compression string // "none", "deflate"
	Info        APKInfo
	Dirs        []string // "" for the root, sorted
	Files       []APKFile
	Scripts     map[string]string
	Signatures  int
	ADBHash     [32]byte // SHA-256 of the ADB block payload
}

// APKIndex is a packages.adb as read back by ReadAPKIndex.
type APKIndex struct {
	Compression string
	Description string
	Packages    []APKInfo
	Signatures  int
}

var apkScriptNames = []string{"", "trigger", "pre-install", "post-install", "pre-deinstall", "post-deinstall", "pre-upgrade", "post-upgrade"}

// unwrapADB undoes the compression wrapper (FORMATS.md apk 1).
func unwrapADB(b []byte) ([]byte, string, error) {
	if len(b) < 4 {
		return nil, "", formatErr("apk: %d bytes is too short", len(b))
	}
	inflate := func(z []byte) ([]byte, error) {
		out, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(z)), int64(maxUnpacked)+1))
		if err != nil {
			return nil, formatErr("apk: deflate: %v", err)
		}
		if len(out) > maxUnpacked {
			return nil, fmt.Errorf("apk: %w: over %d bytes unpacked", ErrTooLarge, maxUnpacked)
		}
		return out, nil
	}
	switch string(b[:4]) {
	case adbMagic:
		return b, "none", nil
	case adbMagicDeflat:
		out, err := inflate(b[4:])
		return out, "deflate", err
	case adbMagicComp:
		if len(b) < 6 {
			return nil, "", formatErr("apk: ADBc header truncated")
		}
		switch b[4] {
		case 0:
			return b[6:], "none", nil
		case 1:
			out, err := inflate(b[6:])
			return out, "deflate", err
		}
		return nil, "", formatErr("apk: compression algorithm %d not supported (0 none, 1 deflate)", b[4])
	}
	return nil, "", formatErr("apk: magic %q, want ADB., ADBd or ADBc", b[:4])
}

// adbFile is an uncompressed ADB file split into blocks.
type adbFile struct {
	payload []byte   // the ADB block's payload
	sigs    int      // SIG blocks
	data    [][]byte // DATA block payloads in order
}

// splitBlocks checks the file header and block sequence (FORMATS.md apk 2,
// 3): exactly one ADB block first, then SIG blocks, then DATA blocks, each
// padded to 8 bytes.
func splitBlocks(b []byte, schema string) (*adbFile, error) {
	if len(b) < 8 || string(b[:4]) != adbMagic {
		return nil, formatErr("apk: no ADB. file header")
	}
	if string(b[4:8]) != schema {
		return nil, formatErr("apk: schema %q, want %q", b[4:8], schema)
	}
	f := &adbFile{}
	off, seenADB := 8, false
	for off < len(b) {
		if len(b)-off < 4 {
			return nil, formatErr("apk: truncated block header at %d", off)
		}
		ts := binary.LittleEndian.Uint32(b[off:])
		typ, size, hdr := ts>>30, uint64(ts&(1<<30-1)), uint64(4)
		if typ == blockEXT {
			if len(b)-off < 16 {
				return nil, formatErr("apk: truncated EXT block header at %d", off)
			}
			typ, size, hdr = ts&(1<<30-1), binary.LittleEndian.Uint64(b[off+8:]), 16
		}
		if size < hdr || size > uint64(len(b)-off) {
			return nil, formatErr("apk: block at %d has size %d, file has %d bytes left", off, size, len(b)-off)
		}
		payload := b[off+int(hdr) : off+int(size)]
		switch typ {
		case blockADB:
			if seenADB || off != 8 {
				return nil, formatErr("apk: ADB block at %d; there must be exactly one, first", off)
			}
			seenADB = true
			f.payload = payload
		case blockSIG:
			if !seenADB || len(f.data) > 0 {
				return nil, formatErr("apk: SIG block at %d must follow the ADB block, before DATA", off)
			}
			f.sigs++
		case blockDATA:
			if !seenADB {
				return nil, formatErr("apk: DATA block before the ADB block")
			}
			f.data = append(f.data, payload)
		default:
			return nil, formatErr("apk: unknown block type %d at %d", typ, off)
		}
		next := off + int(size)
		pad := (8 - next%8) % 8
		if next+pad > len(b) {
			pad = len(b) - next // an unpadded final block
		}
		if !allZero(b[next : next+pad]) {
			return nil, formatErr("apk: non-zero padding after block at %d", off)
		}
		off = next + pad
	}
	if !seenADB {
		return nil, formatErr("apk: no ADB block")
	}
	return f, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// readInfo decodes a pkginfo object (FORMATS.md apk 5).
func readInfo(v adbView, val uint32) (APKInfo, error) {
	var in APKInfo
	s, err := v.slots(val, adbObject)
	if err != nil {
		return in, err
	}
	strs := []struct {
		dst *string
		i   int
	}{{&in.Name, 1}, {&in.Version, 2}, {&in.Description, 4}, {&in.Arch, 5}, {&in.License, 6}, {&in.Origin, 7}, {&in.Maintainer, 8}, {&in.URL, 9}}
	for _, f := range strs {
		if *f.dst, err = v.str(field(s, f.i)); err != nil {
			return in, err
		}
	}
	if in.Hashes, err = v.blob(field(s, 3)); err != nil {
		return in, err
	}
	for _, f := range []struct {
		dst *uint64
		i   int
	}{{&in.BuildTime, 11}, {&in.InstalledSize, 12}, {&in.FileSize, 13}} {
		if *f.dst, err = v.integer(field(s, f.i)); err != nil {
			return in, err
		}
	}
	deps, err := v.slots(field(s, 15), adbArray)
	if err != nil {
		return in, err
	}
	for i := 1; i < len(deps); i++ {
		ds, err := v.slots(deps[i], adbObject)
		if err != nil {
			return in, err
		}
		name, err := v.str(field(ds, 1))
		if err != nil {
			return in, err
		}
		// "dependency arrays sorted by name, unique"
		if n := len(in.Depends); n > 0 && in.Depends[n-1] >= name {
			return in, formatErr("apk: dependencies not sorted and unique at %q", name)
		}
		in.Depends = append(in.Depends, name)
	}
	if !validName(in.Name) {
		return in, formatErr("apk: package name %q", in.Name)
	}
	if err := ValidateVersion(in.Version); err != nil {
		return in, formatErr("apk: %s: %v", in.Name, err)
	}
	if in.Arch == "" || in.Arch == ArchAll {
		return in, formatErr("apk: %s: arch %q (architecture-independent packages say noarch)", in.Name, in.Arch)
	}
	return in, nil
}

// ReadAPK parses an apk v3 package and checks it against FORMATS.md apk:
// the wrapper, the block sequence, the package schema, sorted paths with
// every parent present, a SHA-256 for each file, installed-size, and the
// DATA blocks in exact path/file order with matching size and hash.
func ReadAPK(b []byte) (*APK, error) {
	raw, comp, err := unwrapADB(b)
	if err != nil {
		return nil, err
	}
	af, err := splitBlocks(raw, schemaPackage)
	if err != nil {
		return nil, err
	}
	v := adbView{af.payload}
	rootVal, err := v.root()
	if err != nil {
		return nil, err
	}
	root, err := v.slots(rootVal, adbObject)
	if err != nil {
		return nil, err
	}
	p := &APK{Compression: comp, Scripts: map[string]string{}, Signatures: af.sigs, ADBHash: sha256.Sum256(af.payload)}
	if p.Info, err = readInfo(v, field(root, 1)); err != nil {
		return nil, err
	}
	scripts, err := v.slots(field(root, 3), adbObject)
	if err != nil {
		return nil, err
	}
	for i := 1; i < len(scripts) && i < len(apkScriptNames); i++ {
		if s, err := v.str(scripts[i]); err != nil {
			return nil, err
		} else if s != "" {
			p.Scripts[apkScriptNames[i]] = s
		}
	}
	if err := p.readPaths(v, field(root, 2), af.data); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *APK) readPaths(v adbView, val uint32, data [][]byte) error {
	dirs, err := v.slots(val, adbArray)
	if err != nil {
		return err
	}
	dirSet := map[string]bool{}
	var sum uint64
	next := 0 // next DATA block expected
	for di := 1; di < len(dirs); di++ {
		ds, err := v.slots(dirs[di], adbObject)
		if err != nil {
			return err
		}
		name, err := v.str(field(ds, 1))
		if err != nil {
			return err
		}
		if n := len(p.Dirs); n > 0 && p.Dirs[n-1] >= name {
			return formatErr("apk: directory %q not in bytewise order after %q", name, p.Dirs[n-1])
		}
		if parent := path.Dir(name); name != "" && parent != "." && !dirSet[parent] {
			return formatErr("apk: directory %q listed without its parent", name)
		}
		if strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") {
			return formatErr("apk: directory %q has a leading or trailing slash", name)
		}
		dirSet[name] = true
		p.Dirs = append(p.Dirs, name)
		files, err := v.slots(field(ds, 3), adbArray)
		if err != nil {
			return err
		}
		prev := ""
		for fi := 1; fi < len(files); fi++ {
			f, err := readFile(v, files[fi])
			if err != nil {
				return err
			}
			if f.Path == "" || strings.Contains(f.Path, "/") || (fi > 1 && f.Path <= prev) {
				return formatErr("apk: file %q in %q: empty, has a slash or out of order", f.Path, name)
			}
			prev = f.Path
			f.Path = path.Join(name, f.Path)
			sum += f.Size
			if f.Size > 0 {
				// FORMATS.md apk 7: exact order, length = size, data matches hash.
				if next >= len(data) {
					return formatErr("apk: no DATA block for %s", f.Path)
				}
				d := data[next]
				next++
				if len(d) < 8 || binary.LittleEndian.Uint32(d) != uint32(di) || binary.LittleEndian.Uint32(d[4:]) != uint32(fi) {
					return formatErr("apk: DATA block %d is not for %s (path %d file %d)", next, f.Path, di, fi)
				}
				if uint64(len(d)-8) != f.Size {
					return formatErr("apk: DATA for %s has %d bytes, size says %d", f.Path, len(d)-8, f.Size)
				}
				f.Data = d[8:]
			}
			if sha256.Sum256(f.Data) != f.Hash {
				return formatErr("apk: %s does not match its SHA-256", f.Path)
			}
			p.Files = append(p.Files, f)
		}
	}
	if next != len(data) {
		return formatErr("apk: %d DATA blocks for no file", len(data)-next)
	}
	if sum == 0 && len(p.Files)+len(p.Scripts) > 0 {
		sum = 1 // "min 1 if files dir given or scripts exist" (FORMATS.md apk 6)
	}
	if p.Info.InstalledSize != sum {
		return formatErr("apk: installed-size %d, files add up to %d", p.Info.InstalledSize, sum)
	}
	return nil
}

func readFile(v adbView, val uint32) (APKFile, error) {
	var f APKFile
	s, err := v.slots(val, adbObject)
	if err != nil {
		return f, err
	}
	if f.Path, err = v.str(field(s, 1)); err != nil {
		return f, err
	}
	acl, err := v.slots(field(s, 2), adbObject)
	if err != nil {
		return f, err
	}
	if f.Mode, err = v.integer(field(acl, 1)); err != nil {
		return f, err
	}
	if f.User, err = v.str(field(acl, 2)); err != nil {
		return f, err
	}
	if f.Group, err = v.str(field(acl, 3)); err != nil {
		return f, err
	}
	if f.Size, err = v.integer(field(s, 3)); err != nil {
		return f, err
	}
	if f.MTime, err = v.integer(field(s, 4)); err != nil {
		return f, err
	}
	h, err := v.blob(field(s, 5))
	if err != nil {
		return f, err
	}
	if field(s, 6) != 0 {
		return f, formatErr("apk: %s is a link or device; only regular files are expected", f.Path)
	}
	// "hash (raw 32-byte SHA-256 of content for regular files; required)"
	if len(h) != 32 {
		return f, formatErr("apk: %s has a %d-byte hash, want a 32-byte SHA-256", f.Path, len(h))
	}
	copy(f.Hash[:], h)
	return f, nil
}

// ReadAPKIndex parses a packages.adb (FORMATS.md apk 8): schema indx,
// object {1 description, 2 packages}, packages sorted by name and version,
// each with a 32-byte hashes.
func ReadAPKIndex(b []byte) (*APKIndex, error) {
	raw, comp, err := unwrapADB(b)
	if err != nil {
		return nil, err
	}
	af, err := splitBlocks(raw, schemaIndex)
	if err != nil {
		return nil, err
	}
	if len(af.data) > 0 {
		return nil, formatErr("apk index: has DATA blocks")
	}
	v := adbView{af.payload}
	rootVal, err := v.root()
	if err != nil {
		return nil, err
	}
	root, err := v.slots(rootVal, adbObject)
	if err != nil {
		return nil, err
	}
	idx := &APKIndex{Compression: comp, Signatures: af.sigs}
	if idx.Description, err = v.str(field(root, 1)); err != nil {
		return nil, err
	}
	pkgs, err := v.slots(field(root, 2), adbArray)
	if err != nil {
		return nil, err
	}
	for i := 1; i < len(pkgs); i++ {
		in, err := readInfo(v, pkgs[i])
		if err != nil {
			return nil, err
		}
		if len(in.Hashes) != 32 {
			return nil, formatErr("apk index: %s has a %d-byte hash, want SHA-256 of its ADB block", in.Name, len(in.Hashes))
		}
		if n := len(idx.Packages); n > 0 {
			prev := idx.Packages[n-1]
			if prev.Name > in.Name || prev.Name == in.Name && prev.Version >= in.Version {
				return nil, formatErr("apk index: %s %s not sorted after %s %s", in.Name, in.Version, prev.Name, prev.Version)
			}
		}
		idx.Packages = append(idx.Packages, in)
	}
	return idx, nil
}
