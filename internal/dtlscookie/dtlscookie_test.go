package dtlscookie

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"math/big"
	"net/netip"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/dtlscookie/hellotest"
)

// src is a test source: an address's bytes.
func src(ap string) []byte {
	a := netip.MustParseAddrPort(ap)
	b, _ := a.MarshalBinary()
	return b
}

func selfSigned(t testing.TB) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "a"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// pionHello returns the first ClientHello a pion client with a
// self-signed certificate sends.
func pionHello(t testing.TB) []byte { return hellotest.PionHello(t, selfSigned(t)) }

func TestParseClientHello(t *testing.T) {
	hello := pionHello(t)
	h, err := Parse(hello)
	if err != nil {
		t.Fatalf("pion's ClientHello: %v", err)
	}
	if h.MsgSeq != 0 || len(h.Cookie) != 0 {
		t.Fatalf("first hello: seq %d, cookie %x", h.MsgSeq, h.Cookie)
	}
	cookie := bytes.Repeat([]byte{7}, Len)
	with := Splice(hello, h, cookie)
	h2, err := Parse(with)
	if err != nil || !bytes.Equal(h2.Cookie, cookie) {
		t.Fatalf("spliced: %v, cookie %x", err, h2.Cookie)
	}
	if back := Strip(with, h2); !bytes.Equal(back, hello) {
		t.Fatal("strip(splice(hello)) is not the hello")
	}
	for _, tc := range []struct {
		name string
		mod  func([]byte) []byte
	}{
		{"truncated", func(b []byte) []byte { return b[:len(b)-1] }},
		{"trailing byte", func(b []byte) []byte { return append(b, 0) }},
		{"fragment", func(b []byte) []byte { b[recordHeaderLen+8] = 1; return b }},
		{"session id too long", func(b []byte) []byte { b[helloSessionOff] = 33; return b }},
		{"cookie past the end", func(b []byte) []byte { b[h.cookieOff] = 255; return b }},
		{"odd cipher suites", func(b []byte) []byte {
			o := h.cookieOff + 1
			binary.BigEndian.PutUint16(b[o:], binary.BigEndian.Uint16(b[o:])+1)
			return b
		}},
		{"epoch 1", func(b []byte) []byte { b[3+1] = 1; return b }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse(tc.mod(bytes.Clone(hello))); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestCookie(t *testing.T) {
	hello := pionHello(t)
	other := pionHello(t) // another random
	now := time.Unix(1e9, 0)
	jar := NewJar(func() time.Time { return now })
	from := src("192.0.2.1:6464")
	h, _ := Parse(hello)
	withCookie := func(b []byte, c []byte) ([]byte, Hello) {
		h, _ := Parse(b)
		out := Splice(b, h, c)
		h2, _ := Parse(out)
		return out, h2
	}
	good := jar.Make(from, hello, h)
	if len(good) != Len || !bytes.Equal(good, jar.Make(from, hello, h)) {
		t.Fatalf("cookie %x: not %d bytes or not stable", good, Len)
	}
	hvr := VerifyRequest(h, good)
	if c, ok := OurCookie(hvr); !ok || !bytes.Equal(c, good) {
		t.Fatal("our HelloVerifyRequest not recognised")
	}
	if len(hvr) >= len(hello) {
		t.Errorf("HelloVerifyRequest of %d bytes for a hello of %d: amplifies", len(hvr), len(hello))
	}
	tamper := func(i int) func([]byte) []byte {
		return func(c []byte) []byte { c = bytes.Clone(c); c[i] ^= 1; return c }
	}
	same := func(c []byte) []byte { return c }
	for _, tc := range []struct {
		name    string
		hello   []byte
		cookie  func([]byte) []byte
		from    []byte
		advance time.Duration
		ok      bool
	}{
		{"valid", hello, same, from, 0, true},
		{"previous key", hello, same, from, Rotate + time.Second, true},
		{"expired key", hello, same, from, 2*Rotate + time.Second, false},
		{"other port", hello, same, src("192.0.2.1:6465"), 0, false},
		{"other address", hello, same, src("192.0.2.2:6464"), 0, false},
		{"relayed", hello, same, append(src("192.0.2.1:6464"), 1), 0, false},
		{"other hello", other, same, from, 0, false},
		{"tampered MAC", hello, tamper(Len - 1), from, 0, false},
		{"tampered generation", hello, tamper(len(Magic)), from, 0, false},
		{"tampered magic", hello, tamper(0), from, 0, false},
		{"short", hello, func(c []byte) []byte { return c[:Len-1] }, from, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now = time.Unix(1e9, 0)
			jar := NewJar(func() time.Time { return now })
			c := tc.cookie(jar.Make(from, hello, h))
			now = now.Add(tc.advance)
			jar.Make(from, hello, h) // rotation happens on use
			b, hh := withCookie(tc.hello, c)
			if got := jar.Valid(tc.from, b, hh); got != tc.ok {
				t.Errorf("valid = %v, want %v", got, tc.ok)
			}
		})
	}
}

// FuzzClientHello: the ClientHello parser never panics nor reads out of
// bounds; what it accepts survives splice and strip unchanged, and the
// cookie code takes it.
func FuzzClientHello(f *testing.F) {
	hello := pionHello(f)
	h, _ := Parse(hello)
	f.Add(hello)
	f.Add(Splice(hello, h, bytes.Repeat([]byte{1}, Len)))
	f.Add(hello[:helloSessionOff+3])
	f.Add(VerifyRequest(h, bytes.Repeat([]byte{2}, Len)))
	jar := NewJar(time.Now)
	from := src("192.0.2.1:1")
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = OurCookie(b)
		h, err := Parse(b)
		if err != nil {
			return
		}
		c := jar.Make(from, b, h)
		s := Splice(b, h, c)
		hs, err := Parse(s)
		if err != nil {
			t.Fatalf("spliced hello does not parse: %v", err)
		}
		if !jar.Valid(from, s, hs) {
			t.Fatal("our own cookie is not valid")
		}
		back := Strip(s, hs)
		if len(h.Cookie) == 0 && !bytes.Equal(back, b) {
			t.Fatal("strip(splice(b)) != b")
		}
		if _, err := Parse(back); err != nil {
			t.Fatalf("stripped hello does not parse: %v", err)
		}
	})
}

// TestClient: the client side lets everything but our HelloVerifyRequest
// through, answers ours with the first hello and the cookie in, and puts
// the cookie in the stack's retransmissions of that hello.
func TestClient(t *testing.T) {
	hello := pionHello(t)
	h, _ := Parse(hello)
	cookie := NewJar(time.Now).Make(src("192.0.2.1:1"), hello, h)
	hvr := VerifyRequest(h, cookie)
	pionHVR := VerifyRequest(h, bytes.Repeat([]byte{9}, 20)) // an older ipopd's pion
	var c Client
	if resend, ok := c.Incoming(pionHVR); ok || resend != nil {
		t.Fatal("pion's HelloVerifyRequest taken")
	}
	if out := c.Outgoing(hello); !bytes.Equal(out, hello) {
		t.Fatal("hello changed before any cookie")
	}
	resend, ok := c.Incoming(hvr)
	if !ok {
		t.Fatal("our HelloVerifyRequest not taken")
	}
	rh, err := Parse(resend)
	if err != nil || !bytes.Equal(rh.Cookie, cookie) || rh.MsgSeq != 0 || !bytes.Equal(Strip(resend, rh), hello) {
		t.Fatalf("resent hello: %v, cookie %x, seq %d", err, rh.Cookie, rh.MsgSeq)
	}
	if out := c.Outgoing(hello); !bytes.Equal(out, resend) {
		t.Fatal("retransmission without the cookie")
	}
	other := []byte{23, 0xfe, 0xfd, 0, 1}
	if out := c.Outgoing(other); !bytes.Equal(out, other) {
		t.Fatal("a record that is no hello changed")
	}
}

// TestAppendVerifyRequest: the flood path's HelloVerifyRequest is
// VerifyRequest's, made without an allocation.
func TestAppendVerifyRequest(t *testing.T) {
	hello := pionHello(t)
	h, _ := Parse(hello)
	jar := NewJar(time.Now)
	var from [27]byte
	from[0] = 1
	buf := make([]byte, 0, 256)
	got := jar.AppendVerifyRequest(buf, from[:], hello, h)
	if want := VerifyRequest(h, jar.Make(from[:], hello, h)); !bytes.Equal(got, want) {
		t.Fatalf("got %x\nwant %x", got, want)
	}
	if n := testing.AllocsPerRun(100, func() {
		h, _ := Parse(hello)
		jar.AppendVerifyRequest(buf[:0], from[:], hello, h)
	}); n != 0 {
		t.Errorf("%v allocations per HelloVerifyRequest", n)
	}
}
