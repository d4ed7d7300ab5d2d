package control

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCallAndErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ctl.sock")
	h := func(ctx context.Context, method string, args json.RawMessage) (any, error) {
		switch method {
		case "echo":
			var v map[string]string
			if err := json.Unmarshal(args, &v); err != nil {
				return nil, err
			}
			return v, nil
		}
		return nil, ErrUnknownMethod
	}
	s, err := Listen(path, h, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want 0600", fi.Mode().Perm())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Serve(ctx); close(done) }()

	var got map[string]string
	if err := Call(context.Background(), path, "echo", map[string]string{"a": "b"}, &got); err != nil || got["a"] != "b" {
		t.Fatalf("echo: %v %v", got, err)
	}
	if err := Call(context.Background(), path, "nope", nil, nil); err == nil || !strings.Contains(err.Error(), "unknown method") {
		t.Fatalf("unknown method: %v", err)
	}
	// Garbage and oversized requests get an error line, the server lives on.
	for _, bad := range []string{"not json\n", strings.Repeat("x", MaxRequest+10) + "\n", "{}\n"} {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(bad))
		buf := make([]byte, 512)
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, _ := c.Read(buf)
		c.Close()
		if !strings.Contains(string(buf[:n]), `"ok":false`) {
			t.Errorf("bad request %.20q: response %q", bad, buf[:n])
		}
	}
	// A second server on the same live socket is refused.
	if _, err := Listen(path, h, slog.Default()); err == nil {
		t.Fatal("second Listen on a live socket succeeded")
	}
	cancel()
	<-done
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("socket left behind")
	}
	if err := Call(context.Background(), path, "echo", nil, nil); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Fatalf("call without daemon: %v", err)
	}
}

// TestLargeResponse: an answer far over MaxRequest (peers on a lighthouse
// of a large group) reaches the caller.
func TestLargeResponse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	big := strings.Repeat("x", 3*MaxRequest)
	srv, err := Listen(path, func(context.Context, string, json.RawMessage) (any, error) { return big, nil }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	var got string
	if err := Call(context.Background(), path, "peers", nil, &got); err != nil {
		t.Fatal(err)
	}
	if got != big {
		t.Fatalf("got %d bytes, want %d", len(got), len(big))
	}
}
