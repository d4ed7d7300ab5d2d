package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/ipopd/ipopd/internal/group"
	"github.com/ipopd/ipopd/internal/transport"
	"github.com/ipopd/ipopd/internal/wire"
)

const (
	// dialers is how many handshakes run at once: enough to link 1000
	// members in a minute on two cores, under the daemon's limit of 64
	// handshakes in progress.
	dialers = 8
	// dialTries and dialTimeout bound the attempts per link.
	dialTries   = 5
	dialTimeout = 10 * time.Second
	// frameEvery is how often an active link carries a frame: far more
	// often than the daemon closes idle links.
	frameEvery = time.Second
)

var errUsage = errors.New("usage")

type config struct {
	bundles, hub, bind, active string
	activeN                    int
	stdin                      bool
}

func parseArgs(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("manypeers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.bundles, "bundles", "", "`DIR` of member bundles, one per member")
	fs.StringVar(&c.hub, "hub", "", "the daemon every member links to (`ip:port`)")
	fs.StringVar(&c.bind, "bind", "127.0.0.1", "local `IP` of the members' sockets")
	fs.StringVar(&c.active, "active", "", "a member daemon (`ip:port`) that the first -active-n members keep busy links with")
	fs.IntVar(&c.activeN, "active-n", 10, "how many members link to -active")
	fs.BoolVar(&c.stdin, "stdin", false, "also stop at the end of standard input")
	if err := fs.Parse(args); err != nil {
		return c, fmt.Errorf("%w: %v", errUsage, err)
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	case c.bundles == "" || c.hub == "":
		return c, fmt.Errorf("%w: -bundles and -hub are required", errUsage)
	}
	return c, nil
}

func main() {
	c, err := parseArgs(os.Args[1:], os.Stderr)
	if err == nil {
		err = run(c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "manypeers:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// member is one simulated member: its transport and bundle.
type member struct {
	tr  *transport.Transport
	bd  *group.Bundle
	ap  netip.AddrPort // its socket
	hub *transport.Peer
}

func run(c config) error {
	hub, err := netip.ParseAddrPort(c.hub)
	if err != nil {
		return fmt.Errorf("%w: -hub: %v", errUsage, err)
	}
	var active netip.AddrPort
	if c.active != "" {
		if active, err = netip.ParseAddrPort(c.active); err != nil {
			return fmt.Errorf("%w: -active: %v", errUsage, err)
		}
	}
	bind, err := netip.ParseAddr(c.bind)
	if err != nil {
		return fmt.Errorf("%w: -bind: %v", errUsage, err)
	}
	bundles, err := readBundles(c.bundles)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if c.stdin {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	members := make([]*member, 0, len(bundles))
	defer func() {
		var wg sync.WaitGroup
		for _, m := range members {
			wg.Go(func() { _ = m.tr.Close() })
		}
		wg.Wait()
	}()
	for _, bd := range bundles {
		m, err := newMember(bd, bind, log)
		if err != nil {
			return err
		}
		members = append(members, m)
	}
	if err := linkAll(ctx, members, func(ctx context.Context, m *member) error {
		p, err := m.tr.Connect(ctx, hub)
		if err != nil {
			return err
		}
		m.hub = p
		if p.Roles()&wire.RoleLighthouse != 0 {
			// Register as a member does (discovery.announce).
			return m.tr.SendControl(p, &wire.Announce{Candidates: []string{m.ap.String()}})
		}
		return nil
	}); err != nil {
		return err
	}
	fmt.Printf("up %d\n", len(members))
	if active.IsValid() {
		busy := members[:min(c.activeN, len(members))]
		peers := make([]*transport.Peer, len(busy))
		if err := linkAll(ctx, busy, func(ctx context.Context, m *member) error {
			p, err := m.tr.Connect(ctx, active)
			if err == nil {
				peers[slices.Index(busy, m)] = p
			}
			return err
		}); err != nil {
			return err
		}
		fmt.Printf("active %d\n", len(busy))
		go keepBusy(ctx, busy, peers)
	}
	<-ctx.Done()
	return nil
}

// newMember makes the transport of one bundle's member.
func newMember(bd *group.Bundle, bind netip.Addr, log *slog.Logger) (*member, error) {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(bind, 0)))
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(bd.CACert)
	tr, err := transport.New(transport.Config{
		Conn:        conn,
		Certificate: tls.Certificate{Certificate: [][]byte{bd.NodeCert.Raw}, PrivateKey: bd.NodeKey, Leaf: bd.NodeCert},
		Verify:      func(raw [][]byte) (transport.Identity, error) { return verify(pool, raw) },
		Self:        transport.Identity{NodeID: bd.NodeID, Name: bd.NodeCert.Subject.CommonName},
		Logger:      log,
	})
	if err != nil {
		conn.Close()
		return nil, err
	}
	tr.Start()
	return &member{tr: tr, bd: bd, ap: conn.LocalAddr().(*net.UDPAddr).AddrPort()}, nil
}

// verify accepts a certificate the group CA signed; the daemon under test
// is what the benchmark measures, not the members' checks.
func verify(pool *x509.CertPool, raw [][]byte) (transport.Identity, error) {
	if len(raw) == 0 {
		return transport.Identity{}, errors.New("no certificate")
	}
	c, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return transport.Identity{}, err
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return transport.Identity{}, err
	}
	id, err := group.NodeIDFromPublicKey(c.PublicKey)
	if err != nil {
		return transport.Identity{}, err
	}
	return transport.Identity{NodeID: id, Name: c.Subject.CommonName, CertDER: raw[0], Serial: c.SerialNumber}, nil
}

// linkAll runs link for every member, dialers at a time, each retried
// dialTries times.
func linkAll(ctx context.Context, members []*member, link func(context.Context, *member) error) error {
	next := make(chan *member)
	errs := make(chan error, len(members))
	var wg sync.WaitGroup
	for range dialers {
		wg.Go(func() {
			for m := range next {
				var err error
				for range dialTries {
					dctx, cancel := context.WithTimeout(ctx, dialTimeout)
					err = link(dctx, m)
					cancel()
					if err == nil || ctx.Err() != nil {
						break
					}
				}
				if err != nil {
					errs <- fmt.Errorf("member %s: %w", m.bd.NodeCert.Subject.CommonName, err)
				}
			}
		})
	}
	for _, m := range members {
		select {
		case next <- m:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	if err := ctx.Err(); err != nil {
		return err
	}
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// keepBusy sends each active link a frame every frameEvery: a unicast
// Ethernet frame from the member's own MAC to a MAC nobody has, which the
// daemon counts as traffic on the link and hands to its TAP.
func keepBusy(ctx context.Context, members []*member, peers []*transport.Peer) {
	tk := time.NewTicker(frameEvery)
	defer tk.Stop()
	frames := make([][]byte, len(members))
	for i := range frames {
		f := make([]byte, 64)
		copy(f, []byte{0x02, 0, 0, 0, 0xee, 0xee})                // destination: locally administered, unused
		copy(f[6:], []byte{0x02, 0, 0, 1, byte(i >> 8), byte(i)}) // source: one per member
		f[12], f[13] = 0x88, 0xb5                                 // local experimental EtherType
		frames[i] = f
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		for i, m := range members {
			_ = m.tr.SendFrame(peers[i], frames[i])
		}
	}
}

// readBundles parses every file in dir, in name order.
func readBundles(dir string) ([]*group.Bundle, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	var out []*group.Bundle
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, err
		}
		bd, err := group.ParseBundle(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		out = append(out, bd)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no bundles in %s", dir)
	}
	return out, nil
}
