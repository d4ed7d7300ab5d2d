package group

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// File modes of the state directory and its files.
const (
	dirMode    fs.FileMode = 0o700
	secretMode fs.FileMode = 0o600
	publicMode fs.FileMode = 0o644
)

// maxStateFile bounds how much of a state file is read; real ones are a
// few KiB, allocations.json of a full /16 about 8 MiB.
const maxStateFile = 16 << 20

// renameFile is os.Rename; tests replace it to fail one rename and check
// the rollback.
var renameFile = os.Rename

// fileSpec is one file of a multi-file write.
type fileSpec struct {
	name   string // base name inside the directory
	data   []byte
	perm   fs.FileMode
	remove bool // delete the target instead of writing it (absent is fine)
}

// previous is what a target file held before a commit.
type previous struct {
	existed bool
	data    []byte
	perm    fs.FileMode
}

// commitFiles writes files into dir as one step, as far as a POSIX file
// system allows: it reads what the targets hold now, writes and syncs every
// temporary file, then renames them in order. If a rename fails it puts the
// earlier targets back (old content or no file). Put the file that marks
// the state complete (group.json) last. A spec with remove set deletes its
// target in its turn; a rollback puts it back.
func commitFiles(dir string, files []fileSpec) error {
	olds := make([]previous, len(files))
	for i, f := range files {
		p, err := readPrevious(filepath.Join(dir, f.name))
		if err != nil {
			return err
		}
		olds[i] = p
	}
	temps := make([]string, 0, len(files))
	removeTemps := func(from int) {
		for _, t := range temps[from:] {
			if t == "" {
				continue // a removal: nothing was written
			}
			// Best effort: a leftover dot-file is harmless, and the
			// error that got us here is the one to report.
			_ = os.Remove(t)
		}
	}
	for _, f := range files {
		if f.remove {
			temps = append(temps, "")
			continue
		}
		t, err := writeTemp(dir, f)
		if err != nil {
			removeTemps(0)
			return err
		}
		temps = append(temps, t)
	}
	for i, f := range files {
		target := filepath.Join(dir, f.name)
		if f.remove {
			if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
				removeTemps(i)
				rbErr := rollback(dir, files[:i], olds[:i])
				return errors.Join(fmt.Errorf("removing %s: %w", target, err), rbErr)
			}
			continue
		}
		if err := renameFile(temps[i], target); err != nil {
			removeTemps(i)
			rbErr := rollback(dir, files[:i], olds[:i])
			return errors.Join(fmt.Errorf("installing %s: %w", target, err), rbErr)
		}
	}
	return syncDir(dir)
}

// rollback restores the targets of files to what olds recorded.
func rollback(dir string, files []fileSpec, olds []previous) error {
	var errs []error
	for i := len(files) - 1; i >= 0; i-- {
		target := filepath.Join(dir, files[i].name)
		if !olds[i].existed {
			if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("rolling back %s: %w", target, err))
			}
			continue
		}
		t, err := writeTemp(dir, fileSpec{name: files[i].name, data: olds[i].data, perm: olds[i].perm})
		if err == nil {
			if err = renameFile(t, target); err != nil {
				_ = os.Remove(t)
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("rolling back %s: %w", target, err))
		}
	}
	if err := syncDir(dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func readPrevious(path string) (previous, error) {
	info, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return previous{}, nil
	}
	if err != nil {
		return previous{}, err
	}
	if !info.Mode().IsRegular() {
		return previous{}, fmt.Errorf("%s is not a regular file", path)
	}
	data, err := readFileLimited(path)
	if err != nil {
		return previous{}, err
	}
	return previous{existed: true, data: data, perm: info.Mode().Perm()}, nil
}

// writeTemp writes f to a new temporary file in dir, sets its mode and
// syncs it. The name starts with a dot so a listing of the state directory
// stays readable if a crash leaves one behind.
func writeTemp(dir string, f fileSpec) (string, error) {
	tf, err := os.CreateTemp(dir, "."+f.name+".tmp-*")
	if err != nil {
		return "", err
	}
	name := tf.Name()
	// Chmod, not the create mode, so the umask cannot widen or narrow it.
	err = tf.Chmod(f.perm)
	if err == nil {
		_, err = tf.Write(f.data)
	}
	if err == nil {
		err = tf.Sync()
	}
	if cerr := tf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(name)
		return "", fmt.Errorf("writing %s: %w", filepath.Join(dir, f.name), err)
	}
	return name, nil
}

// syncDir makes the renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// readFileLimited reads a state file, refusing one that is implausibly big.
func readFileLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStateFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxStateFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxStateFile)
	}
	return data, nil
}

// ensureDir creates dir (mode 0700) if it does not exist and reports
// whether it did, so a failed operation can remove it again.
func ensureDir(dir string) (created bool, err error) {
	info, err := os.Stat(dir)
	if err == nil {
		if !info.IsDir() {
			return false, fmt.Errorf("%s is not a directory", dir)
		}
		return false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return false, err
	}
	// MkdirAll applies the umask; the state directory must be 0700.
	return true, os.Chmod(dir, dirMode)
}

// tightenDir sets dir to 0700 once it holds keys.
func tightenDir(dir string) error {
	info, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if info.Mode().Perm() == dirMode {
		return nil
	}
	return os.Chmod(dir, dirMode)
}
