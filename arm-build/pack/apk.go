package pack

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"path"
	"sort"
	"strings"
)

// Built is one package file with what an index needs to list it.
type Built struct {
	Data []byte
	// ADBHash is the SHA-256 of the ADB block payload, the apk index's
	// "hashes" of the package (FORMATS.md apk 8); zero for an .ipk.
	ADBHash [32]byte
	// InstalledSize is what the package occupies once installed.
	InstalledSize uint64
}

// apkFiles is p's payload for apk: its files plus the metadata OpenWrt puts
// in lib/apk/packages/ (FORMATS.md apk: "OpenWRT puts conffile lists in the
// payload as lib/apk/packages/<pkg>.conffiles (paths) and .conffiles_static
// (path sha256)"), and the file list default_postinst reads.
func (p *Package) apkFiles() []File {
	fs := p.sortedFiles()
	var list strings.Builder
	for _, f := range fs {
		list.WriteString(f.Path + "\n")
	}
	meta := "/lib/apk/packages/" + p.Name
	out := append(fs, File{Path: meta + ".list", Mode: 0o644, Data: []byte(list.String())})
	if len(p.Conffiles) > 0 {
		var names, static strings.Builder
		for _, c := range p.Conffiles {
			for _, f := range fs {
				if f.Path == c {
					sum := sha256.Sum256(f.Data)
					names.WriteString(c + "\n")
					static.WriteString(c + " " + hex.EncodeToString(sum[:]) + "\n")
				}
			}
		}
		out = append(out,
			File{Path: meta + ".conffiles", Mode: 0o644, Data: []byte(names.String())},
			File{Path: meta + ".conffiles_static", Mode: 0o644, Data: []byte(static.String())})
	}
	return out
}

// apkDir is one directory of the payload with its files, both sorted
// bytewise by name (FORMATS.md apk 5).
type apkDir struct {
	name  string // "" for the root, "usr/sbin"
	files []File // Path holds the base name here
}

func apkLayout(files []File) []apkDir {
	byDir := map[string][]File{"": nil}
	for _, f := range files {
		rel := strings.TrimPrefix(f.Path, "/")
		d := path.Dir(rel)
		if d == "." {
			d = ""
		}
		for p := d; p != ""; {
			if _, ok := byDir[p]; !ok {
				byDir[p] = nil
			}
			if p = path.Dir(p); p == "." {
				p = ""
			}
		}
		byDir[d] = append(byDir[d], File{Path: path.Base(rel), Mode: f.Mode, Data: f.Data})
	}
	out := make([]apkDir, 0, len(byDir))
	for name, fs := range byDir {
		sort.Slice(fs, func(i, j int) bool { return fs[i].Path < fs[j].Path })
		out = append(out, apkDir{name, fs})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// writeInfo writes the pkginfo object (FORMATS.md apk 5: info {1 name,
// 2 version, 3 hashes, 4 description, 5 arch, 6 license, 7 origin,
// 8 maintainer, 9 url, 11 build-time, 12 installed-size, 13 file-size,
// 15 depends}). hashes and fileSize are set only in an index.
func (p *Package) writeInfo(a *adbBuilder, installed uint64, hashes []byte, fileSize uint64) uint32 {
	deps := append([]string(nil), p.Depends...)
	sort.Strings(deps) // "dependency arrays sorted by name, unique"
	var dv []uint32
	for i, d := range deps {
		if i > 0 && deps[i-1] == d {
			continue
		}
		dv = append(dv, a.object(a.str(d)))
	}
	return a.object(
		a.str(p.Name),
		a.str(p.Version),
		a.blob(hashes),
		a.str(p.Description),
		a.str(apkArch(p.Arch)),
		a.str(p.License),
		a.str(p.Name),
		a.str(p.Maintainer),
		a.str(p.URL),
		0, // repo-commit
		a.integer(uint64(p.MTime.Unix())),
		a.integer(installed),
		a.integer(fileSize),
		0, // provider-priority
		a.array(dv),
	)
}

// BuildAPK returns p as an apk v3 package: an ADB block with the metadata,
// then one DATA block per non-empty file, deflate-compressed behind "ADBd"
// (FORMATS.md apk 1, 2, 3, 5, 7). It is not signed.
func BuildAPK(p *Package) (*Built, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	dirs := apkLayout(p.apkFiles())
	a := newADBBuilder()
	acl := func(mode uint32) uint32 { return a.object(a.integer(uint64(mode)), a.str("root"), a.str("root")) }
	var installed uint64
	var pathVals []uint32
	for _, d := range dirs {
		var fileVals []uint32
		for _, f := range d.files {
			sum := sha256.Sum256(f.Data)
			installed += uint64(len(f.Data))
			fileVals = append(fileVals, a.object(
				a.str(f.Path),
				acl(uint32(f.Mode.Perm())),
				a.integer(uint64(len(f.Data))),
				a.integer(uint64(p.MTime.Unix())),
				a.blob(sum[:]),
			))
		}
		pathVals = append(pathVals, a.object(a.str(d.name), acl(0o755), a.array(fileVals)))
	}
	// "installed-size = sum of regular file sizes (min 1 ...)" (FORMATS.md apk 6).
	if installed == 0 {
		installed = 1
	}
	info := p.writeInfo(a, installed, nil, 0)
	// scripts {3 post-install, 4 pre-deinstall} (FORMATS.md apk 5).
	scripts := a.object(0, 0, a.str(p.PostInst), a.str(p.PreRm))
	payload, err := a.finish(a.object(info, a.array(pathVals), scripts))
	if err != nil {
		return nil, err
	}
	file := []byte(adbMagic + schemaPackage)
	if file, err = appendBlock(file, blockADB, payload); err != nil {
		return nil, err
	}
	// DATA blocks "MUST come in exactly path order then file order" with
	// 1-based indexes, none for empty files (FORMATS.md apk 7).
	for di, d := range dirs {
		for fi, f := range d.files {
			if len(f.Data) == 0 {
				continue
			}
			var idx [8]byte
			binary.LittleEndian.PutUint32(idx[0:], uint32(di+1))
			binary.LittleEndian.PutUint32(idx[4:], uint32(fi+1))
			if file, err = appendBlock(file, blockDATA, idx[:], f.Data); err != nil {
				return nil, fmt.Errorf("%s: %w", f.Path, err)
			}
		}
	}
	out, err := deflateADB(file)
	if err != nil {
		return nil, err
	}
	return &Built{Data: out, ADBHash: sha256.Sum256(payload), InstalledSize: installed}, nil
}

// deflateADB wraps an uncompressed ADB file as "ADBd" + raw deflate of the
// whole file, the default of mkpkg and mkndx (FORMATS.md apk 1).
func deflateADB(file []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(adbMagicDeflat)
	zw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(file); err != nil {
		return nil, fmt.Errorf("deflate: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("deflate: %w", err)
	}
	return buf.Bytes(), nil
}
