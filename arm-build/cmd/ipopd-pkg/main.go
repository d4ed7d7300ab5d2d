// Command ipopd-pkg cross-builds ipopd, packs it into .ipk and .apk feeds
// and checks the size budget. arm-build/arm-build.mk calls it:
//
//	ipopd-pkg cross    -version V -out dist/bin
//	ipopd-pkg packages -version V -commits N -bin dist/bin -out dist   (also dist/deb)
//	ipopd-pkg check    dist/ARCH...
//	ipopd-pkg size     -dist dist -unstripped FILE
package main

import (
	"context"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ipopd/ipopd/arm-build/cross"
	"github.com/ipopd/ipopd/arm-build/pack"
)

const usage = `usage: ipopd-pkg COMMAND [flags]

  cross      build ipopd for every architecture into -out/ARCH/ipopd
  packages   make a feed per architecture in -out/ARCH: .ipk, .apk, indexes;
             and the .deb packages with their apt repository in -out/deb
  check      read every package and index of the given feed directories
             (or .deb repositories) back
  size       print sizes and the largest Go packages; fail over budget
`

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "ipopd-pkg: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "cross":
		return cmdCross(args[1:], stdout)
	case "packages":
		return cmdPackages(args[1:], stdout, stderr)
	case "check":
		return cmdCheck(args[1:], stdout)
	case "size":
		return cmdSize(args[1:], stdout)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func cmdCross(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("cross", flag.ContinueOnError)
	repo := fs.String("repo", ".", "module root")
	version := fs.String("version", "dev", "version stamped into the binary")
	out := fs.String("out", "dist/bin", "output directory")
	only := fs.String("arch", "", "build only this OpenWrt architecture")
	unstripped := fs.Bool("unstripped", false, "keep the symbol table (for go tool nm)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *only != "" {
		if _, err := cross.Lookup(*only); err != nil {
			return err
		}
	}
	o := cross.Options{Repo: *repo, Version: *version, Unstripped: *unstripped}
	for _, t := range cross.Targets {
		if *only != "" && t.Arch != *only {
			continue
		}
		dst := filepath.Join(*out, t.Arch, "ipopd")
		start := time.Now()
		if t.SameAs != "" && *only == "" {
			b, err := os.ReadFile(filepath.Join(*out, t.SameAs, "ipopd"))
			if err != nil {
				return fmt.Errorf("%s ships the %s binary: %w", t.Arch, t.SameAs, err)
			}
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(dst, b, 0o755); err != nil {
				return err
			}
		} else if err := cross.Build(context.Background(), t, o, dst); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%-26s %s (%v)\n", t.Arch, dst, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

func cmdPackages(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("packages", flag.ContinueOnError)
	repo := fs.String("repo", ".", "repository root (holds openwrt/)")
	binDir := fs.String("bin", "dist/bin", "cross-built binaries, ARCH/ipopd")
	out := fs.String("out", "dist", "feed directories are made in OUT/ARCH")
	describe := fs.String("version", "dev", "the binary's version (git describe)")
	commits := fs.Int("commits", 0, "commits in the history, orders untagged builds")
	release := fs.Int("release", 1, "package release (-rN)")
	mtime := fs.Int64("mtime", 0, "file times, Unix seconds (SOURCE_DATE_EPOCH)")
	license := fs.String("license", "", "License field")
	maintainer := fs.String("maintainer", "", "Maintainer field")
	url := fs.String("url", "", "project URL (apk and deb)")
	debMaintainer := fs.String("deb-maintainer", "ipopd developers <ipopd@users.noreply.github.com>", "Maintainer of the .deb packages, \"Name <email>\"")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ver, err := pack.PackageVersion(*describe, *commits, *release)
	if err != nil {
		return err
	}
	src := pack.Source{
		Root: *repo, Version: ver, MTime: time.Unix(*mtime, 0).UTC(),
		License: *license, Maintainer: *maintainer, URL: *url,
		Warn: warnOnce(stderr),
	}
	luci, err := src.LuCI()
	if err != nil {
		return err
	}
	var luciEntry *pack.FeedEntry
	if luci != nil {
		if luciEntry, err = buildBoth(luci); err != nil {
			return err
		}
	}
	for _, t := range cross.Targets {
		bin, err := os.ReadFile(filepath.Join(*binDir, t.Arch, "ipopd"))
		if err != nil {
			return fmt.Errorf("%s: %w (run make cross first)", t.Arch, err)
		}
		p, err := src.Daemon(t.Arch, bin)
		if err != nil {
			return err
		}
		e, err := buildBoth(p)
		if err != nil {
			return err
		}
		entries := []pack.FeedEntry{*e}
		if luciEntry != nil {
			entries = append(entries, *luciEntry)
		}
		dir := filepath.Join(*out, t.Arch)
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		if err := pack.WriteFeed(dir, "ipopd "+ver+" for "+t.Arch, entries); err != nil {
			return err
		}
		if _, err := pack.CheckFeed(dir); err != nil {
			return fmt.Errorf("feed %s fails its own check: %w", dir, err)
		}
		fmt.Fprintf(stdout, "%-26s %s  ipk %s  apk %s\n", t.Arch, dir, mib(len(e.IPK.Data)), mib(len(e.APK.Data)))
	}
	return writeDebs(src, *debMaintainer, *binDir, filepath.Join(*out, "deb"), stdout)
}

// writeDebs makes the .deb of every target that has a Debian architecture
// and the flat apt repository around them in dir, and reads it all back.
func writeDebs(src pack.Source, maintainer, binDir, dir string, stdout io.Writer) error {
	var entries []pack.DebEntry
	for _, t := range cross.Targets {
		if t.Deb == "" {
			continue
		}
		bin, err := os.ReadFile(filepath.Join(binDir, t.Arch, "ipopd"))
		if err != nil {
			return fmt.Errorf("%s: %w (run make cross first)", t.Arch, err)
		}
		p, err := src.DebDaemon(t.Deb, maintainer, bin)
		if err != nil {
			return err
		}
		b, err := pack.BuildDeb(p)
		if err != nil {
			return err
		}
		entries = append(entries, pack.DebEntry{Pkg: p, Deb: b})
	}
	if err := pack.WriteDebRepo(dir, "ipopd", entries); err != nil {
		return err
	}
	if _, err := pack.CheckDebRepo(dir); err != nil {
		return fmt.Errorf("deb repository %s fails its own check: %w", dir, err)
	}
	for _, e := range entries {
		fmt.Fprintf(stdout, "%-26s %s  deb %s\n", e.Pkg.Arch, filepath.Join(dir, e.Pkg.DebName()), mib(len(e.Deb.Data)))
	}
	return nil
}

// warnOnce prints each distinct warning once, not once per architecture.
func warnOnce(w io.Writer) func(string, ...any) {
	seen := map[string]bool{}
	return func(format string, args ...any) {
		if msg := fmt.Sprintf(format, args...); !seen[msg] {
			seen[msg] = true
			fmt.Fprintln(w, msg)
		}
	}
}

func buildBoth(p *pack.Package) (*pack.FeedEntry, error) {
	ipk, err := pack.BuildIPK(p)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", p.Name, p.Arch, err)
	}
	apk, err := pack.BuildAPK(p)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", p.Name, p.Arch, err)
	}
	return &pack.FeedEntry{Pkg: p, IPK: ipk, APK: apk}, nil
}

func cmdCheck(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("check: give feed directories")
	}
	for _, dir := range args {
		if _, err := os.Stat(filepath.Join(dir, pack.ReleaseFile)); err == nil {
			debs, err := pack.CheckDebRepo(dir)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "ok %s: %d .deb and the apt repository's indexes read back\n", dir, len(debs))
			continue
		}
		r, err := pack.CheckFeed(dir)
		if err != nil {
			return err
		}
		if len(r.IPK)+len(r.APK) == 0 {
			return fmt.Errorf("check: %s holds no packages", dir)
		}
		fmt.Fprintf(stdout, "ok %s: %d .ipk, %d .apk and their indexes read back\n", dir, len(r.IPK), len(r.APK))
	}
	return nil
}

func mib(n int) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }

// Size budget (issue 7): the mipsel package and binary must fit routers
// with 8 MiB of flash next to the firmware.
const (
	budgetArch   = "mipsel_24kc"
	budgetIPK    = 3 << 20      // 3.0 MiB
	budgetBinary = 15 << 20 / 2 // 7.5 MiB
)

func cmdSize(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("size", flag.ContinueOnError)
	dist := fs.String("dist", "dist", "dist directory (bin/ARCH/ipopd and ARCH/*.ipk)")
	unstripped := fs.String("unstripped", "", "unstripped mipsel build for go tool nm")
	top := fs.Int("top", 15, "largest Go packages to list")
	goCmd := fs.String("go", "go", "go command")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%-26s %12s %12s %12s\n", "architecture", "binary", ".ipk", ".apk")
	var over []string
	for _, t := range cross.Targets {
		bin, err := fileSize(filepath.Join(*dist, "bin", t.Arch, "ipopd"))
		if err != nil {
			return err
		}
		ipk, err := globSize(filepath.Join(*dist, t.Arch, pack.DaemonName+"_*_"+t.Arch+".ipk"))
		if err != nil {
			return err
		}
		apk, err := globSize(filepath.Join(*dist, t.Arch, pack.DaemonName+"-*.apk"))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%-26s %12s %12s %12s\n", t.Arch, mib(bin), mib(ipk), mib(apk))
		if t.Arch == budgetArch {
			if ipk > budgetIPK {
				over = append(over, fmt.Sprintf("%s .ipk is %s, budget %s", t.Arch, mib(ipk), mib(budgetIPK)))
			}
			if bin > budgetBinary {
				over = append(over, fmt.Sprintf("%s binary is %s, budget %s", t.Arch, mib(bin), mib(budgetBinary)))
			}
		}
	}
	if *unstripped != "" {
		sizes, err := nmSizes(*goCmd, *unstripped)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nlargest Go packages in the %s binary (symbol sizes, go tool nm):\n", budgetArch)
		for i, s := range sizes {
			if i == *top {
				break
			}
			fmt.Fprintf(stdout, "%10d  %s\n", s.size, s.pkg)
		}
	}
	if len(over) > 0 {
		return fmt.Errorf("over the size budget: %s", strings.Join(over, "; "))
	}
	fmt.Fprintf(stdout, "\n%s within budget (.ipk <= %s, binary <= %s)\n", budgetArch, mib(budgetIPK), mib(budgetBinary))
	return nil
}

func fileSize(p string) (int, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return 0, err
	}
	return int(fi.Size()), nil
}

func globSize(pattern string) (int, error) {
	m, err := filepath.Glob(pattern)
	if err != nil {
		return 0, err
	}
	if len(m) != 1 {
		return 0, fmt.Errorf("%s: %d matches, want 1 (run make packages)", pattern, len(m))
	}
	return fileSize(m[0])
}

type pkgSize struct {
	pkg  string
	size int64
}

func nmSizes(goCmd, bin string) ([]pkgSize, error) {
	out, err := exec.Command(goCmd, "tool", "nm", "-size", "-sort", "size", bin).Output()
	if err != nil {
		return nil, fmt.Errorf("go tool nm %s: %w", bin, err)
	}
	f, err := elf.Open(bin)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", bin, err)
	}
	defer f.Close()
	// .bss and .noptrbss take no bytes in the file (drbg's 32 MiB buffer
	// would top the list otherwise).
	var nobits [][2]uint64
	for _, s := range f.Sections {
		if s.Type == elf.SHT_NOBITS {
			nobits = append(nobits, [2]uint64{s.Addr, s.Addr + s.Size})
		}
	}
	inFile := func(addr uint64) bool {
		for _, r := range nobits {
			if addr >= r[0] && addr < r[1] {
				return false
			}
		}
		return true
	}
	return sumByPackage(string(out), inFile)
}

// sumByPackage adds up `go tool nm -size` lines ("addr size type name") by
// the Go package a symbol belongs to, counting those at addresses inFile
// accepts.
func sumByPackage(nm string, inFile func(addr uint64) bool) ([]pkgSize, error) {
	sums := map[string]int64{}
	for i, line := range strings.Split(nm, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 4 {
			return nil, fmt.Errorf("go tool nm line %d: %q is not \"addr size type name\"", i+1, line)
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("go tool nm line %d: size %q: %v", i+1, f[1], err)
		}
		addr, err := strconv.ParseUint(f[0], 16, 64)
		if err != nil {
			return nil, fmt.Errorf("go tool nm line %d: address %q: %v", i+1, f[0], err)
		}
		if inFile(addr) {
			sums[symbolPackage(strings.Join(f[3:], " "))] += n
		}
	}
	out := make([]pkgSize, 0, len(sums))
	for p, s := range sums {
		out = append(out, pkgSize{p, s})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].size != out[j].size {
			return out[i].size > out[j].size
		}
		return out[i].pkg < out[j].pkg
	})
	return out, nil
}

// symbolPackage returns the import path of a Go symbol: the name up to the
// first dot after its last slash, ignoring receivers and type arguments.
// Linker-made symbols (go:..., type:...) are grouped by that prefix.
func symbolPackage(sym string) string {
	for _, p := range []string{"go:", "type:"} {
		if strings.HasPrefix(sym, p) {
			return p + "* (linker data)"
		}
	}
	head := sym
	if i := strings.IndexAny(head, "[("); i >= 0 {
		head = head[:i]
	}
	slash := strings.LastIndex(head, "/") + 1
	if dot := strings.Index(head[slash:], "."); dot >= 0 {
		return head[:slash+dot]
	}
	return head
}
