package relay

import (
	"crypto/md5"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
)

// fakeServer answers a TURN client like coturn does, enough for the
// client's state machine: 401 with realm and nonce to an unauthenticated
// request, success with a relayed address to an authenticated one (whose
// MESSAGE-INTEGRITY it checks), and Data indications.
type fakeServer struct {
	t       *testing.T
	key     []byte
	relayed netip.AddrPort
	perms   int
}

func (s *fakeServer) answer(req []byte) []byte {
	s.t.Helper()
	typ, id, attrs, ok := parse(req)
	if !ok {
		s.t.Fatalf("client sent a malformed message %x", req)
	}
	authed := false
	for a := range eachAttr(attrs) {
		if a.t == aIntegrity {
			authed = true
		}
	}
	if authed && !checkIntegrity(req, s.key) {
		s.t.Fatal("client's MESSAGE-INTEGRITY does not verify")
	}
	var m *msg
	switch {
	case !authed:
		m = newMsg(typ|classError, id)
		m.attr(aErrorCode, append([]byte{0, 0, 4, 1}, "Unauthorized"...))
		m.attr(aRealm, []byte("ipop"))
		m.attr(aNonce, []byte("n0nce"))
		return m.b
	case typ == mAllocate:
		m = newMsg(typ|classSuccess, id)
		m.attr(aXORRelayed, xorAddr(s.relayed, id))
		m.attr(aXORMapped, xorAddr(netip.MustParseAddrPort("203.0.113.5:40000"), id))
		m.attr(aLifetime, binary.BigEndian.AppendUint32(nil, 600))
	case typ == mCreatePerm:
		s.perms++
		m = newMsg(typ|classSuccess, id)
	case typ == mRefresh:
		m = newMsg(typ|classSuccess, id)
		m.attr(aLifetime, binary.BigEndian.AppendUint32(nil, 600))
	default:
		s.t.Fatalf("unexpected request type %#x", typ)
	}
	m.integrity(s.key)
	m.fingerprint()
	return m.b
}

func TestTURNAllocatePermitSendReceive(t *testing.T) {
	k := md5.Sum([]byte("ipop:ipop:s3cret"))
	srv := &fakeServer{t: t, key: k[:], relayed: netip.MustParseAddrPort("198.51.100.1:50001")}
	c := NewTURN(TURNConfig{Server: netip.MustParseAddrPort("198.51.100.1:3478"), Username: "ipop", Password: "s3cret"})
	now := time.Unix(1000, 0)
	c.Permit(netip.MustParseAddr("203.0.113.9"))
	// Allocate: 401, then with credentials, then success.
	out := c.Tick(now)
	if len(out) != 1 {
		t.Fatalf("first tick sent %d messages", len(out))
	}
	_, _, again, err := c.Handle(srv.answer(out[0]), now)
	if err != nil || len(again) != 1 {
		t.Fatalf("401 handling: %v, %d messages", err, len(again))
	}
	if _, _, _, err := c.Handle(srv.answer(again[0]), now); err != nil {
		t.Fatal(err)
	}
	if r, ok := c.Relayed(); !ok || r != srv.relayed {
		t.Fatalf("relayed %v %v", r, ok)
	}
	// The permission goes out on the next tick.
	out = c.Tick(now.Add(time.Second))
	if len(out) != 1 {
		t.Fatalf("permission tick sent %d messages", len(out))
	}
	c.Handle(srv.answer(out[0]), now.Add(time.Second))
	if srv.perms != 1 {
		t.Fatal("no CreatePermission")
	}
	if out := c.Tick(now.Add(2 * time.Second)); len(out) != 0 {
		t.Fatalf("idle tick sent %d messages", len(out))
	}
	// Refresh before the lifetime ends.
	if out := c.Tick(now.Add(560 * time.Second)); len(out) == 0 {
		t.Fatal("no refresh near the end of the lifetime")
	}
	// A Send indication carries the data to the peer.
	peer := netip.MustParseAddrPort("203.0.113.9:6464")
	sent := c.Send(peer, []byte("hello"))
	typ, id, attrs, ok := parse(sent)
	if !ok || typ != mSendIndication {
		t.Fatalf("send indication %x", sent)
	}
	var gotPeer netip.AddrPort
	var data []byte
	for a := range eachAttr(attrs) {
		switch a.t {
		case aXORPeer:
			gotPeer, _ = unxorAddr(a.v, id)
		case aData:
			data = a.v
		}
	}
	if gotPeer != peer || string(data) != "hello" {
		t.Fatalf("send indication to %v with %q", gotPeer, data)
	}
	// A Data indication from the server is unwrapped.
	var did [12]byte
	did[0] = 7
	m := newMsg(mDataIndication, did)
	m.attr(aXORPeer, xorAddr(peer, did))
	m.attr(aData, []byte("world"))
	p, d, _, err := c.Handle(m.b, now)
	if err != nil || p != peer || string(d) != "world" {
		t.Fatalf("data indication: %v %q %v", p, d, err)
	}
}

func TestTURNRefusesForgedResponses(t *testing.T) {
	c := NewTURN(TURNConfig{Server: netip.MustParseAddrPort("198.51.100.1:3478"), Username: "u", Password: "p"})
	now := time.Unix(1000, 0)
	out := c.Tick(now)
	_, id, _, _ := parse(out[0])
	// A success for a transaction we never started is ignored.
	var other [12]byte
	m := newMsg(mAllocate|classSuccess, other)
	if _, _, _, err := c.Handle(m.b, now); err == nil {
		t.Fatal("accepted a response to no request")
	}
	// After the 401, an authenticated request must get an authenticated
	// answer: a response without integrity is refused.
	e := newMsg(mAllocate|classError, id)
	e.attr(aErrorCode, append([]byte{0, 0, 4, 1}, "Unauthorized"...))
	e.attr(aRealm, []byte("r"))
	e.attr(aNonce, []byte("n"))
	_, _, again, _ := c.Handle(e.b, now)
	_, id2, _, _ := parse(again[0])
	forged := newMsg(mAllocate|classSuccess, id2)
	forged.attr(aXORRelayed, xorAddr(netip.MustParseAddrPort("6.6.6.6:6"), id2))
	if _, _, _, err := c.Handle(forged.b, now); err == nil {
		t.Fatal("accepted an unauthenticated success")
	}
	if _, ok := c.Relayed(); ok {
		t.Fatal("forged allocation taken")
	}
}

func FuzzTURNHandle(f *testing.F) {
	var id [12]byte
	m := newMsg(mDataIndication, id)
	m.attr(aXORPeer, xorAddr(netip.MustParseAddrPort("1.2.3.4:5"), id))
	m.attr(aData, []byte("x"))
	f.Add(m.b)
	e := newMsg(mAllocate|classError, id)
	e.attr(aErrorCode, []byte{0, 0, 4, 1})
	f.Add(e.b)
	f.Add([]byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42})
	f.Fuzz(func(t *testing.T, b []byte) {
		c := NewTURN(TURNConfig{Server: netip.MustParseAddrPort("198.51.100.1:3478"), Username: "u", Password: "p"})
		c.Tick(time.Unix(0, 0))
		c.Handle(b, time.Unix(1, 0))
	})
}
