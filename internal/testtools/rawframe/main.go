package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// config is the parsed command line.
type config struct {
	ifname  string
	hex     string
	kind    string
	msg     string
	prefix  string
	listen  bool
	timeout time.Duration
}

func parseArgs(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("rawframe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.ifname, "i", "", "`interface` to send on or listen to")
	fs.StringVar(&c.hex, "hex", "", "send this frame (hex)")
	fs.StringVar(&c.kind, "kind", "", "canned frame: ra or bcast")
	fs.StringVar(&c.msg, "msg", "hello", "text carried by -kind bcast")
	fs.StringVar(&c.prefix, "prefix", "fd00:5::/64", "prefix announced by -kind ra (empty: none)")
	fs.BoolVar(&c.listen, "listen", false, "print received frames of -kind until -timeout")
	fs.DurationVar(&c.timeout, "timeout", 3*time.Second, "how long -listen listens")
	if err := fs.Parse(args); err != nil {
		return c, fmt.Errorf("%w: %v", errUsage, err)
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	case c.ifname == "":
		return c, fmt.Errorf("%w: -i is required", errUsage)
	case c.kind != "" && c.kind != "ra" && c.kind != "bcast":
		return c, fmt.Errorf("%w: -kind %q: want ra or bcast", errUsage, c.kind)
	case c.listen && c.kind == "":
		return c, fmt.Errorf("%w: -listen needs -kind", errUsage)
	case c.listen && c.hex != "":
		return c, fmt.Errorf("%w: -listen and -hex exclude each other", errUsage)
	case c.listen && c.timeout <= 0:
		return c, fmt.Errorf("%w: -timeout must be positive", errUsage)
	case !c.listen && (c.hex == "") == (c.kind == ""):
		return c, fmt.Errorf("%w: give exactly one of -hex and -kind", errUsage)
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseArgs(args, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "rawframe:", err)
		return 2
	}
	if cfg.listen {
		err = listen(ctx, cfg, stdout, stderr)
	} else {
		err = sendFrame(cfg, stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "rawframe:", err)
		return 1
	}
	return 0
}

// frameFor builds the frame to send on ifi.
func frameFor(cfg config, ifi *net.Interface) ([]byte, error) {
	if cfg.hex != "" {
		return parseHex(cfg.hex)
	}
	if cfg.kind == "bcast" {
		return buildBcast(ifi.HardwareAddr, cfg.msg)
	}
	var prefix netip.Prefix
	if cfg.prefix != "" {
		p, err := netip.ParsePrefix(cfg.prefix)
		if err != nil {
			return nil, fmt.Errorf("-prefix: %w", err)
		}
		prefix = p
	}
	if len(ifi.HardwareAddr) != 6 {
		return nil, fmt.Errorf("%s has no Ethernet address", ifi.Name)
	}
	return buildRA(ifi.HardwareAddr, interfaceLinkLocal(ifi), prefix)
}

// interfaceLinkLocal returns the interface's IPv6 link-local address, or the
// EUI-64 one of its MAC when it has none (IPv6 disabled, or still tentative).
func interfaceLinkLocal(ifi *net.Interface) netip.Addr {
	if addrs, err := ifi.Addrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Is6() && ip.IsLinkLocalUnicast() {
					return ip
				}
			}
		}
	}
	return linkLocalFromMAC(ifi.HardwareAddr)
}

func sendFrame(cfg config, stdout io.Writer) error {
	ifi, err := net.InterfaceByName(cfg.ifname)
	if err != nil {
		return fmt.Errorf("interface %q: %w", cfg.ifname, err)
	}
	frame, err := frameFor(cfg, ifi)
	if err != nil {
		return err
	}
	s, err := openRaw(cfg.ifname, false)
	if err != nil {
		return err
	}
	defer s.close()
	if err := s.send(frame); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sent %d bytes on %s\n", len(frame), cfg.ifname)
	return nil
}

func listen(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	s, err := openRaw(cfg.ifname, true)
	if err != nil {
		return err
	}
	defer s.close()
	fmt.Fprintf(stderr, "rawframe: listening on %s\n", cfg.ifname)
	deadline := time.Now().Add(cfg.timeout)
	// SIGTERM ends the listening early, still printing the count.
	stop := context.AfterFunc(ctx, s.interrupt)
	defer stop()
	buf := make([]byte, 65536)
	count := 0
	for {
		n, err := s.recv(buf, deadline)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			return err
		}
		if line, ok := describe(cfg.kind, buf[:n]); ok {
			fmt.Fprintln(stdout, line)
			count++
		}
	}
	fmt.Fprintf(stdout, "count %d\n", count)
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
