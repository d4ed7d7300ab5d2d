package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"time"
)

// maxDatagram is the largest UDP payload we read.
const maxDatagram = 65535

// formatAddr prints an address the way a NAT test expects to compare it:
// IPv4 without the ::ffff: prefix a dual-stack socket adds.
func formatAddr(a netip.AddrPort) string {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port()).String()
}

// reply is the echo of payload received from src: "ip:port\n" + payload.
func reply(src netip.AddrPort, payload []byte) []byte {
	return append([]byte(formatAddr(src)+"\n"), payload...)
}

// serve echoes datagrams on conn until ctx ends (nil) or reading fails.
func serve(ctx context.Context, conn *net.UDPConn, out io.Writer) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	buf := make([]byte, maxDatagram)
	for {
		n, src, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("udpecho: read: %w", err)
		}
		fmt.Fprintf(out, "from %s %d bytes\n", formatAddr(src), n)
		if _, err := conn.WriteToUDPAddrPort(reply(src, buf[:n]), src); err != nil {
			fmt.Fprintf(out, "reply to %s: %v\n", formatAddr(src), err)
		}
	}
}

// listen runs -listen mode.
func listen(ctx context.Context, addr string, out io.Writer) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return fmt.Errorf("udpecho: -listen %q: %w", addr, err)
	}
	conn, err := net.ListenUDP(network(ap), net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return fmt.Errorf("udpecho: %w", err)
	}
	defer conn.Close()
	fmt.Fprintf(out, "listening on %s\n", conn.LocalAddr())
	return serve(ctx, conn, out)
}

// network picks the socket family matching the address, so that an IPv4
// destination is sent from an IPv4 socket whatever the host's defaults.
func network(ap netip.AddrPort) string {
	if ap.Addr().Unmap().Is4() {
		return "udp4"
	}
	return "udp6"
}

// sameEndpoint compares addresses ignoring the IPv4-in-IPv6 form and zones.
func sameEndpoint(a, b netip.AddrPort) bool {
	return a.Port() == b.Port() && a.Addr().Unmap().WithZone("") == b.Addr().Unmap().WithZone("")
}

// send runs -send mode: one datagram, print the reply, then linger.
func send(ctx context.Context, cfg config, out io.Writer) error {
	dst, err := netip.ParseAddrPort(cfg.send)
	if err != nil {
		return fmt.Errorf("udpecho: -send %q: %w", cfg.send, err)
	}
	conn, err := net.ListenUDP(network(dst), &net.UDPAddr{Port: cfg.from})
	if err != nil {
		return fmt.Errorf("udpecho: bind port %d: %w", cfg.from, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := conn.WriteToUDPAddrPort([]byte(cfg.msg), dst); err != nil {
		return fmt.Errorf("udpecho: send to %s: %w", cfg.send, err)
	}
	if err := conn.SetReadDeadline(time.Now().Add(cfg.timeout)); err != nil {
		return fmt.Errorf("udpecho: %w", err)
	}
	buf := make([]byte, maxDatagram)
	for {
		n, src, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return fmt.Errorf("udpecho: %w from %s within %v", errNoReply, cfg.send, cfg.timeout)
			}
			return fmt.Errorf("udpecho: read: %w", err)
		}
		if !sameEndpoint(src, dst) {
			continue // not the answer; a lingering socket echoes these later
		}
		fmt.Fprintf(out, "%s\n", buf[:n])
		break
	}
	if cfg.linger <= 0 {
		return nil
	}
	if err := conn.SetReadDeadline(time.Now().Add(cfg.linger)); err != nil {
		return fmt.Errorf("udpecho: %w", err)
	}
	if ctx.Err() != nil {
		return nil // stopped before the linger deadline replaced the stop
	}
	for {
		n, src, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil
			}
			return fmt.Errorf("udpecho: read: %w", err)
		}
		fmt.Fprintf(out, "from %s %s\n", formatAddr(src), buf[:n])
		if _, err := conn.WriteToUDPAddrPort(reply(src, buf[:n]), src); err != nil {
			fmt.Fprintf(out, "reply to %s: %v\n", formatAddr(src), err)
		}
	}
}
