package chachapoly

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"unsafe"
)

// Sizes of the AEAD's key, nonce and tag.
const (
	KeySize   = 32
	NonceSize = 12
	Overhead  = 16
)

// ErrOpen is Open's error for a record that does not authenticate (or is
// shorter than a tag): the same condition as x/crypto's "message
// authentication failed".
var ErrOpen = errors.New("chachapoly: message authentication failed")

// errKeySize is New's error for a key that is not KeySize bytes.
var errKeySize = errors.New("chachapoly: bad key length")

// AEAD is ChaCha20-Poly1305 as RFC 8439 section 2.8 defines it, the same
// construction and results as golang.org/x/crypto/chacha20poly1305.New.
// Seal and Open work in place (dst = src[:0]) without allocating. The key
// lives in the struct, so Erase can wipe it.
type AEAD struct {
	key    [8]uint32
	erased bool
	_      [0]func() // not comparable: no equality function in the binary
}

var _ cipher.AEAD = (*AEAD)(nil)

// New returns the AEAD for a 32-byte key; the key is copied.
func New(key []byte) (*AEAD, error) {
	if len(key) != KeySize {
		return nil, errKeySize
	}
	a := new(AEAD)
	for i := range a.key {
		a.key[i] = binary.LittleEndian.Uint32(key[4*i:])
	}
	return a, nil
}

// NonceSize is 12 (RFC 8439).
func (a *AEAD) NonceSize() int { return NonceSize }

// Overhead is the 16-byte tag.
func (a *AEAD) Overhead() int { return Overhead }

// Erase zeroes the key. Seal and Open panic afterwards: an erased AEAD
// that kept working would encrypt under the all-zero key.
func (a *AEAD) Erase() {
	a.key = [8]uint32{}
	a.erased = true
}

// Seal encrypts and authenticates plaintext and additionalData and
// appends the ciphertext and tag to dst. As with every cipher.AEAD, dst
// may be plaintext[:0] (in place) but must not overlap plaintext
// otherwise, nor overlap additionalData.
func (a *AEAD) Seal(dst, nonce, plaintext, additionalData []byte) []byte {
	if len(nonce) != NonceSize {
		panic("chachapoly: bad nonce length passed to Seal")
	}
	if uint64(len(plaintext)) > (1<<38)-64 {
		panic("chachapoly: plaintext too large")
	}
	ret, out := sliceForAppend(dst, len(plaintext)+Overhead)
	ciphertext, tag := out[:len(plaintext)], out[len(plaintext):]
	if inexactOverlap(out, plaintext) {
		panic("chachapoly: invalid buffer overlap of output and input")
	}
	if anyOverlap(out, additionalData) {
		panic("chachapoly: invalid buffer overlap of output and additional data")
	}
	var p polyState
	n := a.start(&p, nonce)
	xorKeyStream(ciphertext, plaintext, &a.key, &n, 1)
	finish(&p, (*[Overhead]byte)(tag), additionalData, ciphertext)
	return ret
}

// Open authenticates ciphertext (with its tag) and additionalData and
// appends the plaintext to dst. On failure it returns ErrOpen and, like
// x/crypto, zeroes the bytes it would have written, so a forged record
// opened in place leaves nothing usable in the buffer. dst may be
// ciphertext[:0] (in place) but must not overlap ciphertext otherwise,
// nor overlap additionalData.
func (a *AEAD) Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error) {
	if len(nonce) != NonceSize {
		panic("chachapoly: bad nonce length passed to Open")
	}
	if len(ciphertext) < Overhead {
		return nil, ErrOpen
	}
	if uint64(len(ciphertext)) > (1<<38)-48 {
		panic("chachapoly: ciphertext too large")
	}
	tag := ciphertext[len(ciphertext)-Overhead:]
	ciphertext = ciphertext[:len(ciphertext)-Overhead]
	ret, out := sliceForAppend(dst, len(ciphertext))
	if inexactOverlap(out, ciphertext) {
		panic("chachapoly: invalid buffer overlap of output and input")
	}
	if anyOverlap(out, additionalData) {
		panic("chachapoly: invalid buffer overlap of output and additional data")
	}
	var p polyState
	n := a.start(&p, nonce)
	var sum [16]byte
	finish(&p, &sum, additionalData, ciphertext)
	if subtle.ConstantTimeCompare(sum[:], tag) != 1 {
		clear(out)
		return nil, ErrOpen
	}
	xorKeyStream(out, ciphertext, &a.key, &n, 1)
	return ret, nil
}

// start reads the nonce and sets up Poly1305 with the one-time key, the
// first 32 bytes of keystream block 0. The whole block is generated: a
// full block takes ChaCha20's direct path, a part of one its buffer.
func (a *AEAD) start(p *polyState, nonce []byte) [3]uint32 {
	if a.erased {
		panic("chachapoly: AEAD used after Erase")
	}
	n := [3]uint32{
		binary.LittleEndian.Uint32(nonce[0:]),
		binary.LittleEndian.Uint32(nonce[4:]),
		binary.LittleEndian.Uint32(nonce[8:]),
	}
	var block [64]byte
	xorKeyStream(block[:], block[:], &a.key, &n, 0)
	polyInit(p, (*[32]byte)(block[:32]))
	return n
}

// finish MACs additionalData and ciphertext, each padded to 16 bytes, and
// their lengths (RFC 8439 section 2.8), and writes the tag.
func finish(p *polyState, sum *[16]byte, additionalData, ciphertext []byte) {
	polyPadded(p, additionalData)
	polyPadded(p, ciphertext)
	var lens [16]byte
	binary.LittleEndian.PutUint64(lens[0:], uint64(len(additionalData)))
	binary.LittleEndian.PutUint64(lens[8:], uint64(len(ciphertext)))
	polyBlocks(p, lens[:], 1)
	polyFinish(p, sum)
}

// sliceForAppend extends in by n bytes (reusing its capacity when it can)
// and returns the whole slice and the n new bytes.
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	tail = head[len(in):]
	return
}

// anyOverlap reports whether x and y share memory at any (not necessarily
// corresponding) index; inexactOverlap whether they share memory other
// than at the same index (the in-place case is allowed). As
// golang.org/x/crypto/internal/alias, which cannot be imported.
func anyOverlap(x, y []byte) bool {
	return len(x) > 0 && len(y) > 0 &&
		uintptr(unsafe.Pointer(&x[0])) <= uintptr(unsafe.Pointer(&y[len(y)-1])) &&
		uintptr(unsafe.Pointer(&y[0])) <= uintptr(unsafe.Pointer(&x[len(x)-1]))
}

func inexactOverlap(x, y []byte) bool {
	if len(x) == 0 || len(y) == 0 || &x[0] == &y[0] {
		return false
	}
	return anyOverlap(x, y)
}
