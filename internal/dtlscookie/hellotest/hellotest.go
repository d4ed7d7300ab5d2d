// Package hellotest captures a real pion/dtls ClientHello for the tests of
// the packages that parse them (dtlscookie, transport).
package hellotest

import (
	"bytes"
	"crypto/tls"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
)

// helloCapture is a net.PacketConn that keeps what is written to it and
// never delivers anything: enough to get a DTLS stack's first ClientHello.
type helloCapture struct {
	mu     sync.Mutex
	writes [][]byte
	done   chan struct{}
	once   sync.Once
}

func (c *helloCapture) ReadFrom([]byte) (int, net.Addr, error) {
	<-c.done
	return 0, nil, net.ErrClosed
}

func (c *helloCapture) WriteTo(p []byte, _ net.Addr) (int, error) {
	c.mu.Lock()
	c.writes = append(c.writes, bytes.Clone(p))
	c.mu.Unlock()
	return len(p), nil
}
func (c *helloCapture) Close() error                     { c.once.Do(func() { close(c.done) }); return nil }
func (c *helloCapture) LocalAddr() net.Addr              { return &net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1} }
func (c *helloCapture) SetDeadline(time.Time) error      { return nil }
func (c *helloCapture) SetReadDeadline(time.Time) error  { return nil }
func (c *helloCapture) SetWriteDeadline(time.Time) error { return nil }

// PionHello returns the first ClientHello datagram a pion client with
// cert sends, as a real peer would send it.
func PionHello(t testing.TB, cert tls.Certificate) []byte {
	t.Helper()
	c := &helloCapture{done: make(chan struct{})}
	//lint:ignore SA1019 the Config API, as transport.go uses it
	conn, err := dtls.Client(c, &net.UDPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 2}, &dtls.Config{
		Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true,
		ExtendedMasterSecret: dtls.RequireExtendedMasterSecret, FlightInterval: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = conn.Handshake() // ends when c closes
	}()
	defer func() {
		_ = c.Close()
		<-done
		_ = conn.Close()
	}()
	for range 200 {
		c.mu.Lock()
		for _, w := range c.writes {
			if isClientHello(w) {
				c.mu.Unlock()
				return w
			}
		}
		c.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("pion sent no ClientHello")
	return nil
}

// isClientHello: a handshake record (22) whose first message is a
// ClientHello (1), as dtlscookie.IsClientHello says (not imported: its
// own tests use this package).
func isClientHello(w []byte) bool { return len(w) > 13 && w[0] == 22 && w[13] == 1 }
