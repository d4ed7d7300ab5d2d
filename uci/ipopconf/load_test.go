package ipopconf

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ipopd/ipopd/uci"
)

const shipped = "../../openwrt/ipopd/files/ipop.config"

func TestShippedConfig(t *testing.T) {
	c, err := Load(shipped)
	if err != nil {
		t.Fatalf("shipped config does not load: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("shipped config does not validate: %v", err)
	}
	want := Default()
	want.Bridge = "br-ipop"
	want.GoMemLimit = 24 << 20 // a soft limit for 64 MiB routers
	if !reflect.DeepEqual(c, want) {
		t.Errorf("shipped config differs from the defaults beyond bridge and gomemlimit:\n%+v", c)
	}

	// Every option is present or shown commented out, with a comment line
	// above it.
	data, err := os.ReadFile(shipped)
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range specs {
		kw := "option"
		if sp.list {
			kw = "list"
		}
		re := regexp.MustCompile(`(?m)^\t# [^\n]+\n\t#?` + kw + ` ` + sp.name + ` '[^']*'\n`)
		if !re.Match(data) {
			t.Errorf("shipped config lacks a commented %s %s", kw, sp.name)
		}
	}
	// Uncommenting every example must still give a valid file.
	uncommented := regexp.MustCompile(`(?m)^\t#(option|list) `).ReplaceAll(data, []byte("\t$1 "))
	f, err := uci.Parse(shipped, uncommented)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := FromFile(f); err != nil {
		t.Errorf("shipped config with every example uncommented: %v", err)
	}
}

func TestDocsListEveryOption(t *testing.T) {
	data, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range specs {
		if !strings.Contains(string(data), "| `"+sp.name+"` |") {
			t.Errorf("docs/config.md has no table row for %s", sp.name)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	if _, err := Load(missing); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("config ipopd 'main'\n\toption mtu '1400\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var pe *uci.ParseError
	if _, err := Load(bad); !errors.As(err, &pe) || pe.Line != 2 || !strings.Contains(err.Error(), bad+":2: unterminated quote") {
		t.Errorf("bad file: %v", err)
	}
	if os.Geteuid() != 0 {
		unreadable := filepath.Join(dir, "unreadable")
		if err := os.WriteFile(unreadable, nil, 0o000); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(unreadable); !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), unreadable) {
			t.Errorf("unreadable file: %v", err)
		}
	}
	good := filepath.Join(dir, "good")
	if err := os.WriteFile(good, []byte("config ipopd 'main'\n\toption keepalive 7\n\tlist endpoint 'a.example:1'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(good)
	if err != nil || c.Keepalive != 7*time.Second || len(c.Endpoints) != 1 {
		t.Errorf("good file: %+v, %v", c, err)
	}
}

func TestSaveNewFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ipop")
	c := Default()
	c.ListenPort = 7000
	c.Endpoints = []string{"a.example:1", "[::1]:2"}
	c.GoMemLimit = 24 << 20
	c.GOGC = GOGCOff
	if err := Save(path, c); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	want := "config ipopd 'main'\n\toption listen_port '7000'\n\tlist endpoint 'a.example:1'\n\tlist endpoint '[::1]:2'\n\toption gomemlimit '24MiB'\n\toption gogc 'off'\n"
	if string(data) != want {
		t.Errorf("new file:\n%s\nwant:\n%s", data, want)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("loaded %+v\nwant %+v", got, c)
	}
}

func TestSaveKeepsFile(t *testing.T) {
	const orig = "# my router\nconfig peer 'x'\n\toption a 1\n\nconfig ipopd 'main'\n\t# on or off\n\toption enabled yes\n\toption mtu 1400 # small\n\tlist endpoint 'a.example:1'\n\toption bridge 'br-ipop'\n\t#option gogc '100'\n"
	path := filepath.Join(t.TempDir(), "ipop")
	if err := os.WriteFile(path, []byte(orig), 0o640); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	// Saving what was loaded changes nothing.
	if err := Save(path, c); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); string(data) != orig {
		t.Errorf("unchanged save rewrote the file:\n%s", data)
	}

	c.MTU = 1300
	c.Bridge = ""
	c.Endpoints = append(c.Endpoints, "b.example:2")
	c.Keepalive = 9 * time.Second
	if err := Save(path, c); err != nil {
		t.Fatal(err)
	}
	want := "# my router\nconfig peer 'x'\n\toption a 1\n\nconfig ipopd 'main'\n\t# on or off\n\toption enabled yes\n\toption mtu '1300' # small\n\tlist endpoint 'a.example:1'\n\tlist endpoint 'b.example:2'\n\toption keepalive '9'\n\t#option gogc '100'\n"
	data, _ := os.ReadFile(path)
	if string(data) != want {
		t.Errorf("saved:\n%s\nwant:\n%s", data, want)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode changed to %v", fi.Mode().Perm())
	}
	if got, err := Load(path); err != nil || !reflect.DeepEqual(got, c) {
		t.Errorf("reload: %+v, %v", got, err)
	}
}

func TestSaveRefuses(t *testing.T) {
	dir := t.TempDir()
	check := func(name, content string, c Config, want string) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		err := Save(path, c)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", name, err, want)
		}
		if data, _ := os.ReadFile(path); string(data) != content {
			t.Errorf("%s: file changed:\n%s", name, data)
		}
	}
	bad := Default()
	bad.MTU = 1
	check("invalid", "config ipopd 'main'\n", bad, "option mtu: 1 is out of range")
	check("unknown", "config ipopd 'main'\n\toption typo 1\n", Default(), "unknown:2: option typo: unknown option")
	check("wrong type", "config other 'main'\n", Default(), "section 'main' has type \"other\"")
	check("unparsable", "config ipopd 'main\n", Default(), "unterminated quote")
	if err := Save(filepath.Join(dir, "no", "such", "dir"), Default()); err == nil {
		t.Errorf("save into a missing directory: no error")
	}
}
