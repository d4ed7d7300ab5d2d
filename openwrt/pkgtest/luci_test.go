package pkgtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// luciDir is openwrt/luci-app-ipop.
func luciDir(t *testing.T) string {
	t.Helper()
	return filepath.Join(openwrtDir(t), "luci-app-ipop")
}

func viewDir(t *testing.T) string {
	t.Helper()
	return filepath.Join(luciDir(t), "htdocs", "luci-static", "resources", "view", "ipop")
}

func needNode(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	return p
}

// jsFiles lists every JavaScript file of the app.
func jsFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(luciDir(t), "htdocs"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".js") {
			out = append(out, p)
		}
		return err
	})
	if err != nil || len(out) == 0 {
		t.Fatalf("no JavaScript files found: %v", err)
	}
	return out
}

func TestLuCIJavaScriptParses(t *testing.T) {
	node := needNode(t)
	for _, f := range jsFiles(t) {
		if out, err := exec.Command(node, "--check", f).CombinedOutput(); err != nil {
			t.Errorf("node --check %s: %v\n%s", f, err, out)
		}
	}
}

// viewShape is what testdata/viewshape.js reports about a view.
type viewShape struct {
	Error    string            `json:"error"`
	Requires []string          `json:"requires"`
	Declares []rpcDeclare      `json:"declares"`
	Members  map[string]string `json:"members"`
}

type rpcDeclare struct {
	Object string   `json:"object"`
	Method string   `json:"method"`
	Params []string `json:"params"`
}

func loadShape(t *testing.T, node, file string) viewShape {
	t.Helper()
	out, err := exec.Command(node, filepath.Join("testdata", "viewshape.js"), file).Output()
	if err != nil {
		t.Fatalf("viewshape %s: %v", file, err)
	}
	var s viewShape
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatalf("viewshape %s: %v in %q", file, err, out)
	}
	if s.Error != "" {
		t.Fatalf("%s does not load: %s", file, s.Error)
	}
	return s
}

// menuViews returns the view paths the menu names (ipop/overview, ...).
func menuViews(t *testing.T) map[string]string {
	t.Helper()
	var menu map[string]struct {
		Action struct {
			Type string `json:"type"`
			Path string `json:"path"`
		} `json:"action"`
		Depends struct {
			ACL []string `json:"acl"`
		} `json:"depends"`
	}
	readJSON(t, filepath.Join(luciDir(t), "root", "usr", "share", "luci", "menu.d", "luci-app-ipop.json"), &menu)
	views := map[string]string{}
	top, ok := menu["admin/vpn/ipop"]
	if !ok || top.Action.Type != "firstchild" || !slices.Equal(top.Depends.ACL, []string{"luci-app-ipop"}) {
		t.Errorf("menu: admin/vpn/ipop missing, not firstchild or not gated by the luci-app-ipop ACL: %+v", top)
	}
	for url, node := range menu {
		if !strings.HasPrefix(url, "admin/vpn/ipop") {
			t.Errorf("menu entry %q outside admin/vpn/ipop", url)
		}
		if node.Action.Type == "view" {
			views[node.Action.Path] = url
		}
	}
	return views
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

var (
	reUseStrict = regexp.MustCompile(`\A'use strict';\n`)
	reRequire   = regexp.MustCompile(`(?m)^'require ([a-z.]+)';$`)
	reExtend    = regexp.MustCompile(`(?m)^return view\.extend\(\{$`)
	// rpc.declare({ object: 'ipop', method: 'status', ... }) on one line.
	reDeclare = regexp.MustCompile(`rpc\.declare\(\{[^}]*?object:\s*'([^']*)'[^}]*?method:\s*'([^']*)'`)
)

// knownClasses are the LuCI classes the views may require (LUCI.md).
var knownClasses = []string{"view", "rpc", "ui", "poll", "form", "uci", "dom", "fs", "network"}

// TestLuCIViewShape checks every view against the module shape of LUCI.md:
// 'use strict', 'require' lines for known classes, `return view.extend({`
// with a render method (and load, when present, a method too), and a menu
// entry for each view and a view for each menu entry.
func TestLuCIViewShape(t *testing.T) {
	node := needNode(t)
	views := menuViews(t)
	files, err := filepath.Glob(filepath.Join(viewDir(t), "*.js"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no views: %v", err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		name := "ipop/" + strings.TrimSuffix(filepath.Base(f), ".js")
		seen[name] = true
		if _, ok := views[name]; !ok {
			t.Errorf("view %s has no menu entry", name)
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !reUseStrict.Match(src) {
			t.Errorf("%s: does not start with 'use strict';", name)
		}
		if !reExtend.Match(src) {
			t.Errorf("%s: no `return view.extend({` line", name)
		}
		reqs := reRequire.FindAllSubmatch(src, -1)
		if len(reqs) == 0 || string(reqs[0][1]) != "view" {
			t.Errorf("%s: first require is not 'require view'", name)
		}
		for _, r := range reqs {
			if !slices.Contains(knownClasses, string(r[1])) {
				t.Errorf("%s: requires unknown class %q", name, r[1])
			}
		}
		shape := loadShape(t, node, f)
		if shape.Members == nil {
			t.Errorf("%s: the module does not return the object given to view.extend", name)
			continue
		}
		if shape.Members["render"] != "function" {
			t.Errorf("%s: no render method", name)
		}
		if k, ok := shape.Members["load"]; ok && k != "function" {
			t.Errorf("%s: load is a %s", name, k)
		}
		if shape.Members["handleSave"] == "" && !slices.Contains(shape.Requires, "form") {
			t.Errorf("%s: a view without a form must set handleSave/handleSaveApply/handleReset to null", name)
		}
	}
	for v := range views {
		if !seen[v] {
			t.Errorf("menu names view %s, which has no file", v)
		}
	}
}

// ubusMethod is one line of ubus-methods.txt.
type ubusMethod struct {
	access string
	args   []string
}

func readMethods(t *testing.T) map[string]ubusMethod {
	t.Helper()
	f, err := os.Open(filepath.Join(luciDir(t), "ubus-methods.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]ubusMethod{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 || (fields[1] != "read" && fields[1] != "write") {
			t.Fatalf("ubus-methods.txt:%d: want METHOD read|write [ARG...], got %q", n, line)
		}
		if _, dup := out[fields[0]]; dup {
			t.Fatalf("ubus-methods.txt:%d: %s listed twice", n, fields[0])
		}
		out[fields[0]] = ubusMethod{access: fields[1], args: fields[2:]}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

type aclScope struct {
	Ubus map[string][]string `json:"ubus"`
	UCI  []string            `json:"uci"`
}

type aclGroup struct {
	Description string   `json:"description"`
	Read        aclScope `json:"read"`
	Write       aclScope `json:"write"`
}

func readACL(t *testing.T, path, group string) aclGroup {
	t.Helper()
	var acl map[string]aclGroup
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&acl); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	g, ok := acl[group]
	if !ok || len(acl) != 1 {
		t.Fatalf("%s: want exactly the access group %q, have %v", path, group, acl)
	}
	for _, s := range []aclScope{g.Read, g.Write} {
		for obj := range s.Ubus {
			if obj != "ipop" {
				t.Errorf("%s grants ubus object %q", path, obj)
			}
		}
	}
	return g
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// TestUbusMethodsCrossCheck ties the views, ubus-methods.txt and the ACLs
// together: every method a view declares is listed (with the arguments it
// sends) and granted; the LuCI ACL grants exactly the methods the views use,
// queries under read and actions under write; the daemon package's ACL
// grants every listed method with the same split.
func TestUbusMethodsCrossCheck(t *testing.T) {
	methods := readMethods(t)
	files, err := filepath.Glob(filepath.Join(viewDir(t), "*.js"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no views: %v", err)
	}
	used := map[string]bool{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n := bytes.Count(src, []byte("rpc.declare("))
		found := reDeclare.FindAllSubmatch(src, -1)
		if len(found) != n {
			t.Errorf("%s: %d rpc.declare calls, %d readable as {object: '...', method: '...'} on one line",
				filepath.Base(f), n, len(found))
		}
		for _, m := range found {
			obj, meth := string(m[1]), string(m[2])
			if obj != "ipop" {
				t.Errorf("%s declares %s.%s: only the ipop object is granted", filepath.Base(f), obj, meth)
				continue
			}
			if _, ok := methods[meth]; !ok {
				t.Errorf("%s calls ipop.%s, which is not in ubus-methods.txt", filepath.Base(f), meth)
			}
			used[meth] = true
		}
		if node, err := exec.LookPath("node"); err == nil {
			// The evaluated declarations agree with the text and send only listed arguments.
			for _, d := range loadShape(t, node, f).Declares {
				if d.Object == "ipop" && !used[d.Method] {
					t.Errorf("%s: evaluated rpc.declare of ipop.%s not found in the text", filepath.Base(f), d.Method)
				}
				for _, p := range d.Params {
					if !slices.Contains(methods[d.Method].args, p) {
						t.Errorf("%s: ipop.%s sends %q, not an argument in ubus-methods.txt", filepath.Base(f), d.Method, p)
					}
				}
			}
		}
	}

	var wantRead, wantWrite, allRead, allWrite []string
	for m, um := range methods {
		if um.access == "read" {
			allRead = append(allRead, m)
			if used[m] {
				wantRead = append(wantRead, m)
			}
		} else {
			allWrite = append(allWrite, m)
			if used[m] {
				wantWrite = append(wantWrite, m)
			}
		}
		if !used[m] {
			t.Errorf("ubus-methods.txt lists %s, which no view calls", m)
		}
	}
	luci := readACL(t, filepath.Join(luciDir(t), "root", "usr", "share", "rpcd", "acl.d", "luci-app-ipop.json"), "luci-app-ipop")
	daemon := readACL(t, filepath.Join(openwrtDir(t), "ipopd", "files", "ipopd.acl.json"), "ipopd")
	for _, c := range []struct {
		name         string
		acl          aclGroup
		wantR, wantW []string
	}{
		{"luci-app-ipop", luci, wantRead, wantWrite},
		{"ipopd", daemon, allRead, allWrite},
	} {
		if got := sorted(c.acl.Read.Ubus["ipop"]); !slices.Equal(got, sorted(c.wantR)) {
			t.Errorf("%s ACL read grants %q, want %q", c.name, got, sorted(c.wantR))
		}
		if got := sorted(c.acl.Write.Ubus["ipop"]); !slices.Equal(got, sorted(c.wantW)) {
			t.Errorf("%s ACL write grants %q, want %q", c.name, got, sorted(c.wantW))
		}
		if !slices.Equal(c.acl.Read.UCI, []string{"ipop"}) || !slices.Equal(c.acl.Write.UCI, []string{"ipop"}) {
			t.Errorf("%s ACL uci grants read %q write %q, want [ipop] both", c.name, c.acl.Read.UCI, c.acl.Write.UCI)
		}
		if c.acl.Description == "" {
			t.Errorf("%s ACL has no description", c.name)
		}
	}
}

// TestInviteQR encodes tokens with the invite view's QR encoder. With the
// jsqr decoder on NODE_PATH (npm install jsqr; NODE_PATH=.../node_modules)
// every picture is decoded again and must give back the text; without it
// only the version choice is checked.
func TestInviteQR(t *testing.T) {
	node := needNode(t)
	long := strings.Repeat("ipop1.Zm9vYmFy-", 20) // 300 bytes, like a token with several endpoints
	cases := []struct {
		text    string
		version int
	}{
		{"hello", 1},
		{strings.Repeat("x", 14), 1}, // the most a version 1-M code holds
		{strings.Repeat("x", 15), 2},
		{long, 13},
		{strings.Repeat("ü", 500), 26}, // 1000 bytes of UTF-8
		{strings.Repeat("y", 2331), 40},
	}
	args := []string{filepath.Join("testdata", "qrcheck.js"), filepath.Join(viewDir(t), "invite.js")}
	for _, c := range cases {
		args = append(args, c.text)
	}
	out, err := exec.Command(node, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("qrcheck: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(cases) {
		t.Fatalf("qrcheck printed %d lines for %d texts:\n%s", len(lines), len(cases), out)
	}
	decoded := 0
	for i, ln := range lines {
		var r struct {
			Version int     `json:"version"`
			Size    int     `json:"size"`
			Decoded *string `json:"decoded"`
		}
		if err := json.Unmarshal([]byte(ln), &r); err != nil {
			t.Fatalf("qrcheck line %q: %v", ln, err)
		}
		c := cases[i]
		if r.Version != c.version || r.Size != 17+4*c.version {
			t.Errorf("%d bytes: version %d size %d, want version %d", len(c.text), r.Version, r.Size, c.version)
		}
		if r.Decoded != nil {
			decoded++
			if *r.Decoded != c.text {
				t.Errorf("%d bytes, version %d: decoded %q", len(c.text), r.Version, *r.Decoded)
			}
		}
	}
	if decoded == 0 {
		t.Log("jsqr not on NODE_PATH: QR pictures not decoded")
	}
	// Too long for any version: a clear error, no picture.
	out, err = exec.Command(node, filepath.Join("testdata", "qrcheck.js"), filepath.Join(viewDir(t), "invite.js"),
		strings.Repeat("z", 2332)).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Text too long for a QR code") {
		t.Errorf("2332 bytes: want a 'too long' error, got %v\n%s", err, out)
	}
}

// inviteRun is what testdata/viewrun.js reports for the Invite page.
type inviteRun struct {
	Prefill *string `json:"prefill"`
	Calls   []struct {
		Method string         `json:"method"`
		Args   map[string]any `json:"args"`
	} `json:"calls"`
	Notes []string `json:"notes"`
	Shown string   `json:"shown"`
}

// TestLuCIInviteEndpoints runs the Invite page in node: the Endpoint field
// is filled with the public address a lighthouse reported (else the WAN
// address), what is typed is checked before anything is sent, the ubus
// invite call carries the endpoints and the name, and the page shows
// under the token which endpoints it carries and the new router's name.
func TestLuCIInviteEndpoints(t *testing.T) {
	node := needNode(t)
	view := filepath.Join(viewDir(t), "invite.js")
	run := func(status, eps, name string) inviteRun {
		t.Helper()
		out, err := exec.Command(node, filepath.Join("testdata", "viewrun.js"), "invite", view, status, eps, name).CombinedOutput()
		if err != nil {
			t.Fatalf("viewrun invite: %v\n%s", err, out)
		}
		var r inviteRun
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("viewrun invite: %v in %q", err, out)
		}
		return r
	}
	prefills := []struct{ status, want string }{
		{`{"group":"home","public_endpoint":"203.0.113.7:6464","wan_endpoint":"192.0.2.1:6464"}`, "203.0.113.7:6464"},
		{`{"group":"home","wan_endpoint":"192.0.2.1:6464"}`, "192.0.2.1:6464"},
		{`{"group":"home"}`, ""},
	}
	for _, p := range prefills {
		if r := run(p.status, "", ""); r.Prefill == nil || *r.Prefill != p.want {
			t.Errorf("status %s: Endpoint field prefilled with %v, want %q", p.status, r.Prefill, p.want)
		}
	}
	r := run(`{"group":"home"}`, "home.example.net:6464, 203.0.113.7:6464 [2001:db8::1]:6464 home.example.net:6464", "cabin")
	if len(r.Calls) != 1 || r.Calls[0].Method != "invite" {
		t.Fatalf("calls %+v", r.Calls)
	}
	args := r.Calls[0].Args
	eps, _ := json.Marshal(args["endpoints"])
	if string(eps) != `["home.example.net:6464","203.0.113.7:6464","[2001:db8::1]:6464"]` || args["name"] != "cabin" || args["ttl"] != float64(86400) {
		t.Errorf("invite sent %v", args)
	}
	if !strings.Contains(r.Shown, "reaches this one at: home.example.net:6464, 203.0.113.7:6464, [2001:db8::1]:6464") || !strings.Contains(r.Shown, `called "cabin"`) {
		t.Errorf("shown under the token: %q", r.Shown)
	}
	// No endpoint typed: an empty list, the daemon's guess is shown.
	r = run(`{"group":"home"}`, "", "")
	if len(r.Calls) != 1 || fmt.Sprint(r.Calls[0].Args["endpoints"]) != "[]" || !strings.Contains(r.Shown, "198.51.100.9:6464") {
		t.Errorf("no endpoint typed: calls %+v, shown %q", r.Calls, r.Shown)
	}
	for _, bad := range []struct{ in, frag string }{
		{"home.example.net", "is not HOST:PORT"},
		{"home.example.net:0", "port must be a number from 1 to 65535"},
		{"home.example.net:70000", "port must be a number"},
		{"-bad.example.net:6464", "not an IPv4 address or a DNS name"},
		{"2001:db8::1:6464", "is not HOST:PORT"},
		{"a..b:1", "not an IPv4 address or a DNS name"},
	} {
		r := run(`{"group":"home"}`, bad.in, "")
		if len(r.Calls) != 0 || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], bad.frag) {
			t.Errorf("endpoint %q: calls %+v, notes %q; want no call and a note with %q", bad.in, r.Calls, r.Notes, bad.frag)
		}
	}
}

// TestLuCIJoinName: after a join, the Join page says under which name the
// owner admitted this router, and that the owner chose it when it differs
// from what the router proposed.
func TestLuCIJoinName(t *testing.T) {
	node := needNode(t)
	view := filepath.Join(viewDir(t), "join.js")
	for _, c := range []struct{ reply, want string }{
		{`{"group":"home","name":"OpenWrt-2","proposed":"OpenWrt","address":"10.77.0.3"}`,
			`Joined the group "home" as "OpenWrt-2", address 10.77.0.3. The group owner named this router "OpenWrt-2" (it proposed "OpenWrt").`},
		{`{"group":"home","name":"OpenWrt","proposed":"OpenWrt","address":"10.77.0.2"}`, `Joined the group "home" as "OpenWrt", address 10.77.0.2.`},
		{`{"group":"home"}`, `Joined the group "home".`},
	} {
		out, err := exec.Command(node, filepath.Join("testdata", "viewrun.js"), "join", view, c.reply).CombinedOutput()
		if err != nil {
			t.Fatalf("viewrun join: %v\n%s", err, out)
		}
		var r struct{ Text string }
		if err := json.Unmarshal(out, &r); err != nil || r.Text != c.want {
			t.Errorf("reply %s: page says %q (%v), want %q", c.reply, r.Text, err, c.want)
		}
	}
}
