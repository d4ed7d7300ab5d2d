package uci

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Hooks for tests: they let a test make the write fail at each step even
// when it runs as root, where permission bits do not stop it.
var (
	syncFile = (*os.File).Sync
	rename   = os.Rename
)

// WriteFile writes f to path atomically; see WriteFileAtomic.
func WriteFile(path string, f *File, perm os.FileMode) error {
	return WriteFileAtomic(path, f.Bytes(), perm)
}

// WriteFileAtomic replaces the file at path with data so that readers see
// either the old or the new contents, never a mix, even after a power cut:
// it writes a temporary file in the same directory, syncs it, renames it
// over path and syncs the directory. On any error before the rename the
// original file is untouched and the temporary file removed.
//
// Like os.WriteFile, perm applies only when the file is created; an
// existing file keeps its permission bits. If path is a symbolic link the
// file it points to is replaced, as uci commit does.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("uci: write %s: %w", path, err)
	}
	if fi, err := os.Stat(path); err == nil {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("uci: write %s: not a regular file", path)
		}
		perm = fi.Mode().Perm()
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("uci: write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("uci: write %s: %w", path, err)
	}
	// CreateTemp makes the file 0600; Chmod is not subject to the umask,
	// so the mode is exactly perm.
	if err := tmp.Chmod(perm.Perm()); err != nil {
		return fmt.Errorf("uci: write %s: %w", path, err)
	}
	if err := syncFile(tmp); err != nil {
		return fmt.Errorf("uci: write %s: sync: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("uci: write %s: %w", path, err)
	}
	if err := rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("uci: write %s: %w", path, err)
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable. File systems that cannot sync a
// directory report EINVAL (or ENOTSUP); for them there is nothing more to do.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("uci: sync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := syncFile(d); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return fmt.Errorf("uci: sync directory %s: %w", dir, err)
	}
	return nil
}
