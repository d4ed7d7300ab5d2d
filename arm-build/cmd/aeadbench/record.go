package main

import (
	"bytes"
	"crypto/cipher"
	"errors"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/ipopd/ipopd/internal/chachapoly"
	"github.com/ipopd/ipopd/internal/transport"
)

// The record layout and operations are the daemon's own (transport's
// exported record functions), so that what is counted is what runs.
const (
	headerLen    = transport.RecordHeaderLen
	overhead     = transport.RecordOverhead
	nameAESGCM   = transport.CipherAESGCM
	nameChaCha20 = transport.CipherChaCha20
)

// The two ChaCha20-Poly1305 implementations by name, whatever the daemon
// uses on this architecture, so that make bench-mips shows them side by
// side: x/crypto's and internal/chachapoly's.
const (
	nameXCrypto    = "ChaCha20-Poly1305:x/crypto"
	nameChachapoly = "ChaCha20-Poly1305:chachapoly"
)

// maxPayload is the largest payload whose record still fits one UDP
// datagram over IPv4 (65507 bytes), the most the daemon could ever seal.
const maxPayload = 65507 - overhead

// benchIndex is the session index written into every header; its value
// does not matter, only that the header is a real one.
const benchIndex = 0x01020304

// newAEAD makes the named AEAD as the daemon does; an unknown name is
// errUnknownAEAD.
func newAEAD(name string, key []byte) (cipher.AEAD, error) {
	switch name {
	case nameXCrypto:
		return chacha20poly1305.New(key)
	case nameChachapoly:
		return chachapoly.New(key)
	}
	a, err := transport.NewDataAEAD(name, key)
	if errors.Is(err, transport.ErrUnknownCipher) {
		return nil, fmt.Errorf("%w %q", errUnknownAEAD, name)
	}
	return a, err
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
	var nonce [transport.NonceLen]byte
	for i := 0; i < n; i++ {
		transport.PutRecordHeader(buf, benchIndex, uint64(i))
		rec := transport.SealRecord(send, buf, size, &nonce)
		if _, err := transport.OpenRecord(recv, buf[:rec], &nonce); err != nil {
			return fmt.Errorf("record %d: open: %w", i, err)
		}
	}
	if !bytes.Equal(buf[headerLen:headerLen+size], want) {
		return fmt.Errorf("after %d records of %d bytes: %w", n, size, errRoundTrip)
	}
	return nil
}

// minFrame and maxFrame bound -size with -frame: the receiver drops
// anything shorter than an Ethernet header, and the sender refuses frames
// over transport's default MaxFrame (1514 bytes and a VLAN tag).
const (
	minFrame = 14
	maxFrame = 1518
)

// runFrames sends and receives cfg.n frames of cfg.size bytes through the
// daemon's transport code (transport.FramePath) and checks the last one.
func runFrames(cfg config) error {
	f, err := transport.NewFramePath(cfg.aead, benchKey)
	if err != nil {
		return err
	}
	defer f.Close()
	frame := make([]byte, cfg.size)
	for i := range frame {
		frame[i] = byte(i)
	}
	if err := frames(f, frame, cfg.n); err != nil {
		return err
	}
	if cfg.n > 0 && !bytes.Equal(f.Delivered(), frame) {
		return fmt.Errorf("after %d frames of %d bytes: %w", cfg.n, cfg.size, errRoundTrip)
	}
	return nil
}

// frames sends and receives n frames. aeadcount.sh counts the
// instructions from this function's entry to the return into run (found
// by symbol name, so it must stay a real call), as for sealOpen.
//
//go:noinline
func frames(f *transport.FramePath, frame []byte, n int) error {
	for i := 0; i < n; i++ {
		if err := f.RoundTrip(frame); err != nil {
			return fmt.Errorf("frame %d: %w", i, err)
		}
	}
	return nil
}
