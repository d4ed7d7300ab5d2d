package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// port is one side of the impaired link.
type port interface {
	// ReadFrame reads one frame into buf and returns its length. After
	// Close it returns an error wrapping os.ErrClosed.
	ReadFrame(buf []byte) (int, error)
	// WriteFrame sends one frame; b is not retained.
	WriteFrame(b []byte) error
	// Interrupt makes blocked and later ReadFrame and WriteFrame calls
	// fail at once, without closing: closing a promiscuous packet socket
	// takes the kernel's rtnl lock, which namespace teardown can hold for
	// seconds, and the counters must be printed before that.
	Interrupt()
	Close() error
}

// impairment is what happens to every frame in each direction.
type impairment struct {
	delay  time.Duration
	jitter time.Duration
	loss   float64
	queue  int    // frames waiting per direction
	seed   uint64 // random source seed; runs with equal seeds drop the same frames
}

// counters of one direction. Written by its two goroutines, read by main.
type counters struct {
	rx    atomic.Uint64 // frames read
	fwd   atomic.Uint64 // frames written to the other side
	lost  atomic.Uint64 // dropped by the random loss
	qdrop atomic.Uint64 // dropped because the queue was full
	errs  atomic.Uint64 // read or write errors
}

func (c *counters) String() string {
	return fmt.Sprintf("rx=%d fwd=%d lost=%d qdrop=%d err=%d",
		c.rx.Load(), c.fwd.Load(), c.lost.Load(), c.qdrop.Load(), c.errs.Load())
}

// frame is a queued frame and the time it may leave.
type frame struct {
	data []byte
	due  time.Time
}

// maxFrame is the read buffer: a 64 KiB GSO packet plus the virtio-net
// header, with room to spare.
const maxFrame = 128 << 10

// errorBackoff keeps a reader from spinning when its interface is down.
const errorBackoff = 10 * time.Millisecond

// direction moves frames from src to dst.
type direction struct {
	name     string
	src, dst port
	imp      impairment
	rng      *rand.Rand // used by the reader only
	q        chan frame
	c        counters
}

func newDirection(name string, src, dst port, imp impairment, stream uint64) *direction {
	return &direction{
		name: name, src: src, dst: dst, imp: imp,
		rng: rand.New(rand.NewPCG(imp.seed, stream)),
		q:   make(chan frame, imp.queue),
	}
}

// due returns when a frame read at now may leave, given the previous
// frame's due time: FIFO order is kept whatever the jitter.
func (d *direction) due(now, prev time.Time) time.Time {
	wait := d.imp.delay
	if j := d.imp.jitter; j > 0 {
		wait += time.Duration(d.rng.Int64N(2*int64(j)+1)) - j
	}
	t := now.Add(max(wait, 0))
	if t.Before(prev) {
		t = prev
	}
	return t
}

// readLoop reads, drops or queues frames until src is closed.
func (d *direction) readLoop(stop <-chan struct{}) {
	buf := make([]byte, maxFrame)
	var prev time.Time
	for {
		n, err := d.src.ReadFrame(buf)
		if err != nil {
			select {
			case <-stop:
				return // interrupted to stop: not an error
			default:
			}
			if errors.Is(err, os.ErrClosed) {
				return
			}
			d.c.errs.Add(1)
			select {
			case <-stop:
				return
			case <-time.After(errorBackoff):
			}
			continue
		}
		d.c.rx.Add(1)
		if d.imp.loss > 0 && d.rng.Float64() < d.imp.loss {
			d.c.lost.Add(1)
			continue
		}
		f := frame{data: append([]byte(nil), buf[:n]...), due: d.due(time.Now(), prev)}
		select {
		case d.q <- f:
			prev = f.due
		default:
			d.c.qdrop.Add(1)
		}
	}
}

// writeLoop sends queued frames when they are due, until stop closes.
// Frames still queued then are discarded.
func (d *direction) writeLoop(stop <-chan struct{}) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var f frame
		select {
		case <-stop:
			return
		case f = <-d.q:
		}
		if wait := time.Until(f.due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-stop:
				return
			case <-timer.C:
			}
		}
		if err := d.dst.WriteFrame(f.data); err != nil {
			d.c.errs.Add(1)
			continue
		}
		d.c.fwd.Add(1)
	}
}

// forwarder runs both directions between ports a and b.
type forwarder struct {
	ab, ba *direction
	a, b   port
}

func newForwarder(a, b port, imp impairment) *forwarder {
	return &forwarder{
		a: a, b: b,
		ab: newDirection("a->b", a, b, imp, 1),
		ba: newDirection("b->a", b, a, imp, 2),
	}
}

// run forwards until ctx ends, then interrupts both ports and waits for
// its four goroutines. The caller closes the ports.
func (fw *forwarder) run(ctx context.Context) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, d := range []*direction{fw.ab, fw.ba} {
		wg.Add(2)
		go func() { defer wg.Done(); d.readLoop(stop) }()
		go func() { defer wg.Done(); d.writeLoop(stop) }()
	}
	<-ctx.Done()
	close(stop)
	fw.a.Interrupt()
	fw.b.Interrupt()
	wg.Wait()
}

// report returns one counter line per direction.
func (fw *forwarder) report() string {
	return fmt.Sprintf("impair: %s %s\nimpair: %s %s\n", fw.ab.name, &fw.ab.c, fw.ba.name, &fw.ba.c)
}
