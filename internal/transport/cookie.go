package transport

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
	"sync"
	"time"
)

// Stateless DTLS cookies (RFC 6347 section 4.2.1), answered by the
// transport before a ClientHello may cost any per-source state: a
// ClientHello without a valid cookie gets a HelloVerifyRequest, built and
// checked here from a keyed MAC alone; only a ClientHello that carries one
// proves its source address and gets a vconn and a pion handshake.
//
// pion/dtls cannot take over after a stateless exchange: its server reads
// the handshake from message_seq 0 and numbers its own messages from 0,
// while a client that answered a HelloVerifyRequest is at message_seq 1
// and expects the ServerHello at 1 (and message_seq is in the Finished
// transcript, so renumbering on the way is not an option). So ipopd's
// client hides the exchange from its pion: vconn.deliver takes our
// HelloVerifyRequest (told apart by cookieMagic) and vconn.WriteTo puts
// the cookie into the unchanged first ClientHello (still message_seq 0).
// The server checks the cookie, takes it out again, and hands pion
// (InsecureSkipVerifyHello) the very bytes the client's pion sent. Both
// transcripts hold the same ClientHello, and the whole handshake costs
// one round trip more than without cookies, as with pion's own.
//
// A client that answers the standard way (a stock DTLS stack or an older
// ipopd: the cookie in a second ClientHello, message_seq 1) has proved its
// address all the same: it is refused with an alert and remembered for a
// while (see provenTTL), and its next attempt gets pion's own, stateful
// cookie exchange.

// Cookie layout: cookieMagic, the key generation, then the MAC truncated.
const (
	cookieMagic  = "ipop"
	cookieMACLen = 19
	cookieLen    = len(cookieMagic) + 1 + cookieMACLen // 24, unlike pion's 20
	// cookieRotate is how often the cookie key changes. A cookie stays good
	// until the key after next: at least one rotation, at most two.
	cookieRotate = time.Minute
)

// helloInfo is what the demultiplexer needs from a ClientHello.
type helloInfo struct {
	msgSeq    uint16
	recSeq    [6]byte // record sequence number, echoed in our replies
	cookieOff int     // offset of the cookie's length byte in the datagram
	cookie    []byte
	// endParams is the end of compression_methods: the MAC covers
	// [bodyStart, cookieOff) and [cookieOff+1+len(cookie), endParams).
	endParams int
}

const (
	hsHeaderLen     = 12
	hsTypeHVR       = 3
	helloBodyOff    = dtlsHeaderLen + hsHeaderLen
	helloSessionOff = helloBodyOff + 2 + 32 // after client_version and random
)

var errBadHello = errors.New("malformed ClientHello")

// maxHelloLen bounds the ClientHellos we take: ours are about 200 bytes;
// bigger ones would come in fragments, which no stack we serve sends.
const maxHelloLen = 2048

// parseClientHello reads a datagram that must be exactly one epoch-0
// record holding one whole, unfragmented ClientHello: what every DTLS
// stack sends (a ClientHello is far below any MTU). Anything else is
// refused; the demultiplexer drops it.
func parseClientHello(b []byte) (helloInfo, error) {
	var h helloInfo
	if !isClientHello(b) || len(b) < helloSessionOff+1 || len(b) > maxHelloLen {
		return h, errBadHello
	}
	recLen := int(binary.BigEndian.Uint16(b[11:13]))
	if dtlsHeaderLen+recLen != len(b) {
		return h, errBadHello
	}
	hs := b[dtlsHeaderLen:]
	msgLen := int(hs[1])<<16 | int(hs[2])<<8 | int(hs[3])
	fragOff := int(hs[6])<<16 | int(hs[7])<<8 | int(hs[8])
	fragLen := int(hs[9])<<16 | int(hs[10])<<8 | int(hs[11])
	if fragOff != 0 || fragLen != msgLen || hsHeaderLen+msgLen != recLen {
		return h, errBadHello
	}
	h.msgSeq = binary.BigEndian.Uint16(hs[4:6])
	copy(h.recSeq[:], b[5:11])
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
		return h, errBadHello
	}
	co, ok := next(1) // cookie
	if !ok {
		return h, errBadHello
	}
	h.cookieOff = co
	h.cookie = b[co+1 : off]
	cs, ok := next(2) // cipher_suites
	if !ok || binary.BigEndian.Uint16(b[cs:]) < 2 || binary.BigEndian.Uint16(b[cs:])%2 != 0 {
		return h, errBadHello
	}
	cm, ok := next(1) // compression_methods
	if !ok || b[cm] < 1 {
		return h, errBadHello
	}
	h.endParams = off
	if off < len(b) { // extensions, if any, must fill the rest exactly
		if _, ok := next(2); !ok || off != len(b) {
			return h, errBadHello
		}
	}
	return h, nil
}

// spliceCookie returns a copy of a cookie-less ClientHello datagram with
// cookie put in (and the record and handshake lengths grown to match).
func spliceCookie(b []byte, h helloInfo, cookie []byte) []byte {
	out := make([]byte, 0, len(b)+len(cookie))
	out = append(out, b[:h.cookieOff]...)
	out = append(out, byte(len(cookie)))
	out = append(out, cookie...)
	out = append(out, b[h.cookieOff+1+len(h.cookie):]...)
	resizeHello(out, len(cookie)-len(h.cookie))
	return out
}

// stripCookie returns a copy of a ClientHello datagram without its cookie:
// for one spliceCookie made, the bytes the client's DTLS stack sent.
func stripCookie(b []byte, h helloInfo) []byte {
	out := make([]byte, 0, len(b)-len(h.cookie))
	out = append(out, b[:h.cookieOff]...)
	out = append(out, 0)
	out = append(out, b[h.cookieOff+1+len(h.cookie):]...)
	resizeHello(out, -len(h.cookie))
	return out
}

// resizeHello adds d to the record length, the handshake length and the
// fragment length of a one-record ClientHello.
func resizeHello(b []byte, d int) {
	binary.BigEndian.PutUint16(b[11:13], uint16(int(binary.BigEndian.Uint16(b[11:13]))+d))
	for _, o := range []int{dtlsHeaderLen + 1, dtlsHeaderLen + 9} {
		n := int(b[o])<<16 | int(b[o+1])<<8 | int(b[o+2]) + d
		b[o], b[o+1], b[o+2] = byte(n>>16), byte(n>>8), byte(n)
	}
}

// helloVerifyRequest builds our HelloVerifyRequest for a ClientHello: a
// 52-byte datagram, smaller than any ClientHello, so answering spoofed
// ones amplifies nothing.
func helloVerifyRequest(h helloInfo, cookie []byte) []byte {
	bodyLen := 2 + 1 + len(cookie)
	b := make([]byte, dtlsHeaderLen+hsHeaderLen+bodyLen)
	b[0] = dtlsContentHandshake
	b[1], b[2] = 0xfe, 0xfd    // DTLS 1.2 record
	copy(b[5:11], h.recSeq[:]) // RFC 6347 4.2.1: echo the record sequence number
	binary.BigEndian.PutUint16(b[11:13], uint16(hsHeaderLen+bodyLen))
	hs := b[dtlsHeaderLen:]
	hs[0] = hsTypeHVR
	hs[3] = byte(bodyLen) // length (message_seq 0, fragment_offset 0)
	hs[11] = byte(bodyLen)
	hs[12], hs[13] = 0xfe, 0xff // server_version DTLS 1.0, as the RFC asks
	hs[14] = byte(len(cookie))
	copy(hs[15:], cookie)
	return b
}

// ourHVRCookie returns the cookie of a datagram that is one of our
// HelloVerifyRequests (a HelloVerifyRequest with a cookieMagic cookie);
// pion's own, from an older ipopd, do not match.
func ourHVRCookie(b []byte) ([]byte, bool) {
	const n = dtlsHeaderLen + hsHeaderLen + 3 + cookieLen
	if len(b) != n || b[0] != dtlsContentHandshake || b[dtlsHeaderLen] != hsTypeHVR ||
		int(b[dtlsHeaderLen+hsHeaderLen+2]) != cookieLen {
		return nil, false
	}
	c := b[dtlsHeaderLen+hsHeaderLen+3:]
	if string(c[:len(cookieMagic)]) != cookieMagic {
		return nil, false
	}
	return c, true
}

// handshakeFailureAlert is a fatal handshake_failure alert at epoch 0: it
// ends a stock client's attempt at once (see the package comment above).
func handshakeFailureAlert(h helloInfo) []byte {
	b := []byte{21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 40}
	copy(b[5:11], h.recSeq[:])
	return b
}

// cookieJar holds the rotating cookie keys. Its methods run on the socket
// reader; the lock is for tests and costs nothing uncontended. The MACs
// are kept and reset, so a cookie costs no allocation.
type cookieJar struct {
	mu      sync.Mutex
	now     func() time.Time
	gen     uint8        // generation of macs[0]
	macs    [2]hash.Hash // current, previous (nil until the first rotation)
	rotated time.Time
	sum     [sha256.Size]byte
}

func newCookieJar(now func() time.Time) *cookieJar {
	j := &cookieJar{now: now}
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

func (j *cookieJar) rotateLocked() {
	now := j.now()
	if now.Sub(j.rotated) < cookieRotate {
		return
	}
	if now.Sub(j.rotated) >= 2*cookieRotate {
		j.macs[1] = nil // both keys are stale
	} else {
		j.macs[1] = j.macs[0]
	}
	j.macs[0] = newCookieMAC()
	j.gen++
	j.rotated = now
}

// macLocked computes the cookie MAC over the source path and the
// ClientHello's parameters (version, random, session id, cipher suites,
// compression): a cookie is good for one hello from one place.
func (j *cookieJar) macLocked(m hash.Hash, from pathKey, b []byte, h helloInfo) []byte {
	m.Reset()
	var k [16 + 2 + 8 + 1]byte
	a := from.addr.Addr().As16()
	copy(k[:], a[:])
	binary.BigEndian.PutUint16(k[16:], from.addr.Port())
	binary.BigEndian.PutUint64(k[18:], from.peer)
	if from.turn {
		k[26] = 1
	}
	m.Write(k[:])
	m.Write(b[helloBodyOff:h.cookieOff])
	m.Write(b[h.cookieOff+1+len(h.cookie) : h.endParams])
	return m.Sum(j.sum[:0])[:cookieMACLen]
}

// make returns the cookie for a ClientHello from a path.
func (j *cookieJar) make(from pathKey, b []byte, h helloInfo) []byte {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.rotateLocked()
	c := make([]byte, 0, cookieLen)
	c = append(c, cookieMagic...)
	c = append(c, j.gen)
	return append(c, j.macLocked(j.macs[0], from, b, h)...)
}

// valid reports whether a ClientHello carries the cookie we gave its path
// under the current or the previous key.
func (j *cookieJar) valid(from pathKey, b []byte, h helloInfo) bool {
	c := h.cookie
	if len(c) != cookieLen || string(c[:len(cookieMagic)]) != cookieMagic {
		return false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.rotateLocked()
	var m hash.Hash
	switch c[len(cookieMagic)] {
	case j.gen:
		m = j.macs[0]
	case j.gen - 1:
		m = j.macs[1]
	}
	if m == nil {
		return false
	}
	return hmac.Equal(c[len(cookieMagic)+1:], j.macLocked(m, from, b, h))
}
