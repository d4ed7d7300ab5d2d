package pkgtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPackageMakefiles checks the parts of the two Makefiles that an SDK
// build and the package contents depend on: golang-package.mk settings,
// installed files that exist, the conffile, and luci.mk with PKGARCH all.
func TestPackageMakefiles(t *testing.T) {
	dir := openwrtDir(t)
	mk := readText(t, filepath.Join(dir, "ipopd", "Makefile"))
	for _, want := range []string{
		"include $(TOPDIR)/rules.mk",
		"PKG_BUILD_FLAGS:=no-mips16",
		"GO_PKG:=github.com/ipopd/ipopd\n",
		"GO_PKG_BUILD_PKG:=github.com/ipopd/ipopd/ipopd\n",
		"GO_PKG_LDFLAGS_X:=main.version=",
		"DEPENDS:=$(GO_ARCH_DEPENDS) +kmod-tun",
		"golang-package.mk",
		"define Package/ipopd/conffiles\n/etc/config/ipop\nendef",
		"$(INSTALL_BIN) $(GO_PKG_BUILD_BIN_DIR)/ipopd $(1)/usr/sbin/ipopd",
		"$(INSTALL_BIN) ./files/ipopd.init $(1)/etc/init.d/ipopd",
		"$(INSTALL_CONF) ./files/ipop.config $(1)/etc/config/ipop",
		"$(1)/etc/uci-defaults/",
		"$(1)/usr/share/rpcd/acl.d/ipopd.json",
		"$(eval $(call GoBinPackage,ipopd))",
		"$(eval $(call BuildPackage,ipopd))",
	} {
		if !strings.Contains(mk, want) {
			t.Errorf("ipopd/Makefile lacks %q", want)
		}
	}
	for _, m := range regexp.MustCompile(`\./files/(\S+)`).FindAllStringSubmatch(mk, -1) {
		if _, err := os.Stat(filepath.Join(dir, "ipopd", "files", m[1])); err != nil {
			t.Errorf("ipopd/Makefile installs missing file: %v", err)
		}
	}
	if strings.Contains(mk, "    $(") {
		t.Error("ipopd/Makefile: recipe lines must start with a tab")
	}
	luci := readText(t, filepath.Join(dir, "luci-app-ipop", "Makefile"))
	for _, want := range []string{"LUCI_PKGARCH:=all", "LUCI_DEPENDS:=+luci-base +ipopd", "luci.mk"} {
		if !strings.Contains(luci, want) {
			t.Errorf("luci-app-ipop/Makefile lacks %q", want)
		}
	}
	for _, f := range []string{"ipopd/files/ipopd.init", "ipopd/files/ipopd.uci-defaults", "ipopd/test.sh"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o111 == 0 {
			t.Errorf("%s is not executable", f)
		}
	}
}

func readText(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestSystemdUnit verifies the unit with systemd-analyze (skipped where it
// is missing), with ExecStart pointed at a stand-in executable.
func TestSystemdUnit(t *testing.T) {
	unit := readText(t, filepath.Join(openwrtDir(t), "ipopd", "files", "ipopd.service"))
	for _, want := range []string{
		"ExecStart=/usr/sbin/ipopd run -c /etc/config/ipop --state /etc/ipop\n",
		"ExecReload=/bin/kill -HUP $MAINPID\n",
		"WantedBy=multi-user.target\n",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("ipopd.service lacks %q", want)
		}
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	dir := t.TempDir()
	fake := filepath.Join(dir, "ipopd")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ipopd.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(unit, "/usr/sbin/ipopd", fake)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput()
	if err != nil || strings.Contains(string(out), "ipopd.service") {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
