package chachapoly

// XORKeyStream is xorKeyStream, exported for arm-build/cmd/chachabench,
// which counts its instructions under qemu: dst = src XOR the ChaCha20
// keystream (RFC 8439, 32-bit block counter) of key and nonce, as
// little-endian words, from block counter on. dst must be at least as long
// as src; dst and src must be the same slice or not overlap.
func XORKeyStream(dst, src []byte, key *[8]uint32, nonce *[3]uint32, counter uint32) {
	xorKeyStream(dst[:len(src)], src, key, nonce, counter)
}
