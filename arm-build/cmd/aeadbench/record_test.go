package main

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/ipopd/ipopd/internal/transport"
)

// The record header layout (transport's package doc), spelled out here so
// that the test checks the daemon's code against it independently.
const (
	markerData = 0xD0
	offIndex   = 1
	offCounter = 5
)

func TestSealOpenRoundTrip(t *testing.T) {
	for _, name := range []string{nameAESGCM, nameChaCha20, nameXCrypto, nameChachapoly} {
		for _, size := range []int{1, 64, 1400, maxPayload} {
			for _, n := range []int{0, 1, 3} {
				t.Run(fmt.Sprintf("%s/%d/%d", name, size, n), func(t *testing.T) {
					send, err := newAEAD(name, benchKey)
					if err != nil {
						t.Fatal(err)
					}
					recv, err := newAEAD(name, benchKey)
					if err != nil {
						t.Fatal(err)
					}
					buf, want := newRecord(size)
					if err := sealOpen(send, recv, buf, want, n); err != nil {
						t.Fatal(err)
					}
				})
			}
		}
	}
}

// reference builds the AEAD straight from the libraries, to check that a
// record is what the daemon's data channel sends.
func reference(t *testing.T, name string) cipher.AEAD {
	t.Helper()
	if name == nameChaCha20 || name == nameXCrypto || name == nameChachapoly {
		a, err := chacha20poly1305.New(benchKey)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	b, err := aes.NewCipher(benchKey[:16])
	if err != nil {
		t.Fatal(err)
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestRecordFormat(t *testing.T) {
	const size, counter = 100, 0x0102030405060708
	for _, name := range []string{nameAESGCM, nameChaCha20, nameXCrypto, nameChachapoly} {
		t.Run(name, func(t *testing.T) {
			a, err := newAEAD(name, benchKey)
			if err != nil {
				t.Fatal(err)
			}
			payload := bytes.Repeat([]byte{0x5a}, size)
			buf := make([]byte, size+overhead)
			copy(buf[headerLen:], payload)
			transport.PutRecordHeader(buf, benchIndex, counter)
			var nonce [transport.NonceLen]byte
			rec := transport.SealRecord(a, buf, size, &nonce)
			if rec != size+overhead {
				t.Fatalf("record is %d bytes, want %d", rec, size+overhead)
			}
			if buf[0] != markerData || binary.BigEndian.Uint32(buf[offIndex:]) != benchIndex || binary.BigEndian.Uint64(buf[offCounter:]) != counter {
				t.Fatalf("header % x", buf[:headerLen])
			}
			// The nonce is four zero bytes and the counter; the header is
			// the additional data.
			var want [transport.NonceLen]byte
			binary.BigEndian.PutUint64(want[4:], counter)
			got, err := reference(t, name).Open(nil, want[:], buf[headerLen:rec], buf[:headerLen])
			if err != nil {
				t.Fatalf("reference open: %v", err)
			}
			if !bytes.Equal(got, payload) {
				t.Fatal("reference open gave another payload")
			}
			for _, at := range []int{0, offIndex, offCounter + 7, headerLen, rec - 1} {
				bad := append([]byte(nil), buf[:rec]...)
				bad[at] ^= 1
				if _, err := transport.OpenRecord(a, bad, &nonce); err == nil {
					t.Errorf("open accepted a record with byte %d flipped", at)
				}
			}
			pt, err := transport.OpenRecord(a, buf[:rec], &nonce)
			if err != nil || !bytes.Equal(pt, payload) {
				t.Fatalf("open: %v, payload equal %v", err, bytes.Equal(pt, payload))
			}
		})
	}
}

func TestNewAEADErrors(t *testing.T) {
	if _, err := newAEAD("DES", benchKey); !errors.Is(err, errUnknownAEAD) {
		t.Errorf("unknown name: %v", err)
	}
	if _, err := newAEAD(nameChaCha20, benchKey[:16]); err == nil {
		t.Error("short key accepted")
	}
}

func TestSealOpenDetectsMismatch(t *testing.T) {
	send, _ := newAEAD(nameChaCha20, benchKey)
	other := bytes.Repeat([]byte{1}, 32)
	recv, _ := newAEAD(nameChaCha20, other)
	buf, want := newRecord(64)
	if err := sealOpen(send, recv, buf, want, 1); err == nil {
		t.Fatal("records sealed under another key opened")
	}
	// A payload changed outside the AEAD shows at the end.
	buf, want = newRecord(64)
	want[0] ^= 1
	if err := sealOpen(send, send, buf, want, 1); !errors.Is(err, errRoundTrip) {
		t.Fatalf("changed payload: %v", err)
	}
	if err := sealOpen(send, send, buf[:10], want, 1); !errors.Is(err, errBufferSize) {
		t.Fatalf("short buffer: %v", err)
	}
}

func TestFrames(t *testing.T) {
	for _, name := range []string{nameAESGCM, nameChaCha20} {
		for _, size := range []int{minFrame, 64, 1400, maxFrame} {
			if err := runFrames(config{aead: name, n: 3, size: size, frame: true}); err != nil {
				t.Errorf("%s %d B: %v", name, size, err)
			}
		}
	}
}
