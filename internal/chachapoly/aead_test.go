package chachapoly

import (
	"bytes"
	"crypto/cipher"
	"errors"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

// TestAEADVectors: RFC 8439 section 2.8.2 (seal) and appendix A.5
// (open). Each vector is also checked against x/crypto, so a miscopied
// one shows as such.
func TestAEADVectors(t *testing.T) {
	t.Run("2.8.2", func(t *testing.T) {
		key := unhex(t, "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
		nonce := unhex(t, "070000004041424344454647")
		ad := unhex(t, "50515253c0c1c2c3c4c5c6c7")
		pt := []byte("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.")
		want := unhex(t, "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116"+
			"1ae10b594f09e26a7e902ecbd0600691")
		checkVector(t, key, nonce, ad, pt, want)
	})
	t.Run("A.5", func(t *testing.T) {
		key := unhex(t, "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0")
		nonce := unhex(t, "000000000102030405060708")
		ad := unhex(t, "f33388860000000000004e91")
		sealed := unhex(t, "64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb24c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c8559797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523eaf4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a1049e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29a6ad5cb4022b02709b"+
			"eead9d67890cbb22392336fea1851f38")
		ref, err := chacha20poly1305.New(key)
		if err != nil {
			t.Fatal(err)
		}
		want, err := ref.Open(nil, nonce, sealed, ad)
		if err != nil {
			t.Fatalf("x/crypto does not open the vector (miscopied): %v", err)
		}
		if !bytes.HasPrefix(want, []byte("Internet-Drafts are draft documents valid for a maximum of six months")) {
			t.Fatalf("x/crypto opens the vector to %q", want[:40])
		}
		a, err := New(key)
		if err != nil {
			t.Fatal(err)
		}
		got, err := a.Open(nil, nonce, sealed, ad)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("plaintext differs")
		}
		checkVector(t, key, nonce, ad, want, sealed)
	})
}

func checkVector(t *testing.T, key, nonce, ad, pt, want []byte) {
	t.Helper()
	ref, err := chacha20poly1305.New(key)
	if err != nil {
		t.Fatal(err)
	}
	if got := ref.Seal(nil, nonce, pt, ad); !bytes.Equal(got, want) {
		t.Fatalf("x/crypto seals to %x, the vector says %x: miscopied", got, want)
	}
	a, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Seal(nil, nonce, pt, ad); !bytes.Equal(got, want) {
		t.Fatalf("Seal: %x, want %x", got, want)
	}
}

// differentialCases is how many random cases TestAEADAgainstXCrypto runs;
// the cross-architecture test (qemu) lowers it through the environment.
func differentialCases(t *testing.T) int {
	if s := os.Getenv("IPOPD_CHACHAPOLY_CASES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("IPOPD_CHACHAPOLY_CASES=%q: want a positive number", s)
		}
		return n
	}
	if testing.Short() {
		return 200
	}
	return 1500
}

// TestAEADAgainstXCrypto: random keys, nonces, lengths 0-9000 and
// additional data 0-64, sealed and opened by both, in place and not; then
// a tampered tag, ciphertext byte or additional data byte must fail in
// both, and leave the in-place buffer zeroed.
func TestAEADAgainstXCrypto(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	n := differentialCases(t)
	for i := 0; i < n; i++ {
		var key [32]byte
		var nonce [12]byte
		fill(r, key[:])
		fill(r, nonce[:])
		size := r.IntN(9001)
		if i%3 == 0 { // the small and block-boundary sizes get their share
			size = r.IntN(130)
		}
		pt := make([]byte, size)
		ad := make([]byte, r.IntN(65))
		fill(r, pt)
		fill(r, ad)
		if err := differential(key[:], nonce[:], pt, ad, r.IntN(4)); err != nil {
			t.Fatalf("case %d (key %x nonce %x, %d bytes, %d of additional data): %v", i, key, nonce, size, len(ad), err)
		}
	}
}

// differential checks one case against x/crypto; tamper selects what to
// corrupt: 0 the tag, 1 a ciphertext byte, 2 an additional data byte, 3
// the nonce.
func differential(key, nonce, pt, ad []byte, tamper int) error {
	ref, err := chacha20poly1305.New(key)
	if err != nil {
		return err
	}
	a, err := New(key)
	if err != nil {
		return err
	}
	want := ref.Seal(nil, nonce, pt, ad)
	got := a.Seal(nil, nonce, pt, ad)
	if !bytes.Equal(got, want) {
		return errors.New("Seal differs from x/crypto")
	}
	// In place, with the data at an odd offset as in a record.
	buf := make([]byte, 13+len(pt)+Overhead)
	copy(buf[13:], pt)
	sealed := a.Seal(buf[13:13], nonce, buf[13:13+len(pt)], ad)
	if !bytes.Equal(sealed, want) {
		return errors.New("Seal in place differs from x/crypto")
	}
	opened, err := a.Open(sealed[:0], nonce, sealed, ad)
	if err != nil || !bytes.Equal(opened, pt) {
		return errors.New("Open in place does not give the plaintext back")
	}
	if o, err := a.Open(nil, nonce, want, ad); err != nil || !bytes.Equal(o, pt) {
		return errors.New("Open does not give the plaintext back")
	}

	bad := append([]byte(nil), want...)
	badAD := append([]byte(nil), ad...)
	badNonce := append([]byte(nil), nonce...)
	switch {
	case tamper == 1 && len(pt) > 0:
		bad[int(uint(len(ad)*7919+len(pt)*31)%uint(len(pt)))] ^= 0x04
	case tamper == 2 && len(ad) > 0:
		badAD[len(badAD)/2] ^= 0x80
	case tamper == 3:
		badNonce[11] ^= 1
	default:
		bad[len(bad)-1-len(pt)%16] ^= 0x01
	}
	if _, err := ref.Open(nil, badNonce, bad, badAD); err == nil {
		return errors.New("x/crypto opens the tampered record (test bug)")
	}
	if _, err := a.Open(nil, badNonce, bad, badAD); !errors.Is(err, ErrOpen) {
		return errors.New("Open accepts a tampered record")
	}
	inPlace := append([]byte(nil), bad...)
	if o, err := a.Open(inPlace[:0], badNonce, inPlace, badAD); err == nil || o != nil {
		return errors.New("Open in place accepts a tampered record")
	}
	for _, b := range inPlace[:len(pt)] {
		if b != 0 {
			return errors.New("a failed Open in place left plaintext-sized bytes non-zero")
		}
	}
	return nil
}

// TestAEADInPlaceNoAlloc: Seal and Open in place allocate nothing.
func TestAEADInPlaceNoAlloc(t *testing.T) {
	a, err := New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	var aead cipher.AEAD = a
	buf := make([]byte, 13+1400+16)
	nonce := make([]byte, 12)
	allocs := testing.AllocsPerRun(20, func() {
		ct := aead.Seal(buf[13:13], nonce, buf[13:13+1400], buf[:13])
		if _, err := aead.Open(ct[:0], nonce, ct, buf[:13]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per seal+open, want 0", allocs)
	}
}

// TestAEADErrors: sizes, short records, overlap, use after Erase.
func TestAEADErrors(t *testing.T) {
	if _, err := New(make([]byte, 31)); err == nil {
		t.Fatal("New accepts a 31-byte key")
	}
	a, err := New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	if a.NonceSize() != 12 || a.Overhead() != 16 {
		t.Fatalf("NonceSize %d Overhead %d", a.NonceSize(), a.Overhead())
	}
	nonce := make([]byte, 12)
	if _, err := a.Open(nil, nonce, make([]byte, 15), nil); !errors.Is(err, ErrOpen) {
		t.Fatalf("Open of 15 bytes: %v, want ErrOpen", err)
	}
	mustPanic(t, "short nonce", func() { a.Seal(nil, nonce[:8], nil, nil) })
	mustPanic(t, "short nonce on Open", func() { _, _ = a.Open(nil, nonce[:8], make([]byte, 16), nil) })
	buf := make([]byte, 100)
	mustPanic(t, "inexact overlap", func() { a.Seal(buf[1:1], nonce, buf[:50], nil) })
	mustPanic(t, "overlap with additional data", func() { a.Seal(buf[:0], nonce, buf[:50], buf[60:70]) })

	sealed := a.Seal(nil, nonce, []byte("x"), nil)
	a.Erase()
	if a.key != [8]uint32{} {
		t.Fatal("Erase left key bits")
	}
	mustPanic(t, "Seal after Erase", func() { a.Seal(nil, nonce, nil, nil) })
	mustPanic(t, "Open after Erase", func() { _, _ = a.Open(nil, nonce, sealed, nil) })
}

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", what)
		}
	}()
	f()
}

// FuzzAEAD: whatever key, nonce, plaintext and additional data, Seal
// agrees with x/crypto, Open reverses it, and a flipped bit fails.
func FuzzAEAD(f *testing.F) {
	f.Add(make([]byte, 32), make([]byte, 12), []byte{}, []byte{}, uint16(0))
	f.Add(bytes.Repeat([]byte{0xff}, 32), bytes.Repeat([]byte{0xff}, 12), bytes.Repeat([]byte{0xff}, 64), bytes.Repeat([]byte{0xff}, 13), uint16(7))
	f.Add([]byte("ipopd fuzz seed 32-byte key.....!"[:32]), []byte("nonce12bytes"), bytes.Repeat([]byte("frame"), 280), []byte("header.13byte"), uint16(1400))
	f.Add(bytes.Repeat([]byte{1}, 32), make([]byte, 12), make([]byte, 15), make([]byte, 17), uint16(65535))
	f.Add(bytes.Repeat([]byte{0x80}, 32), bytes.Repeat([]byte{0x7f}, 12), make([]byte, 129), []byte{}, uint16(100))
	f.Fuzz(func(t *testing.T, key, nonce, pt, ad []byte, flip uint16) {
		if len(key) != 32 || len(nonce) != 12 {
			return
		}
		if len(pt) > 9000 || len(ad) > 256 {
			return
		}
		if err := differential(key, nonce, pt, ad, int(flip%4)); err != nil {
			t.Fatal(err)
		}
	})
}
