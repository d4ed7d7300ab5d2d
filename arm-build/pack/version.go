package pack

import (
	"fmt"
	"strconv"
	"strings"
)

// apkSuffixes are the version suffixes apk-tools knows (version.c).
var apkSuffixes = []string{"alpha", "beta", "pre", "rc", "cvs", "svn", "git", "hg", "p"}

// ValidateVersion checks v against apk's version syntax with the release
// OpenWrt always adds (FORMATS.md apk: "version like 1.0-r1; 1.0-1 is
// rejected"): digits{.digits}[letter]{_suffix[digits]}[~hash]-r<digits>.
// opkg accepts every such string too, so both formats use the same version.
func ValidateVersion(v string) error {
	bad := func(why string) error { return fmt.Errorf("version %q: %s", v, why) }
	main, rel, ok := strings.Cut(v, "-r")
	if !ok || rel == "" || !allDigits(rel) {
		return bad("needs a release, like 1.0-r1")
	}
	s := main
	// digits{.digits}
	for {
		n := leadingDigits(s)
		if n == 0 {
			return bad("each dotted part must be a number")
		}
		s = s[n:]
		if !strings.HasPrefix(s, ".") {
			break
		}
		s = s[1:]
	}
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = s[1:]
	}
	for strings.HasPrefix(s, "_") {
		s = s[1:]
		found := false
		for _, suf := range apkSuffixes {
			if strings.HasPrefix(s, suf) {
				s = s[len(suf):]
				s = s[leadingDigits(s):]
				found = true
				break
			}
		}
		if !found {
			return bad("unknown suffix after _ (want alpha, beta, pre, rc, cvs, svn, git, hg or p)")
		}
	}
	if strings.HasPrefix(s, "~") {
		h := s[1:]
		if h == "" || strings.Trim(h, "0123456789abcdef") != "" {
			return bad("~ must be followed by a lowercase hex commit hash")
		}
		s = ""
	}
	if s != "" {
		return bad(fmt.Sprintf("unexpected %q", s))
	}
	return nil
}

func leadingDigits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

func allDigits(s string) bool { return s != "" && leadingDigits(s) == len(s) }

// PackageVersion turns what `git describe --tags --always --dirty` printed
// (the binary's version) into a package version both package managers order
// correctly:
//
//	v1.2.3                   -> 1.2.3-rRELEASE
//	v1.2.3-4-gabcdef0[-dirty] -> 1.2.3_p4-rRELEASE   (4 commits after the tag)
//	abcdef0 or dev           -> 0_gitCOMMITS-rRELEASE (no tag yet)
//
// commits is the number of commits in the history (git rev-list --count
// HEAD); it keeps untagged builds ordered.
func PackageVersion(describe string, commits, release int) (string, error) {
	if commits < 0 || release < 0 {
		return "", fmt.Errorf("%w: negative commit count or release", ErrSpec)
	}
	d := strings.TrimSuffix(strings.TrimSpace(describe), "-dirty")
	d = strings.TrimPrefix(d, "v")
	var v string
	parts := strings.Split(d, "-")
	switch {
	case d == "" || d == "dev" || isCommitHash(d):
		v = "0_git" + strconv.Itoa(commits)
	case len(parts) == 1:
		v = d
	case len(parts) == 3 && allDigits(parts[1]) && strings.HasPrefix(parts[2], "g") && isCommitHash(parts[2][1:]):
		v = parts[0] + "_p" + parts[1]
	default:
		return "", fmt.Errorf("%w: version %q is neither a tag, tag-N-gHASH nor a commit hash", ErrSpec, describe)
	}
	v += "-r" + strconv.Itoa(release)
	if err := ValidateVersion(v); err != nil {
		return "", fmt.Errorf("%w: from %q: %v", ErrSpec, describe, err)
	}
	return v, nil
}

// isCommitHash reports whether s looks like git's abbreviated hash: at
// least 7 lowercase hex digits.
func isCommitHash(s string) bool {
	return len(s) >= 7 && strings.Trim(s, "0123456789abcdef") == ""
}
