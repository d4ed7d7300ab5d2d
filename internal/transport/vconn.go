package transport

import (
	"bytes"
	"crypto/rand"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/transport/v5/packetio"

	"github.com/ipopd/ipopd/internal/dtlscookie"
)

// vconn is the net.PacketConn that one DTLS session sees. The socket reader
// feeds it the session's DTLS datagrams (Deliver copies them: the socket
// buffer is reused); writes go straight to the shared socket, always to the
// session's current endpoint, so the path can change under the session.
type vconn struct {
	t      *Transport
	client bool
	// buf queues the session's datagrams for pion's Conn; nil once the
	// transport took the record layer over (sess is then set).
	buf atomic.Pointer[packetio.Buffer]

	ep atomic.Pointer[path] // where to send

	closed  atomic.Bool
	gaveWay atomic.Bool // closed because the peer's simultaneous handshake won
	// pionCookie (server): a stock client's handshake, for which pion does
	// the cookie exchange (see package dtlscookie). Set before the vconn is shared.
	pionCookie bool
	authFailed atomic.Bool // the peer's certificate was refused
	heard      atomic.Bool // client: a datagram came from the server
	resending  atomic.Bool // client: resendHello is armed

	// established is set once the handshake finished; from then on records
	// arrive by Connection ID.
	established atomic.Bool

	mu         sync.Mutex
	cids       [][cidLen]byte // every CID we handed out for this session
	sentRandom []byte         // client only: the random of our ClientHello
	holding    bool           // the record layer is changing hands: keep datagrams in held
	held       [][]byte
	sess       *session // set when the transport runs the session's record layer

	cookie dtlscookie.Client // client only: the server transport's cookie exchange
}

// cidLen is the length of every Connection ID we issue (RFC 9146). Routing
// by CID needs one fixed length.
const cidLen = 8

// maxVconnBuffered bounds what a session buffers before its reader runs: a
// whole handshake flight many times over.
const maxVconnBuffered = 256 << 10

func newVconn(t *Transport, ep path, client bool) *vconn {
	c := &vconn{t: t, client: client}
	b := packetio.NewBuffer()
	b.SetLimitSize(maxVconnBuffered)
	c.buf.Store(b)
	c.ep.Store(&ep)
	return c
}

func (c *vconn) path() path { return *c.ep.Load() }

func (c *vconn) setPath(p path) { c.ep.Store(&p) }

// endpoint is the address datagrams go to (the relay's for a relayed path).
func (c *vconn) endpoint() netip.AddrPort { return c.ep.Load().addr }

// deliver queues one datagram for the DTLS session; when the session is
// not reading fast enough the datagram is dropped, as the network would.
func (c *vconn) deliver(b []byte) {
	if c.client && !c.established.Load() {
		c.heard.Store(true)
		if resend, ok := c.cookie.Incoming(b); ok {
			// The server transport's cookie: our pion never sees it; its
			// first ClientHello goes again at once, with the cookie in.
			if resend != nil && !c.closed.Load() {
				_, _ = c.t.writeTo(resend, c.path())
			}
			return
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.sess != nil:
		c.sess.receiveControl(b)
	case c.holding:
		if len(c.held) < maxHeld {
			c.held = append(c.held, bytes.Clone(b))
		}
	default:
		if buf := c.buf.Load(); buf != nil {
			_, _ = buf.Write(b, nil)
		}
	}
}

// generateCID is the DTLS Config.ConnectionIDGenerator: it makes a random
// CID and registers it for routing before the peer can use it.
func (c *vconn) generateCID() []byte {
	var cid [cidLen]byte
	if _, err := rand.Read(cid[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	c.mu.Lock()
	c.cids = append(c.cids, cid)
	c.mu.Unlock()
	c.t.registerCID(cid, c)
	return cid[:]
}

func (c *vconn) ReadFrom(p []byte) (int, net.Addr, error) {
	buf := c.buf.Load()
	if buf == nil {
		return 0, nil, net.ErrClosed
	}
	n, _, err := buf.Read(p, nil)
	if err != nil {
		return 0, nil, err
	}
	return n, net.UDPAddrFromAddrPort(c.endpoint()), nil
}

func (c *vconn) WriteTo(p []byte, _ net.Addr) (int, error) {
	// A closed vconn must not write: a client handshake that gave way to
	// the peer's (see receiveDTLS) must not send its ClientHello late.
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	if c.client {
		if r, ok := clientHelloRandom(p); ok {
			c.mu.Lock()
			if c.sentRandom == nil {
				c.sentRandom = append([]byte(nil), r...)
			}
			c.mu.Unlock()
		}
		p = c.cookie.Outgoing(p) // pion's retransmission, with the cookie in
		if !c.resending.Swap(true) {
			time.AfterFunc(helloResendEvery, func() { c.resendHello(1) })
		}
	}
	return c.t.writeTo(p, c.path())
}

// helloResendEvery: how often a client sends its first ClientHello again
// while it hears nothing. pion backs off (0.5, 1, 2, 4 s), which under a
// flood of spoofed hellos, where the server answers only some of them
// (see sendCookie), leaves few chances before handshakeTimeout; these
// resends keep one every half second. They stop at the server's first
// answer, ours or an older ipopd's pion's.
const helloResendEvery = 500 * time.Millisecond

// resendHello sends our first ClientHello again while no answer came; n
// counts the resends.
func (c *vconn) resendHello(n int) {
	if c.closed.Load() || c.heard.Load() || c.established.Load() ||
		time.Duration(n)*helloResendEvery >= handshakeTimeout {
		return
	}
	if hello := c.cookie.Waiting(); hello != nil {
		_, _ = c.t.writeTo(hello, c.path())
	}
	time.AfterFunc(helloResendEvery, func() { c.resendHello(n + 1) })
}

func (c *vconn) ourRandom() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sentRandom
}

func (c *vconn) Close() error {
	c.closed.Store(true)
	if buf := c.buf.Load(); buf != nil {
		return buf.Close()
	}
	return nil
}
func (c *vconn) LocalAddr() net.Addr           { return c.t.conn.LocalAddr() }
func (c *vconn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }
func (c *vconn) SetReadDeadline(t time.Time) error {
	if buf := c.buf.Load(); buf != nil {
		return buf.SetReadDeadline(t)
	}
	return nil
}
func (c *vconn) SetWriteDeadline(t time.Time) error { return nil }

// DTLS record and handshake header offsets used by the demultiplexer.
const (
	dtlsContentCID = 25
	// record header (13) + handshake header (12) + client_version (2)
	clientHelloRandomOff = dtlsHeaderLen + 12 + 2
)

// isClientHello reports whether a datagram starts with an epoch-0
// ClientHello record.
func isClientHello(b []byte) bool { return dtlscookie.IsClientHello(b) }

// clientHelloRandom returns the 32-byte random of a ClientHello datagram.
func clientHelloRandom(b []byte) ([]byte, bool) {
	if !isClientHello(b) {
		return nil, false
	}
	return b[clientHelloRandomOff : clientHelloRandomOff+32], true
}

// recordCID returns the Connection ID of a datagram whose first record
// carries one (content type tls12_cid, RFC 9146 section 4).
func recordCID(b []byte) ([cidLen]byte, bool) {
	var cid [cidLen]byte
	if len(b) < 11+cidLen+2 || b[0] != dtlsContentCID {
		return cid, false
	}
	copy(cid[:], b[11:11+cidLen])
	return cid, true
}
