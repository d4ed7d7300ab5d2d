package relay

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net/netip"
	"time"
)

// STUN/TURN message types and attributes used here (RFC 5389, RFC 8656).
const (
	hdrLen = 20
	cookie = 0x2112A442

	mAllocate       = 0x0003
	mRefresh        = 0x0004
	mCreatePerm     = 0x0008
	mSendIndication = 0x0016
	mDataIndication = 0x0017
	classSuccess    = 0x0100
	classError      = 0x0110
	classMask       = 0x0110
	aUsername       = 0x0006
	aIntegrity      = 0x0008
	aErrorCode      = 0x0009
	aLifetime       = 0x000D
	aXORPeer        = 0x0012
	aData           = 0x0013
	aRealm          = 0x0014
	aNonce          = 0x0015
	aXORRelayed     = 0x0016
	aReqTransport   = 0x0019
	aXORMapped      = 0x0020
	aFingerprint    = 0x8028
	fingerprintXOR  = 0x5354554e
	protoUDP        = 17
	integrityLen    = 20
	defaultLifetime = 600 * time.Second
	permissionLife  = 300 * time.Second // RFC 8656 section 9
	retransmitEvery = 500 * time.Millisecond
	maxRetransmits  = 7
)

// TURN errors.
var (
	ErrNotTURN   = errors.New("relay: not a TURN message for this client")
	ErrTURNError = errors.New("relay: TURN server refused")
)

// TURNConfig is a TURN server and long-term credentials.
type TURNConfig struct {
	Server   netip.AddrPort
	Username string
	Password string
}

// TURN is a client's state for one allocation. Not safe for concurrent
// use: the transport's timer and reader call it under its own lock.
type TURN struct {
	cfg     TURNConfig
	realm   string
	nonce   string
	key     []byte
	relayed netip.AddrPort // our relayed address, once allocated
	mapped  netip.AddrPort
	expires time.Time
	perms   map[netip.Addr]time.Time // peer IP -> when the permission lapses
	pending map[[12]byte]*transaction
	lastErr error
}

type transaction struct {
	method uint16
	msg    []byte // last sent
	sent   time.Time
	tries  int
	peers  []netip.Addr // CreatePermission
	authed bool
}

// NewTURN makes a client; Tick starts the allocation.
func NewTURN(cfg TURNConfig) *TURN {
	return &TURN{cfg: cfg, perms: map[netip.Addr]time.Time{}, pending: map[[12]byte]*transaction{}}
}

// Server is the TURN server's address: datagrams from it go to Handle.
func (c *TURN) Server() netip.AddrPort { return c.cfg.Server }

// Relayed returns the relayed address once allocated.
func (c *TURN) Relayed() (netip.AddrPort, bool) { return c.relayed, c.relayed.IsValid() }

// Err is the last error the server reported, for status and logs.
func (c *TURN) Err() error { return c.lastErr }

// Permit asks for permission for a peer IP to send to our relayed address.
func (c *TURN) Permit(ip netip.Addr) {
	ip = ip.Unmap()
	if _, ok := c.perms[ip]; !ok {
		c.perms[ip] = time.Time{} // due now
	}
}

// Tick returns the messages due at now: the allocation, its refresh,
// permissions to create or refresh, and retransmissions.
func (c *TURN) Tick(now time.Time) [][]byte {
	var out [][]byte
	for id, tr := range c.pending {
		if now.Sub(tr.sent) < retransmitEvery<<min(tr.tries, 4) {
			continue
		}
		if tr.tries >= maxRetransmits {
			delete(c.pending, id)
			c.lastErr = fmt.Errorf("TURN server %s does not answer", c.cfg.Server)
			if tr.method == mAllocate {
				c.relayed = netip.AddrPort{}
			}
			continue
		}
		tr.tries++
		tr.sent = now
		out = append(out, tr.msg)
	}
	if c.busy(mAllocate) || c.busy(mRefresh) {
		return out
	}
	switch {
	case !c.relayed.IsValid():
		out = append(out, c.request(mAllocate, now, nil))
	case now.After(c.expires.Add(-c.lifetimeMargin())):
		out = append(out, c.request(mRefresh, now, nil))
	}
	if c.relayed.IsValid() && !c.busy(mCreatePerm) {
		var due []netip.Addr
		for ip, until := range c.perms {
			if now.After(until.Add(-permissionLife / 5)) {
				due = append(due, ip)
			}
		}
		if len(due) > 0 {
			out = append(out, c.request(mCreatePerm, now, due))
		}
	}
	return out
}

func (c *TURN) lifetimeMargin() time.Duration { return 60 * time.Second }

func (c *TURN) busy(method uint16) bool {
	for _, tr := range c.pending {
		if tr.method == method {
			return true
		}
	}
	return false
}

// request builds and records a request.
func (c *TURN) request(method uint16, now time.Time, peers []netip.Addr) []byte {
	var id [12]byte
	if _, err := rand.Read(id[:]); err != nil {
		panic(err)
	}
	m := newMsg(method, id)
	switch method {
	case mAllocate:
		m.attr(aReqTransport, []byte{protoUDP, 0, 0, 0})
	case mRefresh:
		m.attr(aLifetime, binary.BigEndian.AppendUint32(nil, uint32(defaultLifetime/time.Second)))
	case mCreatePerm:
		for _, p := range peers {
			m.attr(aXORPeer, xorAddr(netip.AddrPortFrom(p, 0), id))
		}
	}
	authed := c.key != nil
	if authed {
		m.attr(aUsername, []byte(c.cfg.Username))
		m.attr(aRealm, []byte(c.realm))
		m.attr(aNonce, []byte(c.nonce))
		m.integrity(c.key)
	}
	m.fingerprint()
	c.pending[id] = &transaction{method: method, msg: m.b, sent: now, peers: peers, authed: authed}
	return m.b
}

// Handle takes a message from the TURN server. For a Data indication it
// returns the peer and the datagram it carries (aliasing b); responses
// update the allocation and may produce messages to send at once.
func (c *TURN) Handle(b []byte, now time.Time) (peer netip.AddrPort, data []byte, send [][]byte, err error) {
	typ, id, attrs, ok := parse(b)
	if !ok {
		return peer, nil, nil, ErrNotTURN
	}
	if typ == mDataIndication {
		var p netip.AddrPort
		for a := range eachAttr(attrs) {
			switch a.t {
			case aXORPeer:
				p, _ = unxorAddr(a.v, id)
			case aData:
				data = a.v
			}
		}
		if !p.IsValid() || data == nil {
			return peer, nil, nil, ErrNotTURN
		}
		return p, data, nil, nil
	}
	tr, ok := c.pending[id]
	if !ok || typ&^classMask != tr.method {
		return peer, nil, nil, ErrNotTURN
	}
	delete(c.pending, id)
	if tr.authed && !checkIntegrity(b, c.key) {
		return peer, nil, nil, fmt.Errorf("%w: response without valid MESSAGE-INTEGRITY", ErrNotTURN)
	}
	switch typ & classMask {
	case classSuccess:
		c.lastErr = nil
		switch tr.method {
		case mAllocate, mRefresh:
			life := defaultLifetime
			for a := range eachAttr(attrs) {
				switch a.t {
				case aXORRelayed:
					c.relayed, _ = unxorAddr(a.v, id)
				case aXORMapped:
					c.mapped, _ = unxorAddr(a.v, id)
				case aLifetime:
					if len(a.v) == 4 {
						life = time.Duration(binary.BigEndian.Uint32(a.v)) * time.Second
					}
				}
			}
			c.expires = now.Add(life)
			if tr.method == mAllocate {
				// Permissions die with the old allocation.
				for ip := range c.perms {
					c.perms[ip] = time.Time{}
				}
			}
		case mCreatePerm:
			for _, p := range tr.peers {
				c.perms[p] = now.Add(permissionLife)
			}
		}
		return peer, nil, nil, nil
	case classError:
		code, reason := 0, ""
		for a := range eachAttr(attrs) {
			switch a.t {
			case aErrorCode:
				if len(a.v) >= 4 {
					code = int(a.v[2]&7)*100 + int(a.v[3])
					reason = string(a.v[4:])
				}
			case aRealm:
				c.realm = string(a.v)
			case aNonce:
				c.nonce = string(a.v)
			}
		}
		switch {
		case (code == 401 && !tr.authed) || code == 438:
			// Unauthenticated first try, or a stale nonce: again with
			// credentials.
			k := md5.Sum([]byte(c.cfg.Username + ":" + c.realm + ":" + c.cfg.Password))
			c.key = k[:]
			return peer, nil, [][]byte{c.request(tr.method, now, tr.peers)}, nil
		case code == 437 && tr.method == mAllocate:
			// Allocation mismatch: one exists from before a restart; it
			// lapses, retry later.
		}
		if tr.method == mRefresh || code == 437 {
			c.relayed = netip.AddrPort{}
		}
		c.lastErr = fmt.Errorf("%w: %d %s", ErrTURNError, code, reason)
		return peer, nil, nil, c.lastErr
	}
	return peer, nil, nil, ErrNotTURN
}

// Send wraps a datagram for a peer in a Send indication. The caller needs
// a permission for the peer's IP (Permit) for the server to relay it.
func (c *TURN) Send(peer netip.AddrPort, data []byte) []byte {
	var id [12]byte
	_, _ = rand.Read(id[:])
	m := newMsg(mSendIndication, id)
	m.attr(aXORPeer, xorAddr(peer, id))
	m.attr(aData, data)
	return m.b
}

// msg builds one STUN message.
type msg struct{ b []byte }

func newMsg(typ uint16, id [12]byte) *msg {
	b := make([]byte, hdrLen, 256)
	binary.BigEndian.PutUint16(b, typ)
	binary.BigEndian.PutUint32(b[4:], cookie)
	copy(b[8:], id[:])
	return &msg{b: b}
}

func (m *msg) setLen(n int) { binary.BigEndian.PutUint16(m.b[2:], uint16(n)) }

func (m *msg) attr(t uint16, v []byte) {
	m.b = binary.BigEndian.AppendUint16(m.b, t)
	m.b = binary.BigEndian.AppendUint16(m.b, uint16(len(v)))
	m.b = append(m.b, v...)
	for len(m.b)%4 != 0 {
		m.b = append(m.b, 0)
	}
	m.setLen(len(m.b) - hdrLen)
}

// integrity appends MESSAGE-INTEGRITY: HMAC-SHA1 over the message with the
// length field already counting the attribute (RFC 5389 section 15.4).
func (m *msg) integrity(key []byte) {
	m.setLen(len(m.b) - hdrLen + 4 + integrityLen)
	h := hmac.New(sha1.New, key)
	h.Write(m.b)
	m.attr(aIntegrity, h.Sum(nil))
}

func (m *msg) fingerprint() {
	m.setLen(len(m.b) - hdrLen + 8)
	crc := crc32.ChecksumIEEE(m.b) ^ fingerprintXOR
	m.attr(aFingerprint, binary.BigEndian.AppendUint32(nil, crc))
}

// checkIntegrity verifies a response's MESSAGE-INTEGRITY with key.
func checkIntegrity(b, key []byte) bool {
	off := hdrLen
	for off+4 <= len(b) {
		t := binary.BigEndian.Uint16(b[off:])
		n := int(binary.BigEndian.Uint16(b[off+2:]))
		if off+4+n > len(b) {
			return false
		}
		if t == aIntegrity && n == integrityLen {
			tmp := append([]byte(nil), b[:off]...)
			binary.BigEndian.PutUint16(tmp[2:], uint16(off-hdrLen+4+integrityLen))
			h := hmac.New(sha1.New, key)
			h.Write(tmp)
			return hmac.Equal(h.Sum(nil), b[off+4:off+4+n])
		}
		off += 4 + (n+3)&^3
	}
	return false
}

// parse checks a STUN header: type, transaction id, attributes.
func parse(b []byte) (typ uint16, id [12]byte, attrs []byte, ok bool) {
	if len(b) < hdrLen || b[0]&0xc0 != 0 || binary.BigEndian.Uint32(b[4:]) != cookie {
		return 0, id, nil, false
	}
	n := int(binary.BigEndian.Uint16(b[2:]))
	if n%4 != 0 || hdrLen+n > len(b) {
		return 0, id, nil, false
	}
	copy(id[:], b[8:hdrLen])
	return binary.BigEndian.Uint16(b), id, b[hdrLen : hdrLen+n], true
}

type attr struct {
	t uint16
	v []byte
}

// eachAttr iterates attributes; it stops at the first malformed one.
func eachAttr(b []byte) func(func(attr) bool) {
	return func(yield func(attr) bool) {
		for len(b) >= 4 {
			t := binary.BigEndian.Uint16(b)
			n := int(binary.BigEndian.Uint16(b[2:]))
			if 4+n > len(b) {
				return
			}
			if !yield(attr{t, b[4 : 4+n]}) {
				return
			}
			b = b[min(len(b), 4+(n+3)&^3):]
		}
	}
}

func xorAddr(a netip.AddrPort, id [12]byte) []byte {
	ip := a.Addr().Unmap()
	family := byte(1)
	if ip.Is6() {
		family = 2
	}
	v := []byte{0, family}
	v = binary.BigEndian.AppendUint16(v, a.Port()^uint16(cookie>>16))
	key := binary.BigEndian.AppendUint32(nil, cookie)
	key = append(key, id[:]...)
	raw := ip.AsSlice()
	for i := range raw {
		raw[i] ^= key[i]
	}
	return append(v, raw...)
}

func unxorAddr(v []byte, id [12]byte) (netip.AddrPort, bool) {
	if len(v) < 4 {
		return netip.AddrPort{}, false
	}
	n := map[byte]int{1: 4, 2: 16}[v[1]]
	if n == 0 || len(v) < 4+n {
		return netip.AddrPort{}, false
	}
	key := binary.BigEndian.AppendUint32(nil, cookie)
	key = append(key, id[:]...)
	raw := append([]byte(nil), v[4:4+n]...)
	for i := range raw {
		raw[i] ^= key[i]
	}
	ip, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(ip.Unmap(), binary.BigEndian.Uint16(v[2:])^uint16(cookie>>16)), true
}
