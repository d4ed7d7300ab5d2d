package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// config holds the parsed command line.
type config struct {
	listen  string
	send    string
	from    int
	msg     string
	timeout time.Duration
	linger  time.Duration
}

func parseArgs(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("udpecho", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", "", "echo on `ADDR` (ip:port)")
	fs.StringVar(&c.send, "send", "", "send one datagram to `ADDR` (ip:port) and print the reply")
	fs.IntVar(&c.from, "from", 0, "local `PORT` for -send (0: any)")
	fs.StringVar(&c.msg, "msg", "ping", "payload for -send")
	fs.DurationVar(&c.timeout, "timeout", 2*time.Second, "how long -send waits for the reply")
	fs.DurationVar(&c.linger, "linger", 0, "after the reply, keep echoing on the -send socket this long")
	if err := fs.Parse(args); err != nil {
		return c, fmt.Errorf("%w: %v", errUsage, err)
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	case (c.listen == "") == (c.send == ""):
		return c, fmt.Errorf("%w: give exactly one of -listen and -send", errUsage)
	case c.from < 0 || c.from > 65535:
		return c, fmt.Errorf("%w: -from %d is not a port", errUsage, c.from)
	case c.timeout <= 0:
		return c, fmt.Errorf("%w: -timeout must be positive", errUsage)
	case c.linger < 0:
		return c, fmt.Errorf("%w: -linger must not be negative", errUsage)
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseArgs(args, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "udpecho:", err)
		return 2
	}
	if cfg.listen != "" {
		err = listen(ctx, cfg.listen, stdout)
	} else {
		err = send(ctx, cfg, stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
