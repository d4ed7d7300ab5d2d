package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for one writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer runs serve on a loopback socket until the test ends.
func startServer(t *testing.T) (netip.AddrPort, *syncBuffer) {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- serve(ctx, conn, out) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return conn.LocalAddr().(*net.UDPAddr).AddrPort(), out
}

func freePort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func TestSendReceivesObservedSource(t *testing.T) {
	srv, srvLog := startServer(t)
	port := freePort(t)
	var out bytes.Buffer
	cfg := config{send: srv.String(), from: port, msg: "hello there", timeout: 2 * time.Second}
	if err := send(context.Background(), cfg, &out); err != nil {
		t.Fatalf("send: %v", err)
	}
	want := "127.0.0.1:" + itoa(port) + "\nhello there\n"
	if out.String() != want {
		t.Fatalf("reply %q, want %q", out.String(), want)
	}
	if !strings.Contains(srvLog.String(), "from 127.0.0.1:"+itoa(port)+" 11 bytes") {
		t.Fatalf("server log %q lacks the datagram", srvLog.String())
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestSendTimesOut(t *testing.T) {
	// A bound socket that never answers.
	mute, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	var out bytes.Buffer
	cfg := config{send: mute.LocalAddr().String(), msg: "x", timeout: 100 * time.Millisecond}
	err = send(context.Background(), cfg, &out)
	if !errors.Is(err, errNoReply) {
		t.Fatalf("err = %v, want errNoReply", err)
	}
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"-send", mute.LocalAddr().String(), "-timeout", "50ms"}, &out, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1 (stderr %q)", code, stderr.String())
	}
}

func TestLingerEchoesOtherSenders(t *testing.T) {
	srv, _ := startServer(t)
	port := freePort(t)
	out := &syncBuffer{}
	cfg := config{send: srv.String(), from: port, msg: "open", timeout: 2 * time.Second, linger: 2 * time.Second}
	done := make(chan error, 1)
	go func() { done <- send(context.Background(), cfg, out) }()

	// Wait for the first reply, then probe the lingering socket.
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(out.String(), "open") {
		if time.Now().After(deadline) {
			t.Fatalf("no first reply: %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	probe, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	if _, err := probe.Write([]byte("probe")); err != nil {
		t.Fatal(err)
	}
	probe.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 100)
	n, err := probe.Read(buf)
	if err != nil {
		t.Fatalf("no echo from lingering socket: %v", err)
	}
	want := probe.LocalAddr().String() + "\nprobe"
	if string(buf[:n]) != want {
		t.Fatalf("echo %q, want %q", buf[:n], want)
	}
	if err := <-done; err != nil {
		t.Fatalf("send: %v", err)
	}
	if !strings.Contains(out.String(), "from "+probe.LocalAddr().String()+" probe") {
		t.Fatalf("output %q lacks the probe", out.String())
	}
}

func TestListenStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- listen(ctx, "127.0.0.1:0", out) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("listen: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("listen did not stop")
	}
	if !strings.HasPrefix(out.String(), "listening on 127.0.0.1:") {
		t.Fatalf("output %q", out.String())
	}
}

func TestReplyUnmapsIPv4(t *testing.T) {
	src := netip.MustParseAddrPort("[::ffff:10.0.0.1]:4000")
	if got := string(reply(src, []byte("x"))); got != "10.0.0.1:4000\nx" {
		t.Fatalf("reply %q", got)
	}
	src6 := netip.MustParseAddrPort("[fd00::1]:4000")
	if got := string(reply(src6, nil)); got != "[fd00::1]:4000\n" {
		t.Fatalf("reply %q", got)
	}
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
	}{
		{"listen", []string{"-listen", "0.0.0.0:7000"}, false},
		{"send", []string{"-send", "10.0.0.1:7000", "-from", "4000", "-msg", "x"}, false},
		{"neither", nil, true},
		{"both", []string{"-listen", ":1", "-send", "1.2.3.4:5"}, true},
		{"bad port", []string{"-send", "1.2.3.4:5", "-from", "70000"}, true},
		{"negative port", []string{"-send", "1.2.3.4:5", "-from", "-1"}, true},
		{"zero timeout", []string{"-send", "1.2.3.4:5", "-timeout", "0s"}, true},
		{"negative linger", []string{"-send", "1.2.3.4:5", "-linger", "-1s"}, true},
		{"stray arg", []string{"-send", "1.2.3.4:5", "extra"}, true},
		{"unknown flag", []string{"-bogus"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseArgs(tt.args, &bytes.Buffer{})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, errUsage) {
				t.Fatalf("err %v does not wrap errUsage", err)
			}
		})
	}
}

func TestRunReportsBadAddress(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-send", "not-an-address"}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "not-an-address") {
		t.Fatalf("stderr %q does not name the address", stderr.String())
	}
	if code := run(context.Background(), []string{"-listen", "nope"}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
}
