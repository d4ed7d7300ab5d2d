// Package pack builds OpenWrt packages without the OpenWrt SDK: .ipk files for
// opkg (OpenWrt 24.10 and older) and .apk files in apk-tools v3's ADB format
// (OpenWrt 25.12), plus the feed indexes that make a directory of them
// installable (Packages and Packages.gz for opkg, packages.adb for apk). It
// also writes .deb packages for Raspberry Pi OS and Debian and the flat apt
// repository around them (deb.go, debsource.go, debrepo.go; read back by
// readdeb.go), following deb(5), deb-control(5) and Debian policy.
//
// Every fact about the formats comes from ../shared/packaging/FORMATS.md,
// which was checked against the real opkg and apk; comments cite its sections
// as "FORMATS.md ipk" and "FORMATS.md apk N" (N is the numbered fact).
//
// The writers (tarball.go, ipk.go, adb.go, apk.go, index.go) and the readers
// (readipk.go, readapk.go, readindex.go) are separate code on purpose: the
// tests write packages and read them back with the readers, so a
// misunderstanding would have to be made twice, the same way, to pass.
//
// # .ipk (FORMATS.md ipk)
//
//	gzip( tar[ ./debian-binary "2.0\n", ./data.tar.gz, ./control.tar.gz ] )
//	control.tar.gz: ./ ./control ./conffiles ./postinst ./prerm
//	data.tar.gz:    ./ ./etc/ ./etc/config/ ./etc/config/ipop ... (uid/gid 0)
//
// Tar headers are GNU, never PAX; mtimes are whole seconds and fixed, so the
// same input gives the same bytes.
//
// # .apk (FORMATS.md apk 1-7)
//
//	"ADBd" raw-deflate(
//	  "ADB." "pckg"
//	  block ADB  { adb_hdr, values..., root object: {info, paths, scripts} }
//	  block DATA { path_idx, file_idx, bytes }   one per non-empty file, in path order
//	)
//
// Packages are not signed: users install them with --allow-untrusted (see
// arm-build/README.md).
package pack
