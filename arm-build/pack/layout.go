package pack

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Source is the repository the packages are made from.
type Source struct {
	Root       string // repository root, holding openwrt/
	Version    string // package version, see PackageVersion
	MTime      time.Time
	License    string
	Maintainer string
	URL        string
	// Warn reports optional files that are missing; nil discards.
	Warn func(format string, args ...any)
}

func (s Source) warn(format string, args ...any) {
	if s.Warn != nil {
		s.Warn(format, args...)
	}
}

// daemonFile maps a file of openwrt/ipopd/files/ to where it is installed.
type daemonFile struct {
	src, dst string
	mode     fs.FileMode
	required bool
	conffile bool
}

// daemonFiles is the daemon package's payload besides the binary. The
// config is required; the rest is picked up when it exists.
var daemonFiles = []daemonFile{
	{"ipop.config", "/etc/config/ipop", 0o600, true, true}, // INSTALL_CONF: it may hold secrets
	{"ipopd.init", "/etc/init.d/ipopd", 0o755, false, false},
	{"ipopd.uci-defaults", "/etc/uci-defaults/90-ipopd", 0o755, false, false},
	{"ipopd.acl.json", "/usr/share/rpcd/acl.d/ipopd.json", 0o644, false, false},
}

// notForOpenWrt are files of openwrt/ipopd/files/ for other systems.
var notForOpenWrt = map[string]bool{"ipopd.service": true} // systemd unit

// DaemonName and LuCIName are the two packages built from openwrt/.
const (
	DaemonName = "ipopd"
	LuCIName   = "luci-app-ipop"
)

// Daemon describes the ipopd package for one architecture: the binary at
// /usr/sbin/ipopd and everything daemonFiles finds.
func (s Source) Daemon(arch string, binary []byte) (*Package, error) {
	if len(binary) == 0 {
		return nil, fmt.Errorf("%w: %s: empty binary", ErrSpec, arch)
	}
	p := &Package{
		Name: DaemonName, Version: s.Version, Arch: arch,
		Depends:     []string{"libc", "kmod-tun"},
		Description: "GroupVPN daemon: joins this router's LAN to a group of routers over DTLS (an L2 overlay)",
		License:     s.License, Maintainer: s.Maintainer, Section: "net", URL: s.URL, MTime: s.MTime,
		Files: []File{
			{Path: "/usr/sbin/ipopd", Mode: 0o755, Data: binary},
			// Keys and certificates are made on the router; sysupgrade keeps
			// them (as openwrt/ipopd/Makefile installs it).
			{Path: "/lib/upgrade/keep.d/ipopd", Mode: 0o644, Data: []byte("/etc/ipop/\n")},
		},
	}
	dir := filepath.Join(s.Root, "openwrt", "ipopd", "files")
	known := map[string]bool{}
	for _, f := range daemonFiles {
		known[f.src] = true
		data, err := os.ReadFile(filepath.Join(dir, f.src))
		if errors.Is(err, fs.ErrNotExist) && !f.required {
			s.warn("warning: %s missing; %s not packaged", filepath.Join(dir, f.src), f.dst)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSpec, err)
		}
		p.Files = append(p.Files, File{Path: f.dst, Mode: f.mode, Data: data})
		if f.conffile {
			p.Conffiles = append(p.Conffiles, f.dst)
		}
	}
	if ents, err := os.ReadDir(dir); err == nil {
		for _, e := range ents {
			if !known[e.Name()] && !notForOpenWrt[e.Name()] {
				s.warn("warning: %s has no install path in arm-build/pack/layout.go; not packaged", filepath.Join(dir, e.Name()))
			}
		}
	}
	p.PostInst, p.PreRm = scripts(p)
	return p, p.Validate()
}

// LuCI describes luci-app-ipop from openwrt/luci-app-ipop: root/ maps to /
// and htdocs/ to /www/, as OpenWrt's luci.mk installs them. It returns nil
// and warns when the directory does not exist yet.
func (s Source) LuCI() (*Package, error) {
	base := filepath.Join(s.Root, "openwrt", LuCIName)
	if _, err := os.Stat(base); errors.Is(err, fs.ErrNotExist) {
		s.warn("warning: %s missing; %s not built", base, LuCIName)
		return nil, nil
	}
	p := &Package{
		Name: LuCIName, Version: s.Version, Arch: ArchAll,
		Depends:     []string{"luci-base", DaemonName},
		Description: "LuCI support for ipopd: the GroupVPN's status, members and settings in the web interface",
		License:     s.License, Maintainer: s.Maintainer, Section: "luci", URL: s.URL, MTime: s.MTime,
	}
	for _, m := range []struct{ src, dst string }{{"root", "/"}, {"htdocs", "/www"}} {
		files, err := treeFiles(filepath.Join(base, m.src), m.dst)
		if err != nil {
			return nil, err
		}
		p.Files = append(p.Files, files...)
	}
	if len(p.Files) == 0 {
		s.warn("warning: %s has no files under root/ or htdocs/; %s not built", base, LuCIName)
		return nil, nil
	}
	p.PostInst, p.PreRm = scripts(p)
	return p, p.Validate()
}

// executableDirs hold programs: their files get 0755 whatever the checkout
// says (git keeps only one x bit, and a checkout may lose it).
var executableDirs = []string{"/etc/init.d/", "/etc/uci-defaults/", "/usr/libexec/rpcd/", "/usr/bin/", "/usr/sbin/"}

// treeFiles reads every regular file under dir as installed under dst. A
// missing dir gives nothing; symlinks and other special files are errors.
func treeFiles(dir, dst string) ([]File, error) {
	var out []File
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == dir {
			return filepath.SkipDir
		}
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%w: %s is not a regular file", ErrSpec, p)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		f := File{Path: path.Join(dst, filepath.ToSlash(rel)), Mode: 0o644, Data: data}
		if info.Mode()&0o111 != 0 {
			f.Mode = 0o755
		}
		for _, x := range executableDirs {
			if strings.HasPrefix(f.Path, x) {
				f.Mode = 0o755
			}
		}
		out = append(out, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return out, nil
}

// scriptHead is OpenWrt's postinst/prerm preamble (FORMATS.md ipk: "OpenWrt
// postinst usually: ..."), exporting root and pkgname as OpenWrt's apk
// scripts do so default_postinst finds the package's file list under either
// package manager.
const scriptHead = `#!/bin/sh
[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
export root="${IPKG_INSTROOT}"
export pkgname="%s"
`

// scripts writes postinst and prerm for p from what it installs:
// default_postinst runs /etc/uci-defaults scripts and enables init scripts
// through the package's file list. The explicit lines after it do the same
// on a live system in case that list is not where default_postinst looks
// (apk on OpenWrt 25.12 keeps it elsewhere than opkg); both steps are
// idempotent, and a uci-defaults script deletes itself once it ran.
func scripts(p *Package) (postinst, prerm string) {
	var defaults, inits []string
	for _, f := range p.Files {
		switch dir := path.Dir(f.Path); dir {
		case "/etc/uci-defaults":
			defaults = append(defaults, f.Path)
		case "/etc/init.d":
			inits = append(inits, f.Path)
		}
	}
	sort.Strings(defaults)
	sort.Strings(inits)
	var b strings.Builder
	fmt.Fprintf(&b, scriptHead, p.Name)
	b.WriteString("default_postinst \"$0\" \"$@\"\n")
	b.WriteString("[ -n \"${IPKG_INSTROOT}\" ] && exit 0\n")
	for _, d := range defaults {
		fmt.Fprintf(&b, "if [ -f %[1]s ]; then ( cd /etc/uci-defaults && . %[1]s ) && rm -f %[1]s; uci commit; fi\n", d)
	}
	for _, i := range inits {
		fmt.Fprintf(&b, "%[1]s enabled || %[1]s enable\n", i)
	}
	if p.Name == DaemonName && len(defaults) > 0 {
		// The uci-defaults script adds network and firewall sections
		// (openwrt/ipopd/Makefile's postinst reloads both too).
		b.WriteString("[ -x /etc/init.d/network ] && /etc/init.d/network reload\n[ -x /etc/init.d/firewall ] && /etc/init.d/firewall reload\n")
	}
	if p.Name == LuCIName {
		// LuCI caches its menu and modules; rpcd loads ACLs at start.
		b.WriteString("rm -f /tmp/luci-indexcache* ; rm -rf /tmp/luci-modulecache/\n[ -x /etc/init.d/rpcd ] && /etc/init.d/rpcd reload\n")
	}
	b.WriteString("exit 0\n")
	postinst = b.String()

	b.Reset()
	fmt.Fprintf(&b, scriptHead, p.Name)
	b.WriteString("default_prerm \"$0\" \"$@\"\n")
	b.WriteString("[ -n \"${IPKG_INSTROOT}\" ] && exit 0\n")
	for _, i := range inits {
		fmt.Fprintf(&b, "if [ -x %[1]s ]; then %[1]s stop; %[1]s disable; fi\n", i)
	}
	b.WriteString("exit 0\n")
	prerm = b.String()
	return postinst, prerm
}
