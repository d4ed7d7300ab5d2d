//go:build !mipsle && !mips && !arm

package transport

import (
	"crypto/cipher"

	"golang.org/x/crypto/chacha20poly1305"
)

// ChaCha20Impl names the ChaCha20-Poly1305 implementation the data channel
// uses on this architecture (for make bench-mips and the logs).
const ChaCha20Impl = "x/crypto"

// newChaCha20 is the data channel's ChaCha20-Poly1305: x/crypto, which
// has assembly for amd64, arm64, ppc64le and s390x and elsewhere is no
// slower than internal/chachapoly's 32-bit-oriented Go.
func newChaCha20(key []byte) (cipher.AEAD, error) {
	return chacha20poly1305.New(key)
}
