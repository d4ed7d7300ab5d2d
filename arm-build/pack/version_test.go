package pack

import (
	"errors"
	"testing"
)

func TestValidateVersion(t *testing.T) {
	tests := []struct {
		v  string
		ok bool
	}{
		{"1.0-r1", true}, {"1.2.3-r0", true}, {"1.0a-r2", true}, {"1.0_rc1-r1", true},
		{"0_git6-r1", true}, {"1.2.3_p4-r1", true}, {"1.0~abc123-r1", true}, {"1.0_beta_p2-r1", true},
		{"1.0-1", false}, {"1.0", false}, {"v1.0-r1", false}, {"1..0-r1", false}, {"1.0_foo-r1", false},
		{"1.0-r", false}, {"1.0~XYZ-r1", false}, {"-r1", false}, {"1.0ab-r1", false},
	}
	for _, tc := range tests {
		if err := ValidateVersion(tc.v); (err == nil) != tc.ok {
			t.Errorf("ValidateVersion(%q) = %v, want ok %v", tc.v, err, tc.ok)
		}
	}
}

func TestPackageVersion(t *testing.T) {
	tests := []struct {
		describe string
		commits  int
		want     string
		wantErr  bool
	}{
		{"v1.2.3", 10, "1.2.3-r1", false},
		{"1.2.3", 10, "1.2.3-r1", false},
		{"v1.2.3-4-gabcdef0", 10, "1.2.3_p4-r1", false},
		{"v1.2.3-4-gabcdef0-dirty", 10, "1.2.3_p4-r1", false},
		{"8f82c7c", 6, "0_git6-r1", false},
		{"abcdef0-dirty", 6, "0_git6-r1", false},
		{"dev", 0, "0_git0-r1", false},
		{"", 3, "0_git3-r1", false},
		{"v1.0-beta", 0, "", true},
		{"release-1", 0, "", true},
		{"v1.2.3-x-gabc", 0, "", true},
	}
	for _, tc := range tests {
		got, err := PackageVersion(tc.describe, tc.commits, 1)
		if tc.wantErr {
			if !errors.Is(err, ErrSpec) {
				t.Errorf("PackageVersion(%q) = %q, %v; want ErrSpec", tc.describe, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("PackageVersion(%q) = %q, %v; want %q", tc.describe, got, err, tc.want)
		}
	}
	if _, err := PackageVersion("v1", -1, 1); err == nil {
		t.Error("negative commits accepted")
	}
}
