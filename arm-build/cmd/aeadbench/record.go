package main

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// Data record layout, as in internal/transport/record.go (which keeps it
// unexported): marker (1), index (4), counter (8), then the ciphertext and
// the tag.
const (
	markerData = 0xD0
	headerLen  = 13
	tagLen     = 16
	overhead   = headerLen + tagLen
	offIndex   = 1
	offCounter = 5
	nonceLen   = 12
)

// maxPayload is the largest payload whose record still fits one UDP
// datagram over IPv4 (65507 bytes), the most the daemon could ever seal.
const maxPayload = 65507 - overhead

// Names of the two data channel AEADs, spelled as transport.PreferredCipher
// spells them.
const (
	nameAESGCM   = "AES-128-GCM"
	nameChaCha20 = "ChaCha20-Poly1305"
)

// benchIndex is the session index written into every header; its value
// does not matter, only that the header is a real one.
const benchIndex = 0x01020304

// newAEAD makes the named AEAD from a 32-byte key, taking the first half
// for AES-128 exactly as the daemon's deriveKeys does.
func newAEAD(name string, key []byte) (cipher.AEAD, error) {
	if len(key) != chacha20poly1305.KeySize {
		return nil, fmt.Errorf("key is %d bytes, want %d", len(key), chacha20poly1305.KeySize)
	}
	switch name {
	case nameAESGCM:
		b, err := aes.NewCipher(key[:16])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		g, err := cipher.NewGCM(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return g, nil
	case nameChaCha20:
		c, err := chacha20poly1305.New(key)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return c, nil
	}
	return nil, fmt.Errorf("%w %q", errUnknownAEAD, name)
}

// putHeader writes a data record header into b[:headerLen].
func putHeader(b []byte, index uint32, counter uint64) {
	b[0] = markerData
	binary.BigEndian.PutUint32(b[offIndex:], index)
	binary.BigEndian.PutUint64(b[offCounter:], counter)
}

// seal encrypts b[headerLen:headerLen+n] in place behind the header already
// in b and returns the record length; b needs n+overhead bytes.
func seal(aead cipher.AEAD, b []byte, n int, nonce *[nonceLen]byte) int {
	nonce[0], nonce[1], nonce[2], nonce[3] = 0, 0, 0, 0
	copy(nonce[4:], b[offCounter:headerLen])
	out := aead.Seal(b[headerLen:headerLen], nonce[:], b[headerLen:headerLen+n], b[:headerLen])
	return headerLen + len(out)
}

// open authenticates and decrypts the record in b in place and returns the
// payload, which aliases b.
func open(aead cipher.AEAD, b []byte, nonce *[nonceLen]byte) ([]byte, error) {
	nonce[0], nonce[1], nonce[2], nonce[3] = 0, 0, 0, 0
	copy(nonce[4:], b[offCounter:headerLen])
	return aead.Open(b[headerLen:headerLen], nonce[:], b[headerLen:], b[:headerLen])
}

// newRecord makes the buffer records are sealed and opened in, its payload
// filled with a known pattern, and a copy of that payload to check against.
// It runs before sealOpen so that the counted window holds no allocation.
func newRecord(size int) (buf, want []byte) {
	buf = make([]byte, size+overhead)
	want = make([]byte, size)
	for i := range want {
		want[i] = byte(i)
	}
	copy(buf[headerLen:], want)
	return buf, want
}

// sealOpen seals and opens n records of len(want) payload bytes in buf
// (from newRecord), send sealing and recv opening as the two peers would.
// The payload is checked once at the end rather than per record, so that
// the per-record instruction count holds only what the daemon itself does.
//
// aeadcount.sh counts the instructions from this function's entry to the
// return into run, found by symbol name, so it must stay a real call.
//
//go:noinline
func sealOpen(send, recv cipher.AEAD, buf, want []byte, n int) error {
	size := len(want)
	if len(buf) != size+overhead {
		return fmt.Errorf("%w: %d bytes for a %d-byte payload, want %d", errBufferSize, len(buf), size, size+overhead)
	}
	var nonce [nonceLen]byte
	for i := 0; i < n; i++ {
		putHeader(buf, benchIndex, uint64(i))
		rec := seal(send, buf, size, &nonce)
		if _, err := open(recv, buf[:rec], &nonce); err != nil {
			return fmt.Errorf("record %d: open: %w", i, err)
		}
	}
	if !bytes.Equal(buf[headerLen:headerLen+size], want) {
		return fmt.Errorf("after %d records of %d bytes: %w", n, size, errRoundTrip)
	}
	return nil
}
