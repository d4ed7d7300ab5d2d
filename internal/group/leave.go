package group

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// leaveOrder is the order in which Leave deletes: group.json first, so
// that from the first step on the directory holds no group (Load reports
// ErrNoGroup), then the secrets, then the rest.
var leaveOrder = []string{FileGroup, FileNodeKey, FileCAKey, FileInvites, FileNodeCert, FileAllocations, FileCRL, FileCACert}

// Leave removes this node's group state from dir: every file this package
// writes there, and temporary files a crash left behind. The directory
// itself stays. On the owner (the directory holds the CA key or the
// owner's records) it refuses with ErrCAKeyPresent unless force: without
// the CA key nobody can admit, renew or revoke members again. A directory
// without group state is ErrNoGroup.
//
// group.json goes first, so if Leave is interrupted the directory holds
// no group any more (Load says ErrNoGroup); running Leave again removes
// what is left.
func Leave(dir string, force bool) error {
	if dir == "" {
		return errorf(ErrInvalidOption, "group: leave: state directory is not set")
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return errorf(ErrNoGroup, "group: leave: no group in %s (the directory does not exist)", dir)
	}
	unlock, err := lockDir(dir, true)
	if err != nil {
		return fmt.Errorf("group: leave: %w", err)
	}
	defer unlock()
	present, err := presentStateFiles(dir)
	if err != nil {
		return fmt.Errorf("group: leave: %w", err)
	}
	temps, err := leftoverTemps(dir)
	if err != nil {
		return fmt.Errorf("group: leave: %w", err)
	}
	if len(present) == 0 && len(temps) == 0 {
		return errorf(ErrNoGroup, "group: leave: no group in %s", dir)
	}
	owner := slices.Contains(present, FileCAKey) || slices.Contains(present, FileAllocations) || slices.Contains(present, FileInvites)
	if owner && !force {
		what := "a group"
		if s, err := load(dir); err == nil {
			what = fmt.Sprintf("group %q", s.Name)
		}
		return errorf(ErrCAKeyPresent, "group: leave: %s holds the CA key of %s: this node owns the group, and without the key nobody can admit, renew or revoke members again; back up %s and use --force to leave anyway",
			dir, what, dir)
	}
	for _, name := range leaveOrder {
		if !slices.Contains(present, name) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("group: leave: %w (run leave again to finish)", err)
		}
		if name == FileGroup {
			// Make "no group here" durable before the rest goes.
			if err := syncDir(dir); err != nil {
				return fmt.Errorf("group: leave: %w", err)
			}
		}
	}
	for _, t := range temps {
		if err := os.Remove(filepath.Join(dir, t)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("group: leave: %w (run leave again to finish)", err)
		}
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("group: leave: %w", err)
	}
	return nil
}

// leftoverTemps lists the temporary files of commitFiles (".<file>.tmp-*")
// in dir.
func leftoverTemps(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		for _, n := range stateFiles {
			if strings.HasPrefix(e.Name(), "."+n+".tmp-") && e.Type().IsRegular() {
				out = append(out, e.Name())
				break
			}
		}
	}
	return out, nil
}
