package ubus_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipopd/ipopd/ubus"
	"github.com/ipopd/ipopd/ubus/ubustest"
)

// checkGoroutines fails the test if goroutines started during it are still
// running shortly after its cleanups.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<16)
			t.Errorf("goroutine leak: %d before, %d after\n%s", before, n, buf[:runtime.Stack(buf, true)])
		}
	})
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dial(t *testing.T, ctx context.Context, path string) *ubus.Conn {
	t.Helper()
	c, err := ubus.Dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// testObject echoes its arguments and has methods that fail in each way.
func testObject() *ubus.Object {
	echo := func(ctx context.Context, req *ubus.Request) (map[string]any, error) {
		out := map[string]any{}
		for k, v := range req.Args {
			out[k] = v
		}
		out["user"] = req.User
		return out, nil
	}
	return &ubus.Object{Name: "test.obj", Methods: []ubus.Method{
		{Name: "echo", Handler: echo},
		{Name: "typed", Args: map[string]ubus.BlobType{"s": ubus.TypeString, "n": ubus.TypeInt32,
			"b": ubus.TypeBool, "d": ubus.TypeDouble, "l": ubus.TypeInt64}, Handler: func(ctx context.Context, req *ubus.Request) (map[string]any, error) {
			out := map[string]any{}
			for k, v := range req.Args {
				out[k+"_type"] = fmt.Sprintf("%T", v)
			}
			return out, nil
		}},
		{Name: "fail", Handler: func(ctx context.Context, req *ubus.Request) (map[string]any, error) {
			return nil, ubus.NewStatusError(ubus.StatusPermissionDenied)
		}},
		{Name: "oops", Handler: func(ctx context.Context, req *ubus.Request) (map[string]any, error) {
			return nil, errors.New("plain error")
		}},
		{Name: "panic", Handler: func(ctx context.Context, req *ubus.Request) (map[string]any, error) {
			panic("handler bug")
		}},
		{Name: "nodata", Handler: func(ctx context.Context, req *ubus.Request) (map[string]any, error) {
			return nil, nil
		}},
		{Name: "slow", Handler: func(ctx context.Context, req *ubus.Request) (map[string]any, error) {
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
			}
			return nil, nil
		}},
	}}
}

func TestInvoke(t *testing.T) {
	checkGoroutines(t)
	ctx := testCtx(t)
	path, _ := ubustest.Serve(t)
	owner, caller := dial(t, ctx, path), dial(t, ctx, path)
	obj := testObject()
	if err := owner.AddObject(ctx, obj); err != nil {
		t.Fatal(err)
	}
	if obj.ID() < 1024 {
		t.Errorf("object id %d", obj.ID())
	}

	info, err := caller.Lookup(ctx, "test.obj")
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Signature["typed"]["n"]; got != ubus.TypeInt32 {
		t.Errorf("signature typed.n = %v, want int32", got)
	}
	if _, ok := info.Signature["echo"]; !ok {
		t.Errorf("signature lacks echo: %v", info.Signature)
	}

	args := map[string]any{"s": "héllo", "i": -42, "l": int64(1) << 32, "b": true, "d": 2.5, "nil": nil,
		"a": []any{1, "two", false, map[string]any{"k": "v"}, []any{}}, "t": map[string]any{"x": 1}, "e": map[string]any{},
		"i16": int16(7), "i8": int8(1)}
	res, err := caller.Call(ctx, "test.obj", "echo", args)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"s": "héllo", "i": int32(-42), "l": int64(1) << 32, "b": true, "d": 2.5, "nil": nil,
		"a": []any{int32(1), "two", false, map[string]any{"k": "v"}, []any{}}, "t": map[string]any{"x": int32(1)},
		"e": map[string]any{}, "i16": int16(7), "i8": true, "user": "root"}
	if fmt.Sprint(res) != fmt.Sprint(want) {
		t.Errorf("echo\n got %#v\nwant %#v", res, want)
	}

	res, err = caller.Call(ctx, "test.obj", "typed", map[string]any{"s": "x", "n": "12", "b": 1, "d": 3, "l": int32(5), "ubus_rpc_session": "abc"})
	if err != nil {
		t.Fatal(err)
	}
	wantTypes := map[string]any{"s_type": "string", "n_type": "int32", "b_type": "bool", "d_type": "float64", "l_type": "int64", "ubus_rpc_session_type": "string"}
	if fmt.Sprint(res) != fmt.Sprint(wantTypes) {
		t.Errorf("typed: got %v want %v", res, wantTypes)
	}

	statusCases := []struct {
		method string
		args   map[string]any
		want   ubus.Status
	}{
		{"missing", nil, ubus.StatusMethodNotFound},
		{"typed", map[string]any{"s": 5}, ubus.StatusInvalidArgument},
		{"typed", map[string]any{"n": "twelve"}, ubus.StatusInvalidArgument},
		{"typed", map[string]any{"n": int64(1) << 40}, ubus.StatusInvalidArgument},
		{"typed", map[string]any{"b": "maybe"}, ubus.StatusInvalidArgument},
		{"fail", nil, ubus.StatusPermissionDenied},
		{"oops", nil, ubus.StatusUnknownError},
		{"panic", nil, ubus.StatusUnknownError},
	}
	for _, tc := range statusCases {
		_, err := caller.Call(ctx, "test.obj", tc.method, tc.args)
		var se *ubus.StatusError
		if !errors.As(err, &se) || se.Code != tc.want {
			t.Errorf("%s %v: got %v, want status %s", tc.method, tc.args, err, tc.want)
		}
	}
	if res, err := caller.Call(ctx, "test.obj", "nodata", nil); err != nil || len(res) != 0 {
		t.Errorf("nodata: %v %v", res, err)
	}
	if _, err := caller.Call(ctx, "no.such", "x", nil); !errors.Is(err, &ubus.StatusError{Code: ubus.StatusNotFound}) {
		t.Errorf("missing object: %v", err)
	}
	if _, err := caller.Invoke(ctx, 12345, "x", nil); !errors.Is(err, &ubus.StatusError{Code: ubus.StatusNotFound}) {
		t.Errorf("missing object id: %v", err)
	}

	// Timeout: the caller gives up, the late reply is ignored.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = caller.Call(short, "test.obj", "slow", nil)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, &ubus.StatusError{Code: ubus.StatusTimeout}) {
		t.Errorf("slow: %v", err)
	}
	// Duplicate path.
	if err := caller.AddObject(ctx, &ubus.Object{Name: "test.obj"}); !errors.Is(err, &ubus.StatusError{Code: ubus.StatusInvalidArgument}) {
		t.Errorf("duplicate add: %v", err)
	}
	if err := owner.AddObject(ctx, obj); !errors.Is(err, ubus.ErrObjectInUse) {
		t.Errorf("re-add: %v", err)
	}
	if err := owner.Ping(ctx); err != nil {
		t.Errorf("ping: %v", err)
	}
	if err := owner.RemoveObject(ctx, obj); err != nil {
		t.Fatal(err)
	}
	if _, err := caller.Lookup(ctx, "test.obj"); !errors.Is(err, &ubus.StatusError{Code: ubus.StatusNotFound}) {
		t.Errorf("lookup after remove: %v", err)
	}
	// Close waits for the slow handler, whose context it cancels.
	owner.Close()
	if err := owner.Ping(ctx); !errors.Is(err, ubus.ErrClosed) {
		t.Errorf("ping after close: %v", err)
	}
}

func TestEventsAndSubscribe(t *testing.T) {
	checkGoroutines(t)
	ctx := testCtx(t)
	path, _ := ubustest.Serve(t)
	a, b := dial(t, ctx, path), dial(t, ctx, path)

	events := make(chan ubus.Event, 10)
	lis, err := b.ListenEvents(ctx, "ipop.*", func(ev ubus.Event) { events <- ev })
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SendEvent(ctx, "other.event", map[string]any{"x": 1}); err != nil {
		t.Fatal(err)
	}
	if err := a.SendEvent(ctx, "ipop.peer.up", map[string]any{"node": "abc", "path": "direct"}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-events:
		if ev.Name != "ipop.peer.up" || ev.Data["node"] != "abc" {
			t.Errorf("event %+v", ev)
		}
	case <-ctx.Done():
		t.Fatal("no event")
	}
	if err := a.SendEvent(ctx, "ubus.object.add", nil); !errors.Is(err, ubus.ErrInvalidName) {
		t.Errorf("reserved event: %v", err)
	}
	if err := lis.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// Subscribe / notify.
	obj := &ubus.Object{Name: "test.notifier", Methods: []ubus.Method{{Name: "status",
		Handler: func(context.Context, *ubus.Request) (map[string]any, error) { return nil, nil }}}}
	if err := a.AddObject(ctx, obj); err != nil {
		t.Fatal(err)
	}
	if err := obj.Notify(ctx, "ipop.state", nil); err != nil { // no subscribers yet
		t.Fatal(err)
	}
	notes := make(chan ubus.Event, 10)
	sub, err := b.Subscribe(ctx, "test.notifier", func(ev ubus.Event) { notes <- ev })
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, obj.HasSubscribers)
	for i := range 3 {
		if err := obj.Notify(ctx, "ipop.peer.up", map[string]any{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		select {
		case ev := <-notes:
			if ev.Name != "ipop.peer.up" || ev.Data["n"] != int32(i) {
				t.Errorf("notification %d: %+v", i, ev)
			}
		case <-ctx.Done():
			t.Fatal("no notification")
		}
	}
	// The owner leaving ends the subscription.
	if err := a.RemoveObject(ctx, obj); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sub.Gone():
	case <-ctx.Done():
		t.Fatal("subscription not ended")
	}
	if err := obj.Notify(ctx, "x", nil); !errors.Is(err, ubus.ErrNotRegistered) {
		t.Errorf("notify unregistered: %v", err)
	}
	if err := sub.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestGarbageFromServer: bad bytes from ubusd end the connection cleanly,
// failing pending requests, never crashing the client.
func TestGarbageFromServer(t *testing.T) {
	garbage := []struct {
		name string
		raw  []byte
	}{
		{"bad version", []byte{1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 4}},
		{"blob too short", []byte{0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2}},
		{"blob too long", []byte{0, 1, 0, 1, 0, 0, 0, 0, 0, 0x20, 0, 0}},
		{"attr overruns", []byte{0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 8, 1, 0, 0, 0x40}},
		{"extended header", []byte{0, 1, 0, 1, 0, 0, 0, 0, 0x80, 0, 0, 4}},
	}
	for _, g := range garbage {
		t.Run(g.name, func(t *testing.T) {
			checkGoroutines(t)
			ctx := testCtx(t)
			path, srv := ubustest.Serve(t)
			c := dial(t, ctx, path)
			srv.Inject(g.raw)
			select {
			case <-c.Done():
			case <-ctx.Done():
				t.Fatal("connection survived garbage")
			}
			if err := c.Ping(ctx); !errors.Is(err, ubus.ErrConnLost) {
				t.Errorf("ping after garbage: %v", err)
			}
		})
	}
	// Harmless oddities are ignored: an unknown message type, a reply
	// matching no request, an INVOKE for an unknown object.
	t.Run("ignored", func(t *testing.T) {
		checkGoroutines(t)
		ctx := testCtx(t)
		path, srv := ubustest.Serve(t)
		c := dial(t, ctx, path)
		srv.Inject([]byte{0, 99, 0, 1, 0, 0, 0, 0, 0, 0, 0, 4})
		srv.Inject([]byte{0, 1, 0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 4})
		if err := c.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDialErrors(t *testing.T) {
	ctx := testCtx(t)
	if _, err := ubus.Dial(ctx, t.TempDir()+"/none.sock"); err == nil {
		t.Error("dial of a missing socket succeeded")
	}
}

// TestConcurrentCalls checks that replies are matched to their requests.
func TestConcurrentCalls(t *testing.T) {
	checkGoroutines(t)
	ctx := testCtx(t)
	path, _ := ubustest.Serve(t)
	owner, caller := dial(t, ctx, path), dial(t, ctx, path)
	if err := owner.AddObject(ctx, testObject()); err != nil {
		t.Fatal(err)
	}
	info, err := caller.Lookup(ctx, "test.obj")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				s := fmt.Sprintf("%d-%d", g, i)
				res, err := caller.Invoke(ctx, info.ID, "echo", map[string]any{"s": s})
				if err != nil || res["s"] != s {
					errs <- fmt.Errorf("%s: %v %v", s, res, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestLargeMessage(t *testing.T) {
	ctx := testCtx(t)
	path, _ := ubustest.Serve(t)
	c := dial(t, ctx, path)
	big := map[string]any{"x": strings.Repeat("a", ubus.MaxMessageLen)}
	if err := c.SendEvent(ctx, "ipop.big", big); !errors.Is(err, ubus.ErrTooLarge) {
		t.Errorf("oversized event: %v", err)
	}
	if err := c.Ping(ctx); err != nil {
		t.Errorf("connection unusable after refusing to send: %v", err)
	}
}
