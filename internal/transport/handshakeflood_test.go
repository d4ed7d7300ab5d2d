package transport

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/dtls/v3"

	"github.com/ipopd/ipopd/internal/dtlscookie"
	"github.com/ipopd/ipopd/internal/dtlscookie/hellotest"
	"github.com/ipopd/ipopd/internal/netsim"
)

func TestTokenBuckets(t *testing.T) {
	t0 := time.Unix(1e9, 0)
	k1 := limitKeyOf(directPath(netip.MustParseAddrPort("192.0.2.1:1")).key())
	k1port := limitKeyOf(directPath(netip.MustParseAddrPort("192.0.2.1:2")).key())
	k2 := limitKeyOf(directPath(netip.MustParseAddrPort("192.0.2.2:1")).key())
	type step struct {
		at      time.Duration
		key     limitKey
		penal   bool // penalize instead of allow
		allowed bool
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"burst then refill", []step{
			{0, k1, false, true}, {0, k1, false, true}, {0, k1, false, false},
			{500 * time.Millisecond, k1, false, true}, {500 * time.Millisecond, k1, false, false},
		}},
		{"ports share the address's budget", []step{
			{0, k1, false, true}, {0, k1port, false, true}, {0, k1, false, false}, {0, k2, false, true},
		}},
		{"penalty: rarely", []step{
			{0, k1, true, false}, {time.Second, k1, false, false}, {9 * time.Second, k1, false, false},
			{10 * time.Second, k1, false, true}, {11 * time.Second, k1, false, false}, {20 * time.Second, k1, false, true},
			{20 * time.Second, k2, false, true},
		}},
		{"penalty ends", []step{
			{0, k1, true, false}, {time.Minute + time.Second, k1, false, true}, {time.Minute + time.Second, k1, false, true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newSourceLimit(2, 2, 0.1, time.Minute, 16)
			for i, s := range tc.steps {
				if s.penal {
					l.penalize(s.key, t0.Add(s.at))
					continue
				}
				if got := l.allow(s.key, t0.Add(s.at), false); got != s.allowed {
					t.Errorf("step %d at %v: allowed %v, want %v", i, s.at, got, s.allowed)
				}
			}
		})
	}
	t.Run("bounded", func(t *testing.T) {
		l := newSourceLimit(2, 2, 0.1, time.Minute, 64)
		for i := range 10000 {
			a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
			l.allow(limitKey{addr: a}, t0, false)
		}
		if n := l.len(); n > 64 {
			t.Errorf("%d entries, want at most 64", n)
		}
	})
	t.Run("global", func(t *testing.T) {
		g := globalLimit{rate: 100, burst: 10}
		n := 0
		for i := range 1000 {
			if g.allow(t0.Add(time.Duration(i) * time.Millisecond)) {
				n++
			}
		}
		if n < 105 || n > 111 { // 10 of burst, then 100/s for 0.999 s
			t.Errorf("%d allowed in 1 s at 100/s burst 10", n)
		}
	})
}

// TestOneCookieRoundTrip: two ipopd transports handshake through the
// stateless cookie with a single HelloVerifyRequest.
func TestOneCookieRoundTrip(t *testing.T) {
	checkGoroutines(t)
	n := netsim.New()
	ca := newTestCA(t, "home")
	a := startNode(t, n, ca, "a", "10.0.0.1:6464", time.Second)
	b := startNode(t, n, ca, "b", "10.0.0.2:6464", time.Second)
	a.t.Maintain(context.Background(), b.addr.String())
	a.waitUp(t, "b", 5*time.Second)
	b.waitUp(t, "a", 5*time.Second)
	st := b.t.Stats()
	if st.CookiesSent != 1 || st.HelloBadCookie != 0 || st.HelloMalformed != 0 {
		t.Errorf("server stats: %+v", st)
	}
}

// TestStockClient: a stock pion client answers our HelloVerifyRequest the
// standard way; it is refused at once, and its next try from the same
// address goes through pion's own cookie exchange.
func TestStockClient(t *testing.T) {
	checkGoroutines(t)
	ca := newTestCA(t, "home")
	sc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Conn: sc, Certificate: ca.issue(t, "srv"), Verify: ca.verify,
		Self: Identity{NodeID: testNodeID("srv")}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer srv.Close()
	cert := ca.issue(t, "stock")
	dial := func() error {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return err
		}
		defer c.Close()
		//lint:ignore SA1019 the Config API, as transport.go uses it
		conn, err := dtls.Client(c, sc.LocalAddr(), &dtls.Config{
			Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true,
			ExtendedMasterSecret: dtls.RequireExtendedMasterSecret,
		})
		if err != nil {
			return err
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return conn.HandshakeContext(ctx)
	}
	start := time.Now()
	err = dial()
	if err == nil || errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("first try: %v after %v, want a prompt refusal", err, time.Since(start))
	}
	if err := dial(); err != nil {
		t.Fatalf("second try: %v", err)
	}
}

// TestSpoofedHellosKeepNoState: cookie-less ClientHellos from many
// addresses cost no vconn, no goroutine and no table entry, and a real
// handshake still goes through.
func TestSpoofedHellosKeepNoState(t *testing.T) {
	checkGoroutines(t)
	n := netsim.New()
	ca := newTestCA(t, "home")
	a := startNode(t, n, ca, "a", "10.0.0.1:6464", time.Second)
	b := startNode(t, n, ca, "b", "10.0.0.2:6464", time.Second)
	hello := hellotest.PionHello(t, ca.issue(t, "x"))
	const count = 5000
	for i := range count {
		from := netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, byte(i >> 8), byte(i)}), 40000)
		b.t.receiveDTLS(hello, directPath(from))
		if i%100 == 0 { // a bad cookie now and then
			h, _ := dtlscookie.Parse(hello)
			b.t.receiveDTLS(dtlscookie.Splice(hello, h, bytes.Repeat([]byte("ipop"), 6)), directPath(from))
		}
	}
	b.t.mu.Lock()
	pending, addrs := b.t.pending, len(b.t.byAddr)
	b.t.mu.Unlock()
	st := b.t.Stats()
	if pending != 0 || addrs != 0 || b.t.hsLimit.len() != 0 {
		t.Errorf("state after %d spoofed hellos: %d pending, %d by address, %d limit entries", count, pending, addrs, b.t.hsLimit.len())
	}
	if st.CookiesSent+st.HelloLimited != count || st.HelloBadCookie != count/100 {
		t.Errorf("stats: %+v", st)
	}
	// A spoofed hello costs no allocation, answered or dropped (netsim
	// drops the answer to nowhere without one).
	from := directPath(netip.MustParseAddrPort("203.0.113.1:40000"))
	setBudget := func(rate, burst float64) {
		g := &b.t.hvrBudget
		g.mu.Lock()
		g.rate, g.burst, g.b = rate, burst, tokenBucket{}
		g.mu.Unlock()
	}
	setBudget(1e9, 1e9)
	if n := testing.AllocsPerRun(100, func() { b.t.receiveDTLS(hello, from) }); n != 0 {
		t.Errorf("%v allocations per answered hello", n)
	}
	setBudget(1e-9, 1)
	if n := testing.AllocsPerRun(100, func() { b.t.receiveDTLS(hello, from) }); n != 0 {
		t.Errorf("%v allocations per dropped hello", n)
	}
	setBudget(hvrRate, hvrBurst)

	a.t.Maintain(context.Background(), b.addr.String())
	a.waitUp(t, "b", 5*time.Second)
}

// TestForeignHandshakesPenalised: nodes of another group that accept any
// certificate (so that ours does not stop them: a flooder's choice) keep
// dialling from one address; once one failed authentication the address
// gets a handshake at most every hsPenaltyEvery.
func TestForeignHandshakesPenalised(t *testing.T) {
	checkGoroutines(t)
	n := netsim.New()
	home, other := newTestCA(t, "home"), newTestCA(t, "other")
	a := startNode(t, n, home, "a", "10.0.0.1:6464", time.Second)
	anything := func(c *Config) {
		c.Verify = func([][]byte) (Identity, error) { return Identity{NodeID: testNodeID("a"), Name: "a"}, nil }
	}
	for i := range 3 {
		x := startNodeWith(t, n, other, fmt.Sprintf("x%d", i), fmt.Sprintf("10.0.0.9:%d", 7000+i), time.Second, anything)
		x.t.Maintain(context.Background(), a.addr.String())
	}
	waitFor(t, 10*time.Second, "an authentication failure", func() bool { return a.t.Stats().HandshakeAuth > 0 })
	time.Sleep(3 * time.Second) // the three keep redialling
	st := a.t.Stats()
	if st.HandshakeAuth > 4 || st.HelloLimited == 0 {
		t.Errorf("after 3 s of retries from a penalised address: %+v", st)
	}
	if !a.t.hsLimit.penalized(limitKey{addr: netip.MustParseAddr("10.0.0.9")}, time.Now()) {
		t.Error("source not penalised")
	}
	t.Logf("after 3 s: %d authentication failures, %d hellos limited, %d cookies", st.HandshakeAuth, st.HelloLimited, st.CookiesSent)
}

// TestReserveForLiveSessions: with the handshake cap full of strangers'
// handshakes but for the reserve, a stranger is refused while a peer
// with a live session (restarted here, so it dials again) gets in.
func TestReserveForLiveSessions(t *testing.T) {
	checkGoroutines(t)
	n := netsim.New()
	ca := newTestCA(t, "home")
	a := startNode(t, n, ca, "a", "10.0.0.1:6464", time.Second)
	b := startNode(t, n, ca, "b", "10.0.0.2:6464", 10*time.Second) // b keeps a's old session long
	a.t.Maintain(context.Background(), b.addr.String())
	b.waitUp(t, "a", 5*time.Second)

	const strangers = maxPendingHandshakes - reservedHandshakes
	b.t.mu.Lock()
	b.t.pending += strangers
	b.t.mu.Unlock()
	defer func() {
		b.t.mu.Lock()
		b.t.pending -= strangers
		b.t.mu.Unlock()
	}()

	c := startNode(t, n, ca, "c", "10.0.0.3:6464", time.Second)
	c.t.Maintain(context.Background(), b.addr.String())
	waitFor(t, 5*time.Second, "the stranger refused", func() bool { return b.t.Stats().HandshakeLimit > 0 })
	if len(c.t.UpPeers()) != 0 {
		t.Fatal("a stranger got a handshake from the reserve")
	}

	n.Block(a.addr.Addr(), b.addr.Addr(), true)
	a.t.Close()
	n.Block(a.addr.Addr(), b.addr.Addr(), false)
	a2 := startNode(t, n, ca, "a", "10.0.0.1:6464", time.Second)
	a2.t.Maintain(context.Background(), b.addr.String())
	a2.waitUp(t, "b", 5*time.Second)
}

// TestJoinRefused: a refused join takes a join from its source's budget;
// a bad proof (a guess) puts the source on the slow budgets; the caller
// logs once per source per interval.
func TestJoinRefused(t *testing.T) {
	n := netsim.New()
	ca := newTestCA(t, "home")
	for _, tc := range []struct {
		name      string
		node      string // each case its own transport
		guess     bool
		penalized bool
	}{
		{"used invite", "10.0.1.1:6464", false, false},
		{"bad proof", "10.0.1.2:6464", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := startNode(t, n, ca, "b", tc.node, time.Second)
			from := directPath(netip.MustParseAddrPort("192.0.2.7:5000"))
			j := &JoinSession{t: b.t, vc: newVconn(b.t, from, false)}
			k := limitKeyOf(from.key())
			if !j.Refused(tc.guess) {
				t.Error("first refusal not to be logged")
			}
			if j.Refused(tc.guess) {
				t.Error("second refusal within the interval to be logged")
			}
			if got := b.t.hsLimit.penalized(k, time.Now()); got != tc.penalized {
				t.Errorf("penalized = %v, want %v", got, tc.penalized)
			}
			// Two refusals took two of the burst of joinBurst: one left,
			// unless penalised (then the slow budget has none yet).
			left := b.t.joinLimit.allow(k, time.Now(), false)
			if left == tc.penalized {
				t.Errorf("a join left after two refusals: %v", left)
			}
			if st := b.t.Stats(); st.JoinRefused != 2 {
				t.Errorf("JoinRefused = %d", st.JoinRefused)
			}
		})
	}
}
