package pack

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The ipopd .deb for Raspberry Pi OS and Debian gateways: the same static
// binary and UCI file as on OpenWrt, run by systemd.
//
//	/usr/sbin/ipopd                          0755
//	/lib/systemd/system/ipopd.service        0644  (openwrt/ipopd/files/ipopd.service)
//	/etc/config/ipop                         0600  conffile: may hold a TURN password
//	/etc/ipop/                               0700  the group keys and certificates
//	/usr/share/doc/ipopd/{copyright,changelog.Debian.gz,config.md}
//	/usr/share/lintian/overrides/ipopd       why 0600 and 0700 are right here
//
// The unit goes to /lib/systemd/system, not /usr/lib: Debian 12's dpkg
// still tracks the unmerged path (the /usr-move is for Debian 13).

// debDescription is the extended description, one paragraph per entry.
var debDescription = []string{
	"ipopd joins this machine's LAN to a group of routers and gateways: links between members are UDP protected by DTLS 1.2 with mutual certificate authentication, and every LAN behind every member ends up in one flat Ethernet segment (an L2 overlay).",
	"The package installs the daemon, its systemd unit and the default configuration /etc/config/ipop (the UCI file of OpenWrt). Nothing starts on installation: create or join a group (ipopd group create, ipopd join TOKEN), then systemctl enable --now ipopd.",
}

// debOverrides explains the lintian warnings the package earns on purpose.
const debOverrides = `# A Go binary built with CGO_ENABLED=0, static on purpose: the same
# build as the OpenWrt packages, running on any Debian or Raspberry Pi OS
# release. (lintian exempts Go binaries only when it sees a source package
# that build-depends on golang-go; this one is made by arm-build/pack.)
ipopd: statically-linked-binary [usr/sbin/ipopd]
# Not uploaded to Debian: made from the git tree by make packages.
ipopd: initial-upload-closes-no-bugs [usr/share/doc/ipopd/changelog.Debian.gz:1]
# /etc/config/ipop may hold a TURN password, and the daemon rewrites it
# with the group's settings on join: readable by root only.
ipopd: non-standard-file-perm 0600 != 0644 [etc/config/ipop]
# /etc/ipop holds the member's private key and the group CA's when this is
# the owner.
ipopd: non-standard-dir-perm 0700 != 0755 [etc/ipop/]
`

// debPostinst starts nothing: the service runs once the user enables it.
// An upgrade restarts it only if it was running (try-restart), so a
// running daemon does not keep the old binary.
const debPostinst = `#!/bin/sh
set -e
case "$1" in
configure)
	# The group keys: 0700 whatever an earlier install or the user left.
	chmod 0700 /etc/ipop
	if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		if [ -n "$2" ]; then
			deb-systemd-invoke try-restart ipopd.service >/dev/null || true
		fi
	fi
	if [ -z "$2" ]; then
		echo "ipopd: create or join a group (ipopd group create / ipopd join TOKEN), then: systemctl enable --now ipopd"
	fi
	;;
esac
exit 0
`

// debPrerm stops the daemon before its files go; on upgrade it keeps
// running until postinst restarts it. deb-systemd-invoke (Essential
// init-system-helpers) asks policy-rc.d first, as Debian's scripts do.
const debPrerm = `#!/bin/sh
set -e
if [ "$1" = remove ] && [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
	deb-systemd-invoke stop ipopd.service >/dev/null || true
fi
exit 0
`

// debPostrm keeps the configuration and the group keys on remove (a
// reinstall finds the member still in its group) and deletes them on
// purge, with the enable link systemctl enable made.
const debPostrm = `#!/bin/sh
set -e
case "$1" in
purge)
	rm -rf /etc/ipop
	# dpkg removes the conffile; the daemon's interrupted rewrites are ours.
	rm -f /etc/config/ipop /etc/config/.ipop.tmp-*
	rmdir /etc/config 2>/dev/null || true
	rm -f /etc/systemd/system/multi-user.target.wants/ipopd.service
	;;
esac
if [ "$1" = remove ] || [ "$1" = purge ]; then
	if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
	fi
fi
exit 0
`

// DebDaemon describes the ipopd .deb for one Debian architecture around a
// static binary (no dependencies: not even libc). debMaintainer is
// "Name <email>", which Debian requires.
func (s Source) DebDaemon(debArch, debMaintainer string, binary []byte) (*DebPackage, error) {
	if len(binary) == 0 {
		return nil, fmt.Errorf("%w: %s: empty binary", ErrSpec, debArch)
	}
	ver, err := DebVersion(s.Version)
	if err != nil {
		return nil, err
	}
	files := filepath.Join(s.Root, "openwrt", "ipopd", "files")
	unit, err := os.ReadFile(filepath.Join(files, "ipopd.service"))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSpec, err)
	}
	conf, err := os.ReadFile(filepath.Join(files, "ipop.config"))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSpec, err)
	}
	changelog, err := gzipBytes([]byte(s.debChangelog(ver, debMaintainer)))
	if err != nil {
		return nil, err
	}
	d := &DebPackage{
		Name: DaemonName, Version: ver, Arch: debArch, Maintainer: debMaintainer,
		Section: "net", Priority: "optional", Homepage: s.URL,
		Summary: "GroupVPN daemon: an L2 overlay of routers over DTLS",
		Long:    debDescription,
		Files: []File{
			{Path: "/usr/sbin/ipopd", Mode: 0o755, Data: binary},
			{Path: "/lib/systemd/system/ipopd.service", Mode: 0o644, Data: unit},
			{Path: "/etc/config/ipop", Mode: 0o600, Data: conf},
			{Path: "/usr/share/doc/ipopd/copyright", Mode: 0o644, Data: []byte(s.debCopyright())},
			{Path: "/usr/share/doc/ipopd/changelog.Debian.gz", Mode: 0o644, Data: changelog},
			{Path: "/usr/share/lintian/overrides/ipopd", Mode: 0o644, Data: []byte(debOverrides)},
		},
		Dirs:      []Dir{{Path: "/etc/ipop", Mode: 0o700}},
		Conffiles: []string{"/etc/config/ipop"},
		Scripts:   map[string]string{"postinst": debPostinst, "prerm": debPrerm, "postrm": debPostrm},
		MTime:     s.MTime,
	}
	doc, err := os.ReadFile(filepath.Join(s.Root, "docs", "config.md"))
	switch {
	case err == nil:
		d.Files = append(d.Files, File{Path: "/usr/share/doc/ipopd/config.md", Mode: 0o644, Data: doc})
	case errors.Is(err, fs.ErrNotExist):
		s.warn("warning: docs/config.md missing; not in the .deb")
	default:
		return nil, fmt.Errorf("%w: %v", ErrSpec, err)
	}
	return d, d.Validate()
}

// debChangelog is the one-entry changelog Debian wants in every package
// (policy 12.7): this build.
func (s Source) debChangelog(ver, maintainer string) string {
	return fmt.Sprintf("ipopd (%s) unstable; urgency=medium\n\n  * Built by make packages (arm-build/pack); see the project's git history.\n\n -- %s  %s\n",
		ver, maintainer, s.MTime.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700"))
}

// mitText is the MIT licence, the project's (PKG_LICENSE).
const mitText = `Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:
.
The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.
.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.`

// debCopyright is /usr/share/doc/ipopd/copyright in Debian's
// machine-readable format (policy 12.5). The static binary also holds the
// Go standard library and the modules of go.mod, named in the Comment.
func (s Source) debCopyright() string {
	lic, holder := s.License, s.Maintainer
	if lic == "" {
		lic = "MIT"
	}
	if holder == "" {
		holder = "ipopd developers"
	}
	var b strings.Builder
	b.WriteString("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: ipopd\n")
	if s.URL != "" {
		fmt.Fprintf(&b, "Source: %s\n", s.URL)
	}
	fmt.Fprintf(&b, "\nFiles: *\nCopyright: %d %s\nLicense: %s\n", s.MTime.UTC().Year(), holder, lic)
	b.WriteString("Comment: /usr/sbin/ipopd is statically linked: it also holds the Go standard\n" +
		" library and golang.org/x/crypto and golang.org/x/sys (BSD-3-Clause, The Go\n" +
		" Authors) and pion/dtls, pion/logging, pion/stun and pion/transport (MIT, The\n" +
		" Pion community).\n")
	if lic == "MIT" {
		b.WriteString("\nLicense: MIT\n")
		for _, l := range strings.Split(mitText, "\n") {
			b.WriteString(" " + l + "\n")
		}
	}
	return b.String()
}
