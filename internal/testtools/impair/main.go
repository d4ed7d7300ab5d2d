package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// defaultQueue frames per direction: 1000 full-size frames are 1.5 MB and
// about 120 ms of a 100 Mbit/s link, deep enough to never drop at test
// rates yet bounded.
const defaultQueue = 1000

// maxQueue keeps a typo from reserving gigabytes (a queued GSO frame can be
// 64 KiB).
const maxQueue = 100000

// config is the parsed command line.
type config struct {
	a, b string
	imp  impairment
}

func parseArgs(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("impair", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.a, "a", "", "first `interface`")
	fs.StringVar(&c.b, "b", "", "second `interface`")
	fs.DurationVar(&c.imp.delay, "delay", 0, "delay added to every frame")
	fs.DurationVar(&c.imp.jitter, "jitter", 0, "uniform jitter in [-jitter, +jitter] added to the delay")
	fs.Float64Var(&c.imp.loss, "loss", 0, "probability 0..1 of dropping a frame")
	fs.IntVar(&c.imp.queue, "queue", defaultQueue, "frames queued per direction before new ones are dropped")
	fs.Uint64Var(&c.imp.seed, "seed", 0, "random seed (0: random)")
	if err := fs.Parse(args); err != nil {
		return c, fmt.Errorf("%w: %v", errUsage, err)
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	case c.a == "" || c.b == "":
		return c, fmt.Errorf("%w: -a and -b are required", errUsage)
	case c.a == c.b:
		return c, fmt.Errorf("%w: -a and -b are both %q", errUsage, c.a)
	case c.imp.delay < 0 || c.imp.jitter < 0:
		return c, fmt.Errorf("%w: -delay and -jitter must not be negative", errUsage)
	case !(c.imp.loss >= 0 && c.imp.loss <= 1):
		return c, fmt.Errorf("%w: -loss %v is outside 0..1", errUsage, c.imp.loss)
	case c.imp.queue < 1 || c.imp.queue > maxQueue:
		return c, fmt.Errorf("%w: -queue %d is outside 1..%d", errUsage, c.imp.queue, maxQueue)
	}
	if c.imp.seed == 0 {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return c, fmt.Errorf("impair: seed: %w", err)
		}
		c.imp.seed = binary.LittleEndian.Uint64(b[:])
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseArgs(args, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "impair:", err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	a, err := openPacketPort(cfg.a)
	if err != nil {
		fmt.Fprintln(stderr, "impair:", err)
		return 1
	}
	b, err := openPacketPort(cfg.b)
	if err != nil {
		a.Close()
		fmt.Fprintln(stderr, "impair:", err)
		return 1
	}
	// Deferred closes run after the final counters are printed.
	defer a.Close()
	defer b.Close()
	fw := newForwarder(a, b, cfg.imp)
	fmt.Fprintf(stdout, "impair: ready a=%s b=%s delay=%v jitter=%v loss=%v queue=%d\n",
		cfg.a, cfg.b, cfg.imp.delay, cfg.imp.jitter, cfg.imp.loss, cfg.imp.queue)

	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	done := make(chan struct{})
	go func() {
		fw.run(ctx)
		close(done)
	}()
	for {
		select {
		case <-usr1:
			fmt.Fprint(stdout, fw.report())
		case <-done:
			fmt.Fprint(stdout, fw.report())
			return 0
		}
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
