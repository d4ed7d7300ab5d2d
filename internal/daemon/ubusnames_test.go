package daemon

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/group"
	"github.com/ipopd/ipopd/ubus"
	"github.com/ipopd/ipopd/ubus/ubustest"
	"github.com/ipopd/ipopd/uci/ipopconf"
)

// runDaemon runs a daemon on a real loopback UDP socket (join.Run dials
// real sockets) with state in dir (empty: unconfigured) and stops it when
// the test ends.
func runDaemon(t *testing.T, name, dir string, mod func(*ipopconf.Config)) (*Daemon, netip.AddrPort) {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	cfg := ipopconf.Default()
	cfg.ControlSocket, cfg.UbusSocket = "", ""
	cfg.Keepalive = time.Second
	if mod != nil {
		mod(&cfg)
	}
	var w io.Writer = io.Discard
	if testing.Verbose() {
		w = os.Stderr
	}
	d, err := New(Options{Config: cfg, StateDir: dir, Version: "test", Conn: conn, Device: newFakeDevice(),
		Logger: slog.New(slog.NewTextHandler(w, nil)).With("member", name)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: Run: %v", name, err)
		}
	})
	return d, conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

func ubusCall(t *testing.T, c *ubus.Conn, method string, args map[string]any) (map[string]any, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, err := c.Call(ctx, "ipop", method, args)
		if !errors.Is(err, &ubus.StatusError{Code: ubus.StatusNotFound}) || time.Now().After(deadline) {
			return r, err
		}
		time.Sleep(50 * time.Millisecond) // the object is not registered yet
	}
}

// TestUbusJoinName: routers with the same host name join one after the
// other; the ubus join reply says which name the owner gave ("OpenWrt-2",
// proposed "OpenWrt"); an invite made with a name (ubus invite, as the
// LuCI Invite page does) names the router that uses it, whatever it
// proposes; the invite reply says which endpoints the token carries.
func TestUbusJoinName(t *testing.T) {
	dir := t.TempDir()
	if _, err := group.Create(filepath.Join(dir, "owner"), group.CreateOptions{Name: "home", NodeName: "owner", Now: time.Now(), LocalPrefixes: noPrefixes}); err != nil {
		t.Fatal(err)
	}
	ownerPath, _ := ubustest.Serve(t)
	owner, ownerAt := runDaemon(t, "owner", filepath.Join(dir, "owner"), func(c *ipopconf.Config) { c.UbusSocket = ownerPath })
	oc, err := ubus.Dial(context.Background(), ownerPath)
	if err != nil {
		t.Fatal(err)
	}
	defer oc.Close()
	invite := func(name string) (string, []any) {
		t.Helper()
		args := map[string]any{"ttl": 3600, "endpoints": []any{ownerAt.String(), "home.example.net:6464"}}
		if name != "" {
			args["name"] = name
		}
		r, err := ubusCall(t, oc, "invite", args)
		if err != nil || r["error"] != nil {
			t.Fatalf("invite: %v %v", r, err)
		}
		return r["token"].(string), r["endpoints"].([]any)
	}
	tok1, eps := invite("")
	if len(eps) != 2 || eps[0] != ownerAt.String() || eps[1] != "home.example.net:6464" {
		t.Errorf("invite reply endpoints %v", eps)
	}
	if tok, err := group.DecodeToken(tok1); err != nil || strings.Join(tok.Endpoints, " ") != ownerAt.String()+" home.example.net:6464" {
		t.Errorf("token endpoints %v, %v", tok.Endpoints, err)
	}
	tok2, _ := invite("")
	tokCabin, _ := invite("cabin")

	// The first OpenWrt joins with the CLI's code path (no daemon).
	decoded, _ := group.DecodeToken(tok1)
	first, err := JoinGroup(context.Background(), filepath.Join(dir, "first"), decoded, "OpenWrt")
	if err != nil || first.NodeName != "OpenWrt" {
		t.Fatalf("first OpenWrt: %v, %v", first, err)
	}
	// The second joins through ubus on its own daemon.
	joinerPath, _ := ubustest.Serve(t)
	runDaemon(t, "joiner", filepath.Join(dir, "second"), func(c *ipopconf.Config) { c.UbusSocket = joinerPath })
	jc, err := ubus.Dial(context.Background(), joinerPath)
	if err != nil {
		t.Fatal(err)
	}
	defer jc.Close()
	r, err := ubusCall(t, jc, "join", map[string]any{"token": tok2, "name": "OpenWrt"})
	if err != nil || r["error"] != nil {
		t.Fatalf("ubus join: %v %v", r, err)
	}
	if r["name"] != "OpenWrt-2" || r["proposed"] != "OpenWrt" || r["group"] != "home" || r["address"] == "" {
		t.Errorf("join reply %v", r)
	}
	// The invite named "cabin" wins over the proposal.
	decoded, _ = group.DecodeToken(tokCabin)
	cabin, err := JoinGroup(context.Background(), filepath.Join(dir, "third"), decoded, "OpenWrt")
	if err != nil || cabin.NodeName != "cabin" {
		t.Fatalf("join with the cabin invite: %v, %v", cabin, err)
	}
	allocs, err := owner.groupState().Allocations()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range allocs {
		names = append(names, a.Name)
	}
	if strings.Join(names, " ") != "owner OpenWrt OpenWrt-2 cabin" {
		t.Errorf("allocations %q", names)
	}
}

// TestUbusInviteEndpoints: the endpoints of ubus invite are checked and
// refused with the reason ({"error": ...}, nothing made); a member learns
// its public address from a lighthouse and status shows it.
func TestUbusInviteEndpoints(t *testing.T) {
	path, _ := ubustest.Serve(t)
	ms := startMembersWith(t, 2, func(i int, c *ipopconf.Config) {
		if i == 0 {
			c.UbusSocket = path
			c.Lighthouse = true
		}
	})
	c, err := ubus.Dial(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	before, _ := ms[0].d.groupState().Invites(time.Now())
	for _, tc := range []struct {
		eps  []any
		frag string
	}{
		{[]any{"home.example.net"}, "not host:port"},
		{[]any{"203.0.113.7:6464", "bad host:1"}, "contains ' '"},
		{[]any{"[home.example.net]:6464"}, "not an IPv6 address"},
		{[]any{"203.0.113.7:99999"}, "1..65535"},
	} {
		r, err := ubusCall(t, c, "invite", map[string]any{"endpoints": tc.eps})
		if err != nil || r["error"] == nil || !strings.Contains(r["error"].(string), tc.frag) {
			t.Errorf("invite %v: %v %v, want an error with %q", tc.eps, r, err, tc.frag)
		}
	}
	for _, bad := range []map[string]any{{"endpoints": "203.0.113.7:6464"}, {"endpoints": []any{7}}} {
		if _, err := ubusCall(t, c, "invite", bad); !errors.Is(err, &ubus.StatusError{Code: ubus.StatusInvalidArgument}) {
			t.Errorf("invite %v: %v, want INVALID_ARGUMENT", bad, err)
		}
	}
	r, err := ubusCall(t, c, "invite", map[string]any{"name": "M1"})
	if err != nil || r["error"] == nil || !strings.Contains(r["error"].(string), `the name "M1" is taken (member "m1"`) {
		t.Errorf("invite naming a taken name: %v %v", r, err)
	}
	if after, _ := ms[0].d.groupState().Invites(time.Now()); len(after) != len(before) {
		t.Fatalf("refused invite calls made %d invites", len(after)-len(before))
	}
	// m1 asked the lighthouse (m0) where it sees it.
	eventually(t, "m1's public endpoint", func() bool {
		return ms[1].d.controlStatus().PublicEndpoint == ms[1].addr.String()
	})
	st, err := ubusCall(t, c, "status", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st["public_endpoint"]; ok {
		t.Errorf("the lighthouse itself has no lighthouse to ask, yet status says %v", st["public_endpoint"])
	}
}
