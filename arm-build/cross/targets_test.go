package cross

import (
	"errors"
	"strings"
	"testing"
)

func TestTargets(t *testing.T) {
	seen := map[string]bool{}
	for _, tg := range Targets {
		if seen[tg.Arch] {
			t.Errorf("%s listed twice", tg.Arch)
		}
		seen[tg.Arch] = true
		if tg.SameAs != "" {
			src, err := Lookup(tg.SameAs)
			if err != nil || src.GOARCH != tg.GOARCH || src.SameAs != "" {
				t.Errorf("%s: SameAs %q must name a built target of the same GOARCH", tg.Arch, tg.SameAs)
			}
			if !seen[tg.SameAs] {
				t.Errorf("%s: SameAs %q must come before it (cross builds in table order)", tg.Arch, tg.SameAs)
			}
		}
		if tg.GOARCH == "mips" || tg.GOARCH == "mipsle" {
			if len(tg.Env) != 1 || tg.Env[0] != "GOMIPS=softfloat" {
				t.Errorf("%s: MIPS 24Kc has no FPU, want GOMIPS=softfloat", tg.Arch)
			}
		}
	}
	for _, want := range []string{"mipsel_24kc", "mips_24kc", "arm_cortex-a7_neon-vfpv4", "arm_arm1176jzf-s_vfp", "aarch64_cortex-a53", "aarch64_generic", "x86_64"} {
		if !seen[want] {
			t.Errorf("%s missing", want)
		}
	}
	if _, err := Lookup("sparc"); !errors.Is(err, ErrUnknownArch) {
		t.Errorf("Lookup(sparc) = %v", err)
	}
}

func TestLDFlags(t *testing.T) {
	tests := []struct {
		o    Options
		want string
	}{
		{Options{Version: "v1.0"}, "-s -w -buildid= -X main.version=v1.0"},
		{Options{Version: "v1.0", Unstripped: true}, "-buildid= -X main.version=v1.0"},
	}
	for _, tc := range tests {
		if got := tc.o.LDFlags(); got != tc.want {
			t.Errorf("LDFlags(%+v) = %q, want %q", tc.o, got, tc.want)
		}
	}
}

func TestBuildRejectsBadVersion(t *testing.T) {
	for _, v := range []string{"", "a b", "x'y"} {
		err := Build(t.Context(), Targets[0], Options{Repo: "../..", Version: v}, t.TempDir()+"/ipopd")
		if !errors.Is(err, ErrBuild) || !strings.Contains(err.Error(), "version") {
			t.Errorf("version %q: err = %v", v, err)
		}
	}
}
