package uci

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// noTemps fails if a temporary file was left in dir.
func noTemps(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ipop")

	if err := WriteFileAtomic(path, []byte("one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("new file mode %v, want 0600", fi.Mode().Perm())
	}

	// An existing file keeps its mode.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(path, []byte("two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "two\n" {
		t.Errorf("content %q", got)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("existing file mode changed to %v", fi.Mode().Perm())
	}
	noTemps(t, dir)

	// A symlink is written through, as uci commit does.
	target := filepath.Join(dir, "real")
	if err := os.WriteFile(target, []byte("old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink("real", link); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(link, []byte("new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("symlink replaced: %v", err)
	}
	if got, _ := os.ReadFile(target); string(got) != "new\n" {
		t.Errorf("target content %q", got)
	}
	noTemps(t, dir)
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "network")
	f, err := ReadFile("testdata/network")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Section("lan").Set("ipaddr", "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, f, 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := g.Section("lan").Get("ipaddr"); v != "10.0.0.1" {
		t.Errorf("ipaddr = %q", v)
	}
}

func TestWriteFileAtomicFailures(t *testing.T) {
	const orig = "original\n"
	setup := func(t *testing.T) (dir, path string) {
		dir = t.TempDir()
		path = filepath.Join(dir, "cfg")
		if err := os.WriteFile(path, []byte(orig), 0o600); err != nil {
			t.Fatal(err)
		}
		return dir, path
	}
	check := func(t *testing.T, dir, path string) {
		t.Helper()
		if got, err := os.ReadFile(path); err != nil || string(got) != orig {
			t.Errorf("original changed: %q, %v", got, err)
		}
		noTemps(t, dir)
	}

	t.Run("sync fails", func(t *testing.T) {
		dir, path := setup(t)
		boom := errors.New("boom")
		syncFile = func(*os.File) error { return boom }
		defer func() { syncFile = (*os.File).Sync }()
		if err := WriteFileAtomic(path, []byte("new\n"), 0o600); !errors.Is(err, boom) {
			t.Errorf("err = %v", err)
		}
		check(t, dir, path)
	})
	t.Run("rename fails", func(t *testing.T) {
		dir, path := setup(t)
		boom := errors.New("boom")
		rename = func(string, string) error { return boom }
		defer func() { rename = os.Rename }()
		if err := WriteFileAtomic(path, []byte("new\n"), 0o600); !errors.Is(err, boom) {
			t.Errorf("err = %v", err)
		}
		check(t, dir, path)
	})
	t.Run("target is a directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := WriteFileAtomic(dir, []byte("x"), 0o600); err == nil {
			t.Errorf("no error")
		}
		noTemps(t, filepath.Dir(dir))
	})
	t.Run("missing directory", func(t *testing.T) {
		if err := WriteFileAtomic(filepath.Join(t.TempDir(), "no", "cfg"), []byte("x"), 0o600); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("unwritable directory", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root ignores directory permissions; the hook tests above cover this path")
		}
		dir, path := setup(t)
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(dir, 0o755)
		if err := WriteFileAtomic(path, []byte("new\n"), 0o600); !errors.Is(err, os.ErrPermission) {
			t.Errorf("err = %v", err)
		}
		check(t, dir, path)
	})
}
