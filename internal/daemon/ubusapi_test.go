package daemon

import (
	"bufio"
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/transport"
	"github.com/ipopd/ipopd/ubus"
	"github.com/ipopd/ipopd/ubus/ubustest"
	"github.com/ipopd/ipopd/uci/ipopconf"
)

// TestUbusObject: the daemon registers "ipop" on ubusd; status, peers and
// the membership methods answer; wrong arguments are INVALID_ARGUMENT with
// nothing changed; peer events are sent.
func TestUbusObject(t *testing.T) {
	path, _ := ubustest.Serve(t)
	ctx := context.Background()
	watcher, err := ubus.Dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()
	var ups atomic.Int32
	l, err := watcher.ListenEvents(ctx, "ipop.*", func(e ubus.Event) {
		if e.Name == "ipop.peer.up" {
			ups.Add(1)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)

	ms := startMembersWith(t, 2, func(i int, c *ipopconf.Config) {
		if i == 0 {
			c.UbusSocket = path
		}
	})
	caller, err := ubus.Dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	var st map[string]any
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err = caller.Call(ctx, "ipop", "status", nil)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	if st["state"] != "running" || st["group"] != "sim" || st["owner"] != true {
		t.Fatalf("status = %v", st)
	}
	peers, err := caller.Call(ctx, "ipop", "peers", nil)
	if err != nil {
		t.Fatal(err)
	}
	if list, ok := peers["peers"].([]any); !ok || len(list) != 1 {
		t.Fatalf("peers = %v", peers)
	}
	inv, err := caller.Call(ctx, "ipop", "invite", map[string]any{"ttl": 3600, "uses": 1, "name": "friend"})
	if err != nil || !strings.HasPrefix(inv["token"].(string), "ipop1") {
		t.Fatalf("invite: %v %v", inv, err)
	}
	invites, _ := ms[0].d.groupState().Invites(time.Now())
	for _, bad := range []map[string]any{{"ttl": "soon"}, {"uses": "many"}, {"ttl": -5}} {
		_, err := caller.Call(ctx, "ipop", "invite", bad)
		if !errors.Is(err, &ubus.StatusError{Code: ubus.StatusInvalidArgument}) {
			t.Errorf("invite %v: err = %v, want INVALID_ARGUMENT", bad, err)
		}
	}
	after, _ := ms[0].d.groupState().Invites(time.Now())
	if len(after) != len(invites) {
		t.Fatal("a refused invite call created an invite")
	}
	if r, err := caller.Call(ctx, "ipop", "join", map[string]any{"token": "ipop1garbage"}); err != nil || r["error"] == nil {
		t.Fatalf("join on a member: %v %v", r, err)
	}
	if _, err := caller.Call(ctx, "ipop", "nosuch", nil); !errors.Is(err, &ubus.StatusError{Code: ubus.StatusMethodNotFound}) {
		t.Fatalf("unknown method: %v", err)
	}
	// Events go out while ubus is connected: drop the link to the other
	// member; it comes back, and ipop.peer.up is sent.
	before := ups.Load()
	ms[0].d.member().tr.DropIf(func(transport.Identity) bool { return true }, "test")
	deadline = time.Now().Add(10 * time.Second)
	for ups.Load() == before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if ups.Load() == before {
		t.Error("no ipop.peer.up event after the link came back")
	}
}

// TestUbusFlood: 10,000 calls to status and peers while frames flow: no
// goroutine growth, no lost frames.
func TestUbusFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("flood")
	}
	path, _ := ubustest.Serve(t)
	ms := startMembersWith(t, 2, func(i int, c *ipopconf.Config) {
		if i == 0 {
			c.UbusSocket = path
		}
	})
	a, b := ms[0], ms[1]
	ctx := context.Background()
	caller, err := ubus.Dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := caller.Call(ctx, "ipop", "status", nil); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ipop never registered")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Learn b's MAC at a so that frames are unicast.
	b.dev.in <- frame([6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, mac(2), "hello")
	eventually(t, "b's broadcast at a", func() bool { return a.dev.got([]byte("hello")) == 1 })

	stop := make(chan struct{})
	sent := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case a.dev.in <- frame(mac(2), mac(1), "flow"):
				sent++
				time.Sleep(200 * time.Microsecond)
			}
		}
	}()
	before := runtime.NumGoroutine()
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	for i := 0; i < 10000; i++ {
		method := "status"
		if i%2 == 1 {
			method = "peers"
		}
		if _, err := caller.Call(ctx, "ipop", method, nil); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	close(stop)
	<-done
	eventually(t, "every frame delivered", func() bool { return b.dev.got([]byte("flow")) == sent })
	if after := runtime.NumGoroutine(); after > before+5 {
		t.Fatalf("goroutines grew from %d to %d over 10,000 calls", before, after)
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	if grow := int64(m1.HeapInuse) - int64(m0.HeapInuse); grow > 4<<20 {
		t.Fatalf("heap in use grew by %d KiB over 10,000 calls", grow>>10)
	}
	t.Logf("%d frames delivered during 10,000 ubus calls", sent)
}

// TestUbusMethodsMatchLuCI: every method the LuCI app calls (and the ACL
// grants) exists on the object with the arguments the views send.
func TestUbusMethodsMatchLuCI(t *testing.T) {
	f, err := os.Open("../../openwrt/luci-app-ipop/ubus-methods.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := &Daemon{}
	obj := d.ubusObject()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		var m *ubus.Method
		for i := range obj.Methods {
			if obj.Methods[i].Name == fields[0] {
				m = &obj.Methods[i]
			}
		}
		if m == nil {
			t.Errorf("LuCI calls ipop %s, which the daemon does not have", fields[0])
			continue
		}
		for _, arg := range fields[2:] {
			if _, ok := m.Args[arg]; !ok {
				t.Errorf("ipop %s: the daemon does not declare argument %q that LuCI sends", fields[0], arg)
			}
		}
	}
}
