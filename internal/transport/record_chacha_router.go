//go:build mipsle || mips || arm

package transport

import (
	"crypto/cipher"

	"github.com/ipopd/ipopd/internal/chachapoly"
)

// ChaCha20Impl names the ChaCha20-Poly1305 implementation the data channel
// uses on this architecture (for make bench-mips and the logs).
const ChaCha20Impl = "chachapoly"

// newChaCha20 is the data channel's ChaCha20-Poly1305: on the 32-bit router
// CPUs internal/chachapoly, which needs several times fewer instructions
// than x/crypto's generic Go there (docs/router-cpus.md).
func newChaCha20(key []byte) (cipher.AEAD, error) {
	return chachapoly.New(key)
}
