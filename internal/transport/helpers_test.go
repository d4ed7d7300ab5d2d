package transport

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/netsim"
)

// testCA is a minimal group CA for transport tests (package group has the
// real one; transport must not depend on it).
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t testing.TB, name string) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "ipop CA " + name, Organization: []string{name}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

var serial int64 = 100

func (ca *testCA) issue(t testing.TB, name string) tls.Certificate {
	t.Helper()
	return ca.issueUntil(t, name, time.Now().Add(time.Hour))
}

func (ca *testCA) verify(raw [][]byte) (Identity, error) {
	if len(raw) == 0 {
		return Identity{}, errors.New("no certificate")
	}
	c, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return Identity{}, err
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: ca.pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return Identity{}, fmt.Errorf("peer certificate is not signed by the group CA: %w", err)
	}
	return Identity{NodeID: testNodeID(c.Subject.CommonName), Name: c.Subject.CommonName, CertDER: c.Raw, Serial: c.SerialNumber}, nil
}

// node is one transport on the simulated network, with the frames it got.
type node struct {
	t      *Transport
	addr   netip.AddrPort
	mu     sync.Mutex
	frames [][]byte
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}

func startNode(t testing.TB, n *netsim.Network, ca *testCA, name, addr string, keepalive time.Duration) *node {
	t.Helper()
	return startNodeWith(t, n, ca, name, addr, keepalive, nil)
}

func startNodeWith(t testing.TB, n *netsim.Network, ca *testCA, name, addr string, keepalive time.Duration, mod func(*Config)) *node {
	t.Helper()
	ap := netip.MustParseAddrPort(addr)
	conn, err := n.Listen(ap)
	if err != nil {
		t.Fatal(err)
	}
	nd := &node{addr: ap, logs: &syncBuffer{}}
	var w io.Writer = nd.logs
	if os.Getenv("TRANSPORT_LOG") != "" {
		w = io.MultiWriter(nd.logs, os.Stderr)
	}
	cfg := Config{
		Conn:        conn,
		Certificate: ca.issue(t, name),
		Verify:      ca.verify,
		Self:        Identity{NodeID: testNodeID(name), Name: name},
		Keepalive:   keepalive,
		Logger:      slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", name),
		OnFrame: func(p *Peer, f []byte) {
			nd.mu.Lock()
			nd.frames = append(nd.frames, append([]byte(nil), f...))
			nd.mu.Unlock()
		},
	}
	if mod != nil {
		mod(&cfg)
	}
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr.Start()
	nd.t = tr
	t.Cleanup(func() { tr.Close() })
	return nd
}

func (nd *node) received() [][]byte {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return append([][]byte(nil), nd.frames...)
}

// waitUp waits until nd has an up session with the node named name.
func (nd *node) waitUp(t testing.TB, name string, within time.Duration) *Peer {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		for _, p := range nd.t.UpPeers() {
			if p.NodeID == testNodeID(name) {
				return p
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("peer %s not up within %v; logs:\n%s", name, within, nd.logs)
	return nil
}

func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", within, what)
}

// checkGoroutines fails the test if goroutines started during it are still
// running shortly after its cleanups.
func checkGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			t.Errorf("goroutine leak: %d before, %d after\n%s", before, n, buf[:runtime.Stack(buf, true)])
		}
	})
}

var _ = context.Background

// testNodeID makes a node id of the real form (16 hex digits) from a name.
func testNodeID(name string) string {
	return fmt.Sprintf("%016x", []byte(name + "\x00\x00\x00\x00\x00\x00\x00\x00")[:8])
}
