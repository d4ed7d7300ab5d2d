package pack

import (
	"fmt"
	"strconv"
	"strings"
)

// controlText renders the opkg control file (FORMATS.md ipk: "control fields:
// required: Package, Version, Architecture"; Installed-Size "OpenWrt sets it
// to the uncompressed data.tar size").
func (p *Package) controlText(installedSize int) string {
	var b strings.Builder
	field := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	field("Package", p.Name)
	field("Version", p.Version)
	field("Depends", strings.Join(p.Depends, ", "))
	field("Source", "ipopd")
	field("SourceName", p.Name)
	field("License", p.License)
	field("Section", p.Section)
	field("Maintainer", p.Maintainer)
	field("Architecture", p.Arch)
	field("Installed-Size", strconv.Itoa(installedSize))
	field("Description", p.Description)
	return b.String()
}

// dataEntries lists the payload as tar members: "./", every directory, every
// file, sorted by path so that a parent precedes its children.
func (p *Package) dataEntries() []tarEntry {
	es := []tarEntry{{name: "./", mode: 0o755, dir: true}}
	for _, d := range p.dirs() {
		es = append(es, tarEntry{name: "./" + d + "/", mode: 0o755, dir: true})
	}
	for _, f := range p.sortedFiles() {
		es = append(es, tarEntry{name: "." + f.Path, mode: f.Mode, data: f.Data})
	}
	// dirs and files are each sorted; merge so "./etc/config/" precedes
	// "./etc/config/ipop" and follows "./etc/": sort by name without the
	// trailing slash.
	key := func(e tarEntry) string { return strings.TrimSuffix(e.name, "/") }
	for i := 1; i < len(es); i++ {
		for j := i; j > 1 && key(es[j]) < key(es[j-1]); j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
	return es
}

// BuildIPK returns p as an .ipk file (FORMATS.md ipk: "Outer container =
// gzip-compressed tar", members ./debian-binary, ./data.tar.gz,
// ./control.tar.gz in that order).
func BuildIPK(p *Package) (*Built, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	dataTar, err := writeTar(p.dataEntries(), p.MTime)
	if err != nil {
		return nil, err
	}
	dataGz, err := gzipBytes(dataTar)
	if err != nil {
		return nil, err
	}
	ctl := []tarEntry{
		{name: "./", mode: 0o755, dir: true},
		{name: "./control", mode: 0o644, data: []byte(p.controlText(len(dataTar)))},
	}
	if len(p.Conffiles) > 0 {
		ctl = append(ctl, tarEntry{name: "./conffiles", mode: 0o644, data: []byte(strings.Join(p.Conffiles, "\n") + "\n")})
	}
	// Scripts are 0755 (FORMATS.md ipk: "./postinst, ./prerm ... (mode 0755)").
	if p.PostInst != "" {
		ctl = append(ctl, tarEntry{name: "./postinst", mode: 0o755, data: []byte(p.PostInst)})
	}
	if p.PreRm != "" {
		ctl = append(ctl, tarEntry{name: "./prerm", mode: 0o755, data: []byte(p.PreRm)})
	}
	ctlTar, err := writeTar(ctl, p.MTime)
	if err != nil {
		return nil, err
	}
	ctlGz, err := gzipBytes(ctlTar)
	if err != nil {
		return nil, err
	}
	outer, err := writeTar([]tarEntry{
		{name: "./debian-binary", mode: 0o644, data: []byte("2.0\n")},
		{name: "./data.tar.gz", mode: 0o644, data: dataGz},
		{name: "./control.tar.gz", mode: 0o644, data: ctlGz},
	}, p.MTime)
	if err != nil {
		return nil, err
	}
	b, err := gzipBytes(outer)
	if err != nil {
		return nil, err
	}
	return &Built{Data: b, InstalledSize: uint64(len(dataTar))}, nil
}
