package ubus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ipopd/ipopd/ubus"
	"github.com/ipopd/ipopd/ubus/ubustest"
)

// TestClientReconnect: the Client waits for a ubusd that is not there yet,
// registers its object, and registers it again after ubusd restarts.
func TestClientReconnect(t *testing.T) {
	checkGoroutines(t)
	ctx := testCtx(t)
	path, srv := ubustest.Serve(t)
	srv.Stop() // no ubusd yet

	cl := ubus.NewClient(ctx, ubus.ClientOptions{Path: path, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	defer cl.Close()
	obj := testObject()
	if err := cl.AddObject(ctx, obj); err != nil {
		t.Fatal(err)
	}
	if cl.Connected() {
		t.Fatal("connected without ubusd")
	}
	if _, err := cl.Call(ctx, "test.obj", "echo", nil); !errors.Is(err, ubus.ErrNotConnected) {
		t.Errorf("call while down: %v", err)
	}
	time.Sleep(50 * time.Millisecond) // a few failed attempts

	for round := range 3 {
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		if err := cl.WaitConnected(ctx); err != nil {
			t.Fatal(err)
		}
		caller := dial(t, ctx, path)
		res, err := caller.Call(ctx, "test.obj", "echo", map[string]any{"round": round})
		if err != nil || res["round"] != int32(round) {
			t.Fatalf("round %d: %v %v", round, res, err)
		}
		if res, err := cl.Call(ctx, "test.obj", "echo", map[string]any{"self": true}); err != nil || res["self"] != true {
			t.Errorf("client call: %v %v", res, err)
		}
		if err := cl.SendEvent(ctx, "ipop.state", map[string]any{"round": round}); err != nil {
			t.Errorf("event: %v", err)
		}
		caller.Close()
		if round%2 == 0 {
			srv.Stop()
		} else {
			srv.DropClients()
			if err := cl.WaitConnected(ctx); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { _, err := cl.Lookup(ctx, "test.obj"); return err == nil })
			srv.Stop()
		}
		waitFor(t, func() bool { return !cl.Connected() })
	}
	if err := cl.Close(); err != nil {
		t.Fatal(err)
	}
	if err := cl.WaitConnected(ctx); !errors.Is(err, ubus.ErrClosed) {
		t.Errorf("wait after close: %v", err)
	}
}

// TestClientAddWhileConnected: objects added to a connected Client are
// registered at once; a taken path is reported and not kept.
func TestClientAddWhileConnected(t *testing.T) {
	checkGoroutines(t)
	ctx := testCtx(t)
	path, _ := ubustest.Serve(t)
	other := dial(t, ctx, path)
	if err := other.AddObject(ctx, &ubus.Object{Name: "taken"}); err != nil {
		t.Fatal(err)
	}
	cl := ubus.NewClient(ctx, ubus.ClientOptions{Path: path, MinBackoff: 10 * time.Millisecond})
	defer cl.Close()
	if err := cl.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	obj := testObject()
	if err := cl.AddObject(ctx, obj); err != nil {
		t.Fatal(err)
	}
	if obj.ID() == 0 {
		t.Error("object not registered")
	}
	if err := cl.AddObject(ctx, &ubus.Object{Name: "taken"}); !errors.Is(err, &ubus.StatusError{Code: ubus.StatusInvalidArgument}) {
		t.Errorf("taken path: %v", err)
	}
	if err := cl.AddObject(ctx, obj); !errors.Is(err, ubus.ErrObjectInUse) {
		t.Errorf("twice: %v", err)
	}
	if err := cl.RemoveObject(ctx, obj); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Lookup(ctx, "test.obj"); !errors.Is(err, &ubus.StatusError{Code: ubus.StatusNotFound}) {
		t.Errorf("after remove: %v", err)
	}
	ctx2, cancel := context.WithCancel(ctx)
	cl2 := ubus.NewClient(ctx2, ubus.ClientOptions{Path: path})
	cancel() // the context ends the Client too
	cl2.Close()
}
