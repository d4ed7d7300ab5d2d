//go:build !mips && !mipsle && !arm

package chachapoly

// xorKeyStream is ChaCha20 for this architecture; see xorKeyStreamGeneric
// for the contract. mips, mipsle and arm have assembly (chacha_asm.go).
func xorKeyStream(dst, src []byte, key *[8]uint32, nonce *[3]uint32, counter uint32) {
	xorKeyStreamGeneric(dst, src, key, nonce, counter)
}
