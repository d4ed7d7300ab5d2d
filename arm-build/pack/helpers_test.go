package pack

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testTime = time.Unix(1763769600, 0).UTC()

// fakeRepo makes a repository tree with every optional file present, so the
// tests see the packages as they will be once all of openwrt/ has landed.
func fakeRepo(t testing.TB) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"openwrt/ipopd/files/ipop.config":                                        "config ipopd 'main'\n\toption enabled '1'\n",
		"openwrt/ipopd/files/ipopd.init":                                         "#!/bin/sh /etc/rc.common\nSTART=90\nUSE_PROCD=1\n",
		"openwrt/ipopd/files/ipopd.uci-defaults":                                 "#!/bin/sh\nexit 0\n",
		"openwrt/ipopd/files/ipopd.acl.json":                                     "{}\n",
		"openwrt/ipopd/files/ipopd.service":                                      "[Service]\nExecStart=/usr/sbin/ipopd run\n",
		"openwrt/luci-app-ipop/htdocs/luci-static/resources/view/ipop/status.js": "'use strict';\n",
		"openwrt/luci-app-ipop/root/usr/share/luci/menu.d/luci-app-ipop.json":    "{}\n",
		"openwrt/luci-app-ipop/root/usr/share/rpcd/acl.d/luci-app-ipop.json":     "{}\n",
		"openwrt/luci-app-ipop/root/etc/uci-defaults/40-luci-ipop":               "#!/bin/sh\nexit 0\n",
		// A path over 100 bytes, to exercise GNU long-name records.
		"openwrt/luci-app-ipop/htdocs/luci-static/resources/view/ipop/" + strings.Repeat("long-", 20) + ".js": "// long\n",
		"openwrt/luci-app-ipop/root/usr/share/empty.txt":                                                      "",
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func testSource(root string) Source {
	return Source{Root: root, Version: "1.2.3-r1", MTime: testTime, License: "MIT", Maintainer: "ipopd developers"}
}

// fakeBinary is large enough for several deflate blocks and DATA padding
// cases, small enough to keep tests fast.
func fakeBinary() []byte {
	b := bytes.Repeat([]byte("\x7fELF ipopd binary "), 20000)
	for i := range b {
		if i%97 == 0 {
			b[i] = byte(i)
		}
	}
	return b
}

func testPackages(t testing.TB) (*Package, *Package) {
	t.Helper()
	src := testSource(fakeRepo(t))
	d, err := src.Daemon("mipsel_24kc", fakeBinary())
	if err != nil {
		t.Fatal(err)
	}
	l, err := src.LuCI()
	if err != nil || l == nil {
		t.Fatalf("LuCI: %v, %v", l, err)
	}
	return d, l
}
