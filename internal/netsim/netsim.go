// Package netsim is an in-process UDP network for tests: virtual sockets
// that deliver datagrams through channels, with optional loss and
// partitions, so that whole members run in one test binary without root.
// It implements transport.PacketConn. Later work adds NAT models.
package netsim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
)

// ErrClosed is returned by a closed Conn.
var ErrClosed = errors.New("netsim: use of closed connection")

// queueLen is each socket's receive queue; a full queue drops, like a
// socket buffer.
const queueLen = 4096

// Network is a set of virtual sockets that can reach each other.
type Network struct {
	mu      sync.Mutex
	conns   map[netip.AddrPort]*Conn
	loss    float64
	blocked map[[2]netip.Addr]bool
	rng     *rand.Rand
	// Dropped counts datagrams lost to loss, partitions, full queues or
	// missing receivers.
	Dropped int
}

// New makes an empty network.
func New() *Network {
	return &Network{
		conns:   make(map[netip.AddrPort]*Conn),
		blocked: make(map[[2]netip.Addr]bool),
		rng:     rand.New(rand.NewPCG(1, 2)),
	}
}

// SetLoss makes each datagram lost with probability p.
func (n *Network) SetLoss(p float64) {
	n.mu.Lock()
	n.loss = p
	n.mu.Unlock()
}

// Block cuts (or with false, restores) the path between two hosts, both ways.
func (n *Network) Block(a, b netip.Addr, blocked bool) {
	n.mu.Lock()
	n.blocked[[2]netip.Addr{a, b}] = blocked
	n.blocked[[2]netip.Addr{b, a}] = blocked
	n.mu.Unlock()
}

// Listen opens a socket at ap.
func (n *Network) Listen(ap netip.AddrPort) (*Conn, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, taken := n.conns[ap]; taken {
		return nil, fmt.Errorf("netsim: listen %s: address in use", ap)
	}
	c := &Conn{net: n, addr: ap, in: make(chan packet, queueLen), done: make(chan struct{})}
	n.conns[ap] = c
	return c, nil
}

type packet struct {
	from netip.AddrPort
	b    []byte
}

// Conn is one virtual UDP socket.
type Conn struct {
	net  *Network
	addr netip.AddrPort
	in   chan packet
	done chan struct{}
	once sync.Once
}

// ReadFromUDPAddrPort blocks until a datagram arrives or the Conn closes.
func (c *Conn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	select {
	case p := <-c.in:
		return copy(b, p.b), p.from, nil
	case <-c.done:
		return 0, netip.AddrPort{}, ErrClosed
	}
}

// WriteToUDPAddrPort sends a copy of b to addr; delivery may fail silently.
func (c *Conn) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	select {
	case <-c.done:
		return 0, ErrClosed
	default:
	}
	n := c.net
	n.mu.Lock()
	dst := n.conns[addr]
	drop := dst == nil || n.blocked[[2]netip.Addr{c.addr.Addr(), addr.Addr()}] || (n.loss > 0 && n.rng.Float64() < n.loss)
	if drop {
		n.Dropped++
		n.mu.Unlock()
		return len(b), nil
	}
	n.mu.Unlock()
	select {
	case dst.in <- packet{from: c.addr, b: append([]byte(nil), b...)}:
	case <-dst.done:
	default:
		n.mu.Lock()
		n.Dropped++
		n.mu.Unlock()
	}
	return len(b), nil
}

// LocalAddr returns the socket's address.
func (c *Conn) LocalAddr() net.Addr { return net.UDPAddrFromAddrPort(c.addr) }

// Close closes the socket and frees its address.
func (c *Conn) Close() error {
	c.once.Do(func() {
		close(c.done)
		c.net.mu.Lock()
		delete(c.net.conns, c.addr)
		c.net.mu.Unlock()
	})
	return nil
}
