package pack

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ipopd/ipopd/arm-build/cross"
)

// The .deb packages checked with Debian's own tools (installed by
// internal/testtools/deps.sh for make test): dpkg-deb reads the fields,
// file list, modes and conffiles; dpkg installs each into a scratch root,
// removes and purges it; lintian finds no errors; apt reads the repository.

const testDebMaintainer = "ipopd developers <ipopd@users.noreply.github.com>"

var (
	realBinOnce sync.Once
	realBins    map[string][]byte
	realBinErr  error
)

// realBinaries cross-builds ipopd for the .deb architectures once per test
// binary (the Go build cache makes it cheap after make cross), so lintian
// and dpkg see the real static ELF files of each architecture.
func realBinaries(t *testing.T) map[string][]byte {
	t.Helper()
	realBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ipopd-deb-bin")
		if err != nil {
			realBinErr = err
			return
		}
		defer os.RemoveAll(dir)
		realBins = map[string][]byte{}
		for _, tg := range cross.Targets {
			if tg.Deb == "" {
				continue
			}
			out := filepath.Join(dir, tg.Deb)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			err := cross.Build(ctx, tg, cross.Options{Repo: "../..", Version: "test"}, out)
			cancel()
			if err != nil {
				realBinErr = err
				return
			}
			if realBins[tg.Deb], err = os.ReadFile(out); err != nil {
				realBinErr = err
				return
			}
		}
	})
	if realBinErr != nil {
		t.Fatalf("cross-building ipopd: %v", realBinErr)
	}
	return realBins
}

// realRepo writes the repository of this checkout's files and real
// binaries into a temporary directory.
func realRepo(t *testing.T) (string, []DebEntry) {
	t.Helper()
	src := testSource("../..")
	src.URL = "https://github.com/ipopd/ipopd"
	var entries []DebEntry
	for _, arch := range []string{"amd64", "arm64", "armhf"} {
		p, err := src.DebDaemon(arch, testDebMaintainer, realBinaries(t)[arch])
		if err != nil {
			t.Fatal(err)
		}
		b, err := BuildDeb(p)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, DebEntry{p, b})
	}
	dir := filepath.Join(t.TempDir(), "deb")
	if err := WriteDebRepo(dir, "ipopd", entries); err != nil {
		t.Fatal(err)
	}
	return dir, entries
}

func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s not installed (make test installs it: internal/testtools/deps.sh)", name)
	}
}

func runTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestDebDpkgDeb reads the packages with dpkg-deb: control fields, the
// file list with owners and modes, and the conffiles.
func TestDebDpkgDeb(t *testing.T) {
	needTool(t, "dpkg-deb")
	dir, entries := realRepo(t)
	for _, e := range entries {
		deb := filepath.Join(dir, e.Pkg.DebName())
		for field, want := range map[string]string{
			"Package": "ipopd", "Version": "1.2.3-1", "Architecture": e.Pkg.Arch,
			"Maintainer": testDebMaintainer, "Section": "net", "Priority": "optional",
			"Depends": "", // static: nothing, not even libc
		} {
			if got := strings.TrimSpace(runTool(t, "dpkg-deb", "--field", deb, field)); got != want {
				t.Errorf("%s: %s = %q, want %q", e.Pkg.Arch, field, got, want)
			}
		}
		// "-rwxr-xr-x 0/0 12345 2025-11-22 00:00 ./usr/sbin/ipopd"
		got := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(runTool(t, "dpkg-deb", "--contents", deb)), "\n") {
			f := strings.Fields(l)
			if len(f) != 6 {
				t.Fatalf("dpkg-deb --contents line %q", l)
			}
			if f[1] != "0/0" && f[1] != "root/root" {
				t.Errorf("%s: %s owned by %s", e.Pkg.Arch, f[5], f[1])
			}
			got[strings.TrimSuffix(f[5], "/")] = f[0]
		}
		for path, mode := range map[string]string{
			"./usr/sbin/ipopd":                          "-rwxr-xr-x",
			"./lib/systemd/system/ipopd.service":        "-rw-r--r--",
			"./etc/config/ipop":                         "-rw-------",
			"./etc/ipop":                                "drwx------",
			"./etc/config":                              "drwxr-xr-x",
			"./usr/share/doc/ipopd/copyright":           "-rw-r--r--",
			"./usr/share/doc/ipopd/changelog.Debian.gz": "-rw-r--r--",
			"./usr/share/doc/ipopd/config.md":           "-rw-r--r--",
		} {
			if got[path] != mode {
				t.Errorf("%s: %s is %q, want %q", e.Pkg.Arch, path, got[path], mode)
			}
		}
		// The 8 above, the lintian overrides, and 12 directories: ./, etc,
		// lib{,/systemd{,/system}}, usr{,/sbin,/share{,/doc{,/ipopd},/lintian{,/overrides}}}.
		if len(got) != 21 {
			t.Errorf("%s: %d entries, want 21: %v", e.Pkg.Arch, len(got), got)
		}
		if c := strings.TrimSpace(runTool(t, "dpkg-deb", "--info", deb, "conffiles")); c != "/etc/config/ipop" {
			t.Errorf("%s: conffiles %q", e.Pkg.Arch, c)
		}
		if _, err := ReadDeb(e.Deb.Data); err != nil {
			t.Errorf("%s: own reader: %v", e.Pkg.Arch, err)
		}
	}
}

// chrootRoot makes a scratch root dpkg can chroot into to run maintainer
// scripts: sh and the few commands the scripts call, with their shared
// libraries, and an empty dpkg database.
func chrootRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"bin", "tmp", "var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "etc"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"var/lib/dpkg/status", "var/lib/dpkg/available"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The scripts send output to /dev/null, as on any system.
	if err := os.MkdirAll(filepath.Join(root, "dev"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mknod(filepath.Join(root, "dev/null"), syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Fatalf("mknod dev/null: %v", err)
	}
	lib := regexp.MustCompile(`(/\S+\.so[.0-9]*)`)
	for _, cmd := range []string{"sh", "chmod", "rm", "rmdir", "echo"} {
		p, err := exec.LookPath(cmd)
		if err != nil {
			t.Skipf("no %s to put in the scratch root", cmd)
		}
		p, _ = filepath.EvalSymlinks(p)
		copyInto(t, root, p, filepath.Join("/bin", cmd))
		out, _ := exec.Command("ldd", p).Output() // static: no libraries
		for _, m := range lib.FindAllStringSubmatch(string(out), -1) {
			copyInto(t, root, m[1], m[1])
		}
	}
	return root
}

func copyInto(t *testing.T, root, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, dst)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestDebDpkgInstall installs each .deb into a scratch root with dpkg
// --root (the foreign ones after dpkg --add-architecture, no --force),
// simulates a joined member (a key in /etc/ipop, an edited config),
// removes it (config and keys stay) and purges it (both go).
func TestDebDpkgInstall(t *testing.T) {
	needTool(t, "dpkg")
	if os.Geteuid() != 0 {
		t.Skip("dpkg --root chroots to run the maintainer scripts: needs root")
	}
	if runtime.GOOS != "linux" {
		t.Skip("dpkg")
	}
	dir, entries := realRepo(t)
	for _, e := range entries {
		t.Run(e.Pkg.Arch, func(t *testing.T) {
			root := chrootRoot(t)
			dpkg := func(args ...string) string {
				out := runTool(t, "dpkg", append([]string{"--root=" + root, "--log=/dev/null"}, args...)...)
				// A maintainer script that failed a command says so even
				// when it went on (|| true, rmdir 2>/dev/null aside).
				for _, bad := range []string{"dpkg: error", "not found", "cannot", "No such file"} {
					if strings.Contains(out, bad) {
						t.Errorf("dpkg %s: %q in its output:\n%s", args[0], bad, out)
					}
				}
				return out
			}
			native := strings.TrimSpace(runTool(t, "dpkg", "--print-architecture"))
			if e.Pkg.Arch != native {
				dpkg("--add-architecture", e.Pkg.Arch)
			}
			out := dpkg("--install", filepath.Join(dir, e.Pkg.DebName()))
			t.Logf("dpkg --root=%s --install %s:\n%s", "ROOT", e.Pkg.DebName(), out)
			if strings.Contains(out, "systemctl enable") == false {
				t.Errorf("postinst did not say how to enable the service:\n%s", out)
			}
			for path, mode := range map[string]os.FileMode{
				"usr/sbin/ipopd":                   0o755,
				"lib/systemd/system/ipopd.service": 0o644,
				"etc/config/ipop":                  0o600,
				"etc/ipop":                         0o700 | os.ModeDir,
			} {
				fi, err := os.Stat(filepath.Join(root, path))
				if err != nil {
					t.Errorf("after install: %v", err)
					continue
				}
				if fi.Mode()&(os.ModeDir|os.ModePerm) != mode {
					t.Errorf("after install: %s mode %v, want %v", path, fi.Mode(), mode)
				}
			}
			status := dpkg("--status", "ipopd")
			for _, want := range []string{"Status: install ok installed", "Conffiles:\n /etc/config/ipop "} {
				if !strings.Contains(status, want) {
					t.Errorf("dpkg --status lacks %q:\n%s", want, status)
				}
			}
			// What a joined member has: its key, and the config the
			// daemon rewrote on join.
			key := filepath.Join(root, "etc/ipop/node.key")
			if err := os.WriteFile(key, []byte("secret"), 0o600); err != nil {
				t.Fatal(err)
			}
			conf := filepath.Join(root, "etc/config/ipop")
			if err := os.WriteFile(conf, []byte("config ipopd 'main'\n\toption listen_port '7000'\n"), 0o600); err != nil {
				t.Fatal(err)
			}

			// Reinstalling (an upgrade to the same version) keeps the
			// edited conffile without asking, and the key.
			out = dpkg("--install", filepath.Join(dir, e.Pkg.DebName()))
			t.Logf("dpkg --install again (upgrade path):\n%s", out)
			if b, err := os.ReadFile(conf); err != nil || !strings.Contains(string(b), "7000") {
				t.Errorf("after reinstall the edited config is %q (%v)", b, err)
			}
			if strings.Contains(out, "systemctl enable") {
				t.Errorf("the upgrade printed the first-install hint:\n%s", out)
			}

			out = dpkg("--remove", "ipopd")
			t.Logf("dpkg --remove ipopd:\n%s", out)
			for _, gone := range []string{"usr/sbin/ipopd", "lib/systemd/system/ipopd.service"} {
				if _, err := os.Stat(filepath.Join(root, gone)); !os.IsNotExist(err) {
					t.Errorf("after remove: %s still there (%v)", gone, err)
				}
			}
			for _, kept := range []string{key, conf} {
				if b, err := os.ReadFile(kept); err != nil || len(b) == 0 {
					t.Errorf("after remove: %s not kept: %v", kept, err)
				}
			}
			if s := dpkg("--status", "ipopd"); !strings.Contains(s, "Status: deinstall ok config-files") {
				t.Errorf("after remove:\n%s", s)
			}

			out = dpkg("--purge", "ipopd")
			t.Logf("dpkg --purge ipopd:\n%s", out)
			for _, gone := range []string{"etc/ipop", "etc/config/ipop", "etc/config"} {
				if _, err := os.Stat(filepath.Join(root, gone)); !os.IsNotExist(err) {
					t.Errorf("after purge: %s still there (%v)", gone, err)
				}
			}
			if s, err := exec.Command("dpkg", "--root="+root, "--status", "ipopd").CombinedOutput(); err == nil && !bytes.Contains(s, []byte("not-installed")) {
				t.Errorf("after purge dpkg still knows ipopd:\n%s", s)
			}
		})
	}
}

// TestDebLintian runs lintian over the three packages: no errors. The
// warnings it prints are logged; the ones earned on purpose (0600 config,
// 0700 key directory) are overridden in the package with the reason.
func TestDebLintian(t *testing.T) {
	needTool(t, "lintian")
	if testing.Short() {
		t.Skip("lintian takes a few seconds per package")
	}
	dir, entries := realRepo(t)
	// lintian's default --fail-on error makes it exit 2 on any error
	// that is not overridden.
	args := []string{"--display-info", "--tag-display-limit", "0"}
	for _, e := range entries {
		args = append(args, filepath.Join(dir, e.Pkg.DebName()))
	}
	out, err := exec.Command("lintian", args...).CombinedOutput()
	t.Logf("lintian %s:\n%s", strings.Join(args, " "), out)
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "E: ") {
			t.Errorf("lintian error: %s", l)
		}
	}
	if err != nil {
		t.Errorf("lintian: %v", err)
	}
}

// TestDebAptRepo points apt at the repository as the README says,
// deb [trusted=yes] file:DIR ./, with its own state directories (the
// machine's apt is not touched): apt-get update takes the indexes and the
// Release hashes, apt-cache lists every architecture, and apt-get download
// fetches the arm64 package with the right hash.
func TestDebAptRepo(t *testing.T) {
	needTool(t, "apt-get")
	needTool(t, "apt-cache")
	dir, entries := realRepo(t)
	tmp := t.TempDir()
	for _, d := range []string{"lists/partial", "cache/archives/partial", "parts", "sources.list.d", "preferences.d", "work"} {
		if err := os.MkdirAll(filepath.Join(tmp, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := strings.Join([]string{
		`Dir::Etc::SourceList "` + tmp + `/sources.list";`,
		`Dir::Etc::SourceParts "` + tmp + `/sources.list.d";`,
		`Dir::Etc::Parts "` + tmp + `/parts";`,
		`Dir::Etc::PreferencesParts "` + tmp + `/preferences.d";`,
		`Dir::State::Lists "` + tmp + `/lists";`,
		`Dir::State::status "` + tmp + `/status";`,
		`Dir::Cache "` + tmp + `/cache";`,
		`APT::Architecture "amd64";`,
		`APT::Architectures { "amd64"; "arm64"; "armhf"; };`,
		`Debug::NoLocking "true";`,
		`APT::Sandbox::User "root";`,
	}, "\n") + "\n"
	for name, data := range map[string]string{
		"apt.conf":     conf,
		"sources.list": "deb [trusted=yes] file:" + dir + " ./\n",
		"status":       "",
	} {
		if err := os.WriteFile(filepath.Join(tmp, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	apt := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), "APT_CONFIG="+filepath.Join(tmp, "apt.conf"))
		cmd.Dir = filepath.Join(tmp, "work")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	out := apt("apt-get", "update")
	t.Logf("apt-get update:\n%s", out)
	if strings.Contains(out, "W: ") || strings.Contains(out, "E: ") {
		t.Errorf("apt-get update warned:\n%s", out)
	}
	for _, e := range entries {
		show := apt("apt-cache", "show", "ipopd:"+e.Pkg.Arch)
		if !strings.Contains(show, "Version: "+e.Pkg.Version+"\n") || !strings.Contains(show, "Architecture: "+e.Pkg.Arch+"\n") {
			t.Errorf("apt-cache show ipopd:%s:\n%s", e.Pkg.Arch, show)
		}
	}
	apt("apt-get", "download", "ipopd:arm64")
	got, err := os.ReadFile(filepath.Join(tmp, "work", "ipopd_1.2.3-1_arm64.deb"))
	if err != nil || !bytes.Equal(got, entries[1].Deb.Data) {
		t.Errorf("apt-get download ipopd:arm64: %d bytes, %v", len(got), err)
	}
}
