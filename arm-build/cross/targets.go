package cross

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ipopd/ipopd/internal/buildflags"
)

// Target is one OpenWrt package architecture and the Go build for it.
type Target struct {
	Arch   string   // OpenWrt package architecture
	GOARCH string   // Go architecture
	Env    []string // GOMIPS, GOARM
	QEMU   string   // qemu-user binary that runs it; "" = runs natively on amd64
	// SameAs names the target whose binary this one ships unchanged
	// (aarch64_generic runs the cortex-a53 build: Go emits generic ARMv8).
	SameAs string
	// Deb is the Debian architecture whose .deb ships this binary ("" =
	// none): Raspberry Pi OS and Debian gateways.
	Deb string
	// LDFlags are added to the linker flags of this target's build.
	LDFlags string
}

// mipsPages aligns the MIPS binaries' segments to 4 KiB pages instead of
// the linker's default 64 KiB (kept for kernels with 64 KiB pages, which
// no OpenWrt MIPS target uses: ath79, ramips and lantiq all run 4 KiB
// pages). The 64 KiB padding was about 70 KiB of zeros in the flash image.
const mipsPages = "-R 0x1000"

// Targets are the architectures ipopd ships for, in table order.
var Targets = []Target{
	// MIPS 24Kc has no FPU: softfloat avoids trapping to the kernel's emulator.
	{Arch: "mipsel_24kc", GOARCH: "mipsle", Env: []string{"GOMIPS=softfloat"}, QEMU: "qemu-mipsel-static", LDFlags: mipsPages},
	{Arch: "mips_24kc", GOARCH: "mips", Env: []string{"GOMIPS=softfloat"}, QEMU: "qemu-mips-static", LDFlags: mipsPages},
	{Arch: "arm_cortex-a7_neon-vfpv4", GOARCH: "arm", Env: []string{"GOARM=7"}, QEMU: "qemu-arm-static"},
	// Raspberry Pi Zero/1: ARMv6 with VFP.
	// Raspberry Pi OS's armhf is ARMv6 (the Pi Zero/1 run it too): this
	// build, not the ARMv7 one, goes into the armhf .deb.
	{Arch: "arm_arm1176jzf-s_vfp", GOARCH: "arm", Env: []string{"GOARM=6"}, QEMU: "qemu-arm-static", Deb: "armhf"},
	{Arch: "aarch64_cortex-a53", GOARCH: "arm64", QEMU: "qemu-aarch64-static", Deb: "arm64"},
	{Arch: "aarch64_generic", GOARCH: "arm64", QEMU: "qemu-aarch64-static", SameAs: "aarch64_cortex-a53"},
	{Arch: "x86_64", GOARCH: "amd64", QEMU: "qemu-x86_64-static", Deb: "amd64"},
}

// Lookup returns the target for an OpenWrt architecture.
func Lookup(arch string) (Target, error) {
	for _, t := range Targets {
		if t.Arch == arch {
			return t, nil
		}
	}
	return Target{}, fmt.Errorf("%w: %q", ErrUnknownArch, arch)
}

// Options configure Build.
type Options struct {
	Repo    string // module root (holds go.mod)
	Version string // stamped as main.version
	Go      string // go command; "" = "go"
	// Unstripped keeps the symbol table (for go tool nm), changing only -s -w.
	Unstripped bool
	// ExtraFlags are added before the package, e.g. "-a" to force a rebuild.
	ExtraFlags []string
	// Env is added to the environment, e.g. GOCACHE for a cold build.
	Env []string
}

// LDFlags returns the linker flags of a build.
func (o Options) LDFlags() string {
	f := "-buildid= -X main.version=" + o.Version
	if !o.Unstripped {
		f = "-s -w " + f
	}
	return f
}

// Build compiles ./ipopd for t into out (a file path).
func Build(ctx context.Context, t Target, o Options, out string) error {
	if strings.ContainsAny(o.Version, " \t\n'\"") || o.Version == "" {
		return fmt.Errorf("%w: version %q must be one word", ErrBuild, o.Version)
	}
	goCmd := o.Go
	if goCmd == "" {
		goCmd = "go"
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("%w: %v", ErrBuild, err)
	}
	// Packages off the data path without inlining (see internal/buildflags).
	ld := o.LDFlags()
	if t.LDFlags != "" {
		ld += " " + t.LDFlags
	}
	args := append([]string{"build", "-trimpath", "-ldflags", ld}, buildflags.GCFlags()...)
	args = append(args, o.ExtraFlags...)
	args = append(args, "-o", out, "./ipopd")
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = o.Repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+t.GOARCH, "GOFLAGS=-buildvcs=false")
	cmd.Env = append(append(cmd.Env, t.Env...), o.Env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: %s: %v\n%s", ErrBuild, t.Arch, err, stderr.String())
	}
	return nil
}
