package repocheck

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoTrackedELF fails when git tracks an ELF file (a build output such
// as the 3.7 MB stunclient binary once committed by mistake): binaries
// come from make build, make cross and go build, never from the
// repository. It skips outside a git checkout (a source tarball).
func TestNoTrackedELF(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skip("not a git checkout")
	}
	root := strings.TrimSpace(string(top))
	list, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	var elves []string
	for _, name := range strings.Split(string(list), "\x00") {
		if name == "" {
			continue
		}
		isELF, err := startsWithELF(filepath.Join(root, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if isELF {
			elves = append(elves, name)
		}
	}
	if len(elves) > 0 {
		t.Errorf("git tracks ELF binaries (build outputs; git rm them and list them in .gitignore): %s", strings.Join(elves, ", "))
	}
}

// startsWithELF reports whether the file begins with the ELF magic. Files
// deleted in the work tree but still tracked are read from nowhere: they
// do not count (git status shows them).
func startsWithELF(path string) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return false, err // a tracked symlink to a directory, say
	}
	var head [4]byte
	if _, err := io.ReadFull(f, head[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return false, nil
		}
		return false, err
	}
	return bytes.Equal(head[:], []byte("\x7fELF")), nil
}
