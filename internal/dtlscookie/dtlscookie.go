// Package dtlscookie makes and checks stateless DTLS cookies (RFC 6347
// section 4.2.1) outside the DTLS stack, so that a server answers a
// ClientHello with a HelloVerifyRequest from a keyed MAC alone and keeps
// no per-source state until the client proves its address.
//
// pion/dtls cannot take over after a stateless exchange: its server reads
// the handshake from message_seq 0 and numbers its own messages from 0,
// while a client that answered a HelloVerifyRequest is at message_seq 1
// and expects the ServerHello at 1 (and message_seq is in the Finished
// transcript, so renumbering on the way is not an option). So ipopd's
// clients hide the exchange from their pion (Client, ClientConn): they
// take our HelloVerifyRequest (told apart by Magic) and put the cookie
// into the unchanged first ClientHello (still message_seq 0). The server
// checks the cookie, takes it out again (Strip), and hands pion
// (InsecureSkipVerifyHello) the very bytes the client's pion sent. Both
// transcripts hold the same ClientHello, and the whole handshake costs
// one round trip more than without cookies, as with pion's own.
//
// A client that answers the standard way (a stock DTLS stack or an older
// ipopd: the cookie in a second ClientHello, message_seq 1) has proved its
// address all the same; the server may refuse it with Alert and serve its
// next attempt with pion's own, stateful exchange.
package dtlscookie

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
	"net"
	"sync"
	"time"
)

// Cookie layout: Magic, the key generation, then the MAC truncated.
const (
	Magic  = "ipop"
	macLen = 19
	Len    = len(Magic) + 1 + macLen // 24, unlike pion's 20
	// Rotate is how often the cookie key changes. A cookie stays good
	// until the key after next: at least one rotation, at most two.
	Rotate = time.Minute
)

// DTLS record and handshake layout.
const (
	recordHeaderLen      = 13
	contentHandshake     = 22
	hsTypeClientHello    = 1
	clientHelloRandomOff = recordHeaderLen + hsHeaderLen + 2
)

// IsClientHello reports whether a datagram starts with an epoch-0
// ClientHello record.
func IsClientHello(b []byte) bool {
	return len(b) >= clientHelloRandomOff+32 &&
		b[0] == contentHandshake &&
		b[3] == 0 && b[4] == 0 &&
		b[recordHeaderLen] == hsTypeClientHello
}

// Hello is what Parse found in a ClientHello.
type Hello struct {
	MsgSeq    uint16
	RecSeq    [6]byte // record sequence number, echoed in our replies
	cookieOff int     // offset of the cookie's length byte in the datagram
	Cookie    []byte
	// endParams is the end of compression_methods: the MAC covers
	// [bodyStart, cookieOff) and [cookieOff+1+len(cookie), endParams).
	endParams int
}

const (
	hsHeaderLen     = 12
	hsTypeHVR       = 3
	helloBodyOff    = recordHeaderLen + hsHeaderLen
	helloSessionOff = helloBodyOff + 2 + 32 // after client_version and random
)

var ErrBadHello = errors.New("malformed ClientHello")

// MaxHelloLen bounds the ClientHellos we take: ours are about 200 bytes;
// bigger ones would come in fragments, which no stack we serve sends.
const MaxHelloLen = 2048

// Parse reads a datagram that must be exactly one epoch-0
// record holding one whole, unfragmented ClientHello: what every DTLS
// stack sends (a ClientHello is far below any MTU). Anything else is
// refused; the demultiplexer drops it.
func Parse(b []byte) (Hello, error) {
	var h Hello
	if !IsClientHello(b) || len(b) < helloSessionOff+1 || len(b) > MaxHelloLen {
		return h, ErrBadHello
	}
	recLen := int(binary.BigEndian.Uint16(b[11:13]))
	if recordHeaderLen+recLen != len(b) {
		return h, ErrBadHello
	}
	hs := b[recordHeaderLen:]
	msgLen := int(hs[1])<<16 | int(hs[2])<<8 | int(hs[3])
	fragOff := int(hs[6])<<16 | int(hs[7])<<8 | int(hs[8])
	fragLen := int(hs[9])<<16 | int(hs[10])<<8 | int(hs[11])
	if fragOff != 0 || fragLen != msgLen || hsHeaderLen+msgLen != recLen {
		return h, ErrBadHello
	}
	h.MsgSeq = binary.BigEndian.Uint16(hs[4:6])
	copy(h.RecSeq[:], b[5:11])
	off := helloSessionOff
	next := func(lenBytes int) (int, bool) { // skips one vector; returns its start
		if off+lenBytes > len(b) {
			return 0, false
		}
		n := int(b[off])
		if lenBytes == 2 {
			n = int(binary.BigEndian.Uint16(b[off:]))
		}
		start := off
		off += lenBytes + n
		return start, off <= len(b)
	}
	if _, ok := next(1); !ok || int(b[helloSessionOff]) > 32 { // session_id
		return h, ErrBadHello
	}
	co, ok := next(1) // cookie
	if !ok {
		return h, ErrBadHello
	}
	h.cookieOff = co
	h.Cookie = b[co+1 : off]
	cs, ok := next(2) // cipher_suites
	if !ok || binary.BigEndian.Uint16(b[cs:]) < 2 || binary.BigEndian.Uint16(b[cs:])%2 != 0 {
		return h, ErrBadHello
	}
	cm, ok := next(1) // compression_methods
	if !ok || b[cm] < 1 {
		return h, ErrBadHello
	}
	h.endParams = off
	if off < len(b) { // extensions, if any, must fill the rest exactly
		if _, ok := next(2); !ok || off != len(b) {
			return h, ErrBadHello
		}
	}
	return h, nil
}

// Splice returns a copy of a cookie-less ClientHello datagram with
// cookie put in (and the record and handshake lengths grown to match).
func Splice(b []byte, h Hello, cookie []byte) []byte {
	out := make([]byte, 0, len(b)+len(cookie))
	out = append(out, b[:h.cookieOff]...)
	out = append(out, byte(len(cookie)))
	out = append(out, cookie...)
	out = append(out, b[h.cookieOff+1+len(h.Cookie):]...)
	resizeHello(out, len(cookie)-len(h.Cookie))
	return out
}

// Strip returns a copy of a ClientHello datagram without its cookie:
// for one Splice made, the bytes the client's DTLS stack sent.
func Strip(b []byte, h Hello) []byte {
	out := make([]byte, 0, len(b)-len(h.Cookie))
	out = append(out, b[:h.cookieOff]...)
	out = append(out, 0)
	out = append(out, b[h.cookieOff+1+len(h.Cookie):]...)
	resizeHello(out, -len(h.Cookie))
	return out
}

// resizeHello adds d to the record length, the handshake length and the
// fragment length of a one-record ClientHello.
func resizeHello(b []byte, d int) {
	binary.BigEndian.PutUint16(b[11:13], uint16(int(binary.BigEndian.Uint16(b[11:13]))+d))
	for _, o := range []int{recordHeaderLen + 1, recordHeaderLen + 9} {
		n := int(b[o])<<16 | int(b[o+1])<<8 | int(b[o+2]) + d
		b[o], b[o+1], b[o+2] = byte(n>>16), byte(n>>8), byte(n)
	}
}

// VerifyRequest builds our HelloVerifyRequest for a ClientHello: a
// 52-byte datagram, smaller than any ClientHello, so answering spoofed
// ones amplifies nothing.
func VerifyRequest(h Hello, cookie []byte) []byte {
	b := make([]byte, hvrHeaderLen, hvrHeaderLen+len(cookie))
	putVerifyRequest(b, h, len(cookie))
	return append(b, cookie...)
}

// hvrHeaderLen is a HelloVerifyRequest up to its cookie.
const hvrHeaderLen = recordHeaderLen + hsHeaderLen + 3

// putVerifyRequest writes a HelloVerifyRequest's headers for a cookie of
// n bytes into b[:hvrHeaderLen].
func putVerifyRequest(b []byte, h Hello, n int) {
	bodyLen := 2 + 1 + n
	clear(b[:hvrHeaderLen])
	b[0] = contentHandshake
	b[1], b[2] = 0xfe, 0xfd    // DTLS 1.2 record
	copy(b[5:11], h.RecSeq[:]) // RFC 6347 4.2.1: echo the record sequence number
	binary.BigEndian.PutUint16(b[11:13], uint16(hsHeaderLen+bodyLen))
	hs := b[recordHeaderLen:]
	hs[0] = hsTypeHVR
	hs[3] = byte(bodyLen) // length (message_seq 0, fragment_offset 0)
	hs[11] = byte(bodyLen)
	hs[12], hs[13] = 0xfe, 0xff // server_version DTLS 1.0, as the RFC asks
	hs[14] = byte(n)
}

// OurCookie returns the cookie of a datagram that is one of our
// HelloVerifyRequests (a HelloVerifyRequest with a Magic cookie);
// pion's own, from an older ipopd, do not match.
func OurCookie(b []byte) ([]byte, bool) {
	const n = recordHeaderLen + hsHeaderLen + 3 + Len
	if len(b) != n || b[0] != contentHandshake || b[recordHeaderLen] != hsTypeHVR ||
		int(b[recordHeaderLen+hsHeaderLen+2]) != Len {
		return nil, false
	}
	c := b[recordHeaderLen+hsHeaderLen+3:]
	if string(c[:len(Magic)]) != Magic {
		return nil, false
	}
	return c, true
}

// Alert is a fatal handshake_failure alert at epoch 0: it
// ends a stock client's attempt at once (see the package comment above).
func Alert(h Hello) []byte {
	b := []byte{21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 40}
	copy(b[5:11], h.RecSeq[:])
	return b
}

// Jar holds the rotating cookie keys. It is safe for concurrent use; a
// server's socket reader is its one user in practice, so the lock costs
// nothing. The MACs
// are kept and reset, so a cookie costs no allocation.
type Jar struct {
	mu      sync.Mutex
	now     func() time.Time
	gen     uint8        // generation of macs[0]
	macs    [2]hash.Hash // current, previous (nil until the first rotation)
	rotated time.Time
	sum     [sha256.Size]byte
	src     [64]byte // see macLocked
}

// NewJar makes a Jar with a fresh random key; now is its clock.
func NewJar(now func() time.Time) *Jar {
	j := &Jar{now: now}
	j.macs[0] = newCookieMAC()
	j.rotated = now()
	return j
}

func newCookieMAC() hash.Hash {
	var k [32]byte
	if _, err := rand.Read(k[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hmac.New(sha256.New, k[:])
}

func (j *Jar) rotateLocked() {
	now := j.now()
	if now.Sub(j.rotated) < Rotate {
		return
	}
	if now.Sub(j.rotated) >= 2*Rotate {
		j.macs[1] = nil // both keys are stale
	} else {
		j.macs[1] = j.macs[0]
	}
	j.macs[0] = newCookieMAC()
	j.gen++
	j.rotated = now
}

// macLocked computes the cookie MAC over the source (src: its address,
// and whatever else names where the hello came from, in at most 64
// bytes) and the
// ClientHello's parameters (version, random, session id, cipher suites,
// compression): a cookie is good for one hello from one place.
func (j *Jar) macLocked(m hash.Hash, src []byte, b []byte, h Hello) []byte {
	m.Reset()
	// Through the jar's scratch: src, often the caller's array, does
	// not escape to the heap by way of the interface call.
	n := copy(j.src[:], src)
	m.Write(j.src[:n])
	m.Write(b[helloBodyOff:h.cookieOff])
	m.Write(b[h.cookieOff+1+len(h.Cookie) : h.endParams])
	return m.Sum(j.sum[:0])[:macLen]
}

// Make returns the cookie for a ClientHello b (parsed as h) from src.
func (j *Jar) Make(src, b []byte, h Hello) []byte {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.rotateLocked()
	c := make([]byte, 0, Len)
	c = append(c, Magic...)
	c = append(c, j.gen)
	return append(c, j.macLocked(j.macs[0], src, b, h)...)
}

// AppendVerifyRequest appends to dst the HelloVerifyRequest with our
// cookie for the ClientHello b from src: VerifyRequest(h, j.Make(src, b,
// h)) without an allocation, for the path a flood takes.
func (j *Jar) AppendVerifyRequest(dst, src, b []byte, h Hello) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, hvrHeaderLen)...)
	putVerifyRequest(dst[start:], h, Len)
	j.mu.Lock()
	defer j.mu.Unlock()
	j.rotateLocked()
	dst = append(dst, Magic...)
	dst = append(dst, j.gen)
	return append(dst, j.macLocked(j.macs[0], src, b, h)...)
}

// Valid reports whether a ClientHello carries the cookie Make gave it
// for src, under the current or the previous key.
func (j *Jar) Valid(src, b []byte, h Hello) bool {
	c := h.Cookie
	if len(c) != Len || string(c[:len(Magic)]) != Magic {
		return false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.rotateLocked()
	var m hash.Hash
	switch c[len(Magic)] {
	case j.gen:
		m = j.macs[0]
	case j.gen - 1:
		m = j.macs[1]
	}
	if m == nil {
		return false
	}
	return hmac.Equal(c[len(Magic)+1:], j.macLocked(m, src, b, h))
}

// Client hides our cookie exchange from a client's DTLS stack (see the
// package comment): Outgoing and Incoming see every datagram it writes
// and reads during the handshake. Safe for concurrent use.
type Client struct {
	mu     sync.Mutex
	hello  []byte // the first ClientHello, as the stack wrote it
	cookie []byte // the server's cookie, once it sent one
}

// Outgoing returns what to send for datagram p: p itself, or, once the
// server sent a cookie, the first ClientHello's retransmission with the
// cookie in.
func (c *Client) Outgoing(p []byte) []byte {
	if !IsClientHello(p) {
		return p
	}
	h, err := Parse(p)
	if err != nil || h.MsgSeq != 0 || len(h.Cookie) != 0 {
		return p
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hello = bytes.Clone(p)
	if c.cookie != nil {
		return Splice(p, h, c.cookie)
	}
	return p
}

// Waiting returns the first ClientHello while no cookie came, nil before
// the stack wrote one and once a cookie came.
func (c *Client) Waiting() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cookie != nil {
		return nil
	}
	return c.hello
}

// Incoming looks at a datagram from the server. If it is our
// HelloVerifyRequest, it keeps the cookie, returns the first ClientHello
// with the cookie in to send at once (nil if there is none yet), and
// handled; the datagram must not reach the DTLS stack.
func (c *Client) Incoming(b []byte) (resend []byte, handled bool) {
	cookie, ok := OurCookie(b)
	if !ok {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cookie = bytes.Clone(cookie)
	if c.hello == nil {
		return nil, true
	}
	h, err := Parse(c.hello)
	if err != nil {
		return nil, true
	}
	return Splice(c.hello, h, c.cookie), true
}

// ClientConn is a client's net.PacketConn with Client on it, for a DTLS
// client that has its own socket (the join command's).
type ClientConn struct {
	net.PacketConn
	c Client
}

// NewClientConn wraps pc.
func NewClientConn(pc net.PacketConn) *ClientConn { return &ClientConn{PacketConn: pc} }

func (cc *ClientConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if _, err := cc.PacketConn.WriteTo(cc.c.Outgoing(p), addr); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (cc *ClientConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := cc.PacketConn.ReadFrom(p)
		if err != nil {
			return n, addr, err
		}
		resend, handled := cc.c.Incoming(p[:n])
		if !handled {
			return n, addr, nil
		}
		if resend != nil {
			if _, err := cc.PacketConn.WriteTo(resend, addr); err != nil {
				return 0, nil, err
			}
		}
	}
}
