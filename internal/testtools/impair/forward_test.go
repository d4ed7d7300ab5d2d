package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// chanPort is an in-memory port: frames pushed into in are read, frames
// written arrive on out with their arrival time.
type chanPort struct {
	in     chan []byte
	out    chan arrival
	closed chan struct{}
	once   sync.Once
}

type arrival struct {
	data []byte
	at   time.Time
}

func newChanPort() *chanPort {
	return &chanPort{in: make(chan []byte, 4096), out: make(chan arrival, 4096), closed: make(chan struct{})}
}

func (p *chanPort) ReadFrame(buf []byte) (int, error) {
	select {
	case f := <-p.in:
		return copy(buf, f), nil
	case <-p.closed:
		return 0, os.ErrClosed
	}
}

func (p *chanPort) WriteFrame(b []byte) error {
	select {
	case p.out <- arrival{append([]byte(nil), b...), time.Now()}:
		return nil
	default:
		return errors.New("out full")
	}
}

func (p *chanPort) Interrupt() { p.once.Do(func() { close(p.closed) }) }

func (p *chanPort) Close() error {
	p.Interrupt()
	return nil
}

// startForwarder runs a forwarder between two chanPorts until the test ends.
func startForwarder(t *testing.T, imp impairment) (a, b *chanPort, fw *forwarder) {
	t.Helper()
	if imp.queue == 0 {
		imp.queue = defaultQueue
	}
	a, b = newChanPort(), newChanPort()
	fw = newForwarder(a, b, imp)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { fw.run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Error("forwarder did not stop")
		}
	})
	return a, b, fw
}

func numbered(i int) []byte {
	f := make([]byte, 64)
	binary.BigEndian.PutUint32(f, uint32(i))
	return f
}

func collect(t *testing.T, p *chanPort, n int, timeout time.Duration) []arrival {
	t.Helper()
	var got []arrival
	deadline := time.After(timeout)
	for len(got) < n {
		select {
		case f := <-p.out:
			got = append(got, f)
		case <-deadline:
			return got
		}
	}
	return got
}

func TestDelayBothDirections(t *testing.T) {
	const delay = 30 * time.Millisecond
	a, b, fw := startForwarder(t, impairment{delay: delay, seed: 1})
	start := time.Now()
	a.in <- numbered(1)
	b.in <- numbered(2)
	atB := collect(t, b, 1, time.Second)
	atA := collect(t, a, 1, time.Second)
	if len(atB) != 1 || len(atA) != 1 {
		t.Fatalf("got %d frames at b, %d at a, want 1 each", len(atB), len(atA))
	}
	for _, f := range []arrival{atB[0], atA[0]} {
		if d := f.at.Sub(start); d < delay || d > delay+500*time.Millisecond {
			t.Errorf("frame arrived after %v, want about %v", d, delay)
		}
	}
	if !bytes.Equal(atB[0].data, numbered(1)) || !bytes.Equal(atA[0].data, numbered(2)) {
		t.Error("frames changed or crossed over")
	}
	// The forwarder counts a frame after writing it: wait for the count.
	deadline := time.Now().Add(time.Second)
	for fw.ab.c.fwd.Load() != 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := fw.ab.c.fwd.Load(); got != 1 {
		t.Errorf("a->b fwd = %d, want 1", got)
	}
}

func TestLossAll(t *testing.T) {
	a, b, fw := startForwarder(t, impairment{loss: 1, seed: 1})
	for i := 0; i < 100; i++ {
		a.in <- numbered(i)
	}
	if got := collect(t, b, 1, 200*time.Millisecond); len(got) != 0 {
		t.Fatalf("%d frames crossed a link with loss 1", len(got))
	}
	if lost := fw.ab.c.lost.Load(); lost != 100 {
		t.Fatalf("lost = %d, want 100", lost)
	}
}

func TestLossFraction(t *testing.T) {
	const n = 2000
	a, b, fw := startForwarder(t, impairment{loss: 0.25, seed: 42, queue: n})
	for i := 0; i < n; i++ {
		a.in <- numbered(i)
	}
	// Collect until every frame is accounted for; a loaded machine may
	// need a while.
	var got []arrival
	deadline := time.Now().Add(5 * time.Second)
	for int(fw.ab.c.lost.Load())+len(got) < n && time.Now().Before(deadline) {
		got = append(got, collect(t, b, n-len(got), 20*time.Millisecond)...)
	}
	got = append(got, collect(t, b, n, 50*time.Millisecond)...) // nothing extra may come
	lost := fw.ab.c.lost.Load()
	if int(lost)+len(got) != n {
		t.Fatalf("lost %d + arrived %d != sent %d", lost, len(got), n)
	}
	if frac := float64(lost) / n; frac < 0.20 || frac > 0.30 {
		t.Fatalf("loss fraction %.3f, want about 0.25", frac)
	}
}

func TestQueueBound(t *testing.T) {
	const queue, sent = 5, 40
	a, b, fw := startForwarder(t, impairment{delay: 300 * time.Millisecond, queue: queue, seed: 1})
	for i := 0; i < sent; i++ {
		a.in <- numbered(i)
	}
	got := collect(t, b, sent, time.Second)
	qdrop := fw.ab.c.qdrop.Load()
	// The writer holds one frame while it sleeps, so queue+1 may pass.
	if len(got) > queue+1 || int(qdrop)+len(got) != sent {
		t.Fatalf("arrived %d, qdrop %d, sent %d, queue %d", len(got), qdrop, sent, queue)
	}
}

func TestJitterKeepsOrder(t *testing.T) {
	const n = 200
	a, b, _ := startForwarder(t, impairment{delay: 5 * time.Millisecond, jitter: 5 * time.Millisecond, seed: 7})
	for i := 0; i < n; i++ {
		a.in <- numbered(i)
	}
	got := collect(t, b, n, 2*time.Second)
	if len(got) != n {
		t.Fatalf("arrived %d of %d", len(got), n)
	}
	for i, f := range got {
		if v := binary.BigEndian.Uint32(f.data); int(v) != i {
			t.Fatalf("frame %d arrived as #%d: reordered", v, i)
		}
	}
}

func TestDueClampsAndKeepsFIFO(t *testing.T) {
	d := newDirection("x", nil, nil, impairment{delay: 10 * time.Millisecond, jitter: 50 * time.Millisecond, queue: 1, seed: 3}, 1)
	now := time.Unix(1000, 0)
	prev := time.Time{}
	for i := 0; i < 1000; i++ {
		due := d.due(now, prev)
		if due.Before(now) || due.Before(prev) || due.After(now.Add(60*time.Millisecond)) {
			t.Fatalf("due %v out of range (now %v, prev %v)", due.Sub(now), now, prev)
		}
		prev = due
	}
}

func TestStopDiscardsQueued(t *testing.T) {
	a, b := newChanPort(), newChanPort()
	fw := newForwarder(a, b, impairment{delay: time.Hour, queue: 10, seed: 1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { fw.run(ctx); close(done) }()
	a.in <- numbered(1)
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("run did not return while a frame waited")
	}
	if !strings.Contains(fw.report(), "a->b rx=1 fwd=0") {
		t.Fatalf("report %q", fw.report())
	}
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
	}{
		{"minimal", []string{"-a", "x", "-b", "y"}, false},
		{"full", []string{"-a", "x", "-b", "y", "-delay", "20ms", "-jitter", "5ms", "-loss", "0.02", "-queue", "10", "-seed", "3"}, false},
		{"loss one", []string{"-a", "x", "-b", "y", "-loss", "1"}, false},
		{"missing b", []string{"-a", "x"}, true},
		{"same", []string{"-a", "x", "-b", "x"}, true},
		{"negative delay", []string{"-a", "x", "-b", "y", "-delay", "-1ms"}, true},
		{"negative jitter", []string{"-a", "x", "-b", "y", "-jitter", "-1ms"}, true},
		{"loss above one", []string{"-a", "x", "-b", "y", "-loss", "1.5"}, true},
		{"loss NaN", []string{"-a", "x", "-b", "y", "-loss", "NaN"}, true},
		{"queue zero", []string{"-a", "x", "-b", "y", "-queue", "0"}, true},
		{"queue huge", []string{"-a", "x", "-b", "y", "-queue", "1000000000"}, true},
		{"stray", []string{"-a", "x", "-b", "y", "z"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseArgs(tt.args, &bytes.Buffer{})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && c.imp.seed == 0 {
				t.Fatal("seed left at 0")
			}
		})
	}
}

func TestRunUnknownInterface(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-a", "nosuchif0", "-b", "nosuchif1"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "nosuchif0") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	if code := run(context.Background(), []string{"-a", "x"}, &stdout, &stderr); code != 2 {
		t.Fatalf("usage error exit %d, want 2", code)
	}
}
