package chachapoly

// xorKeyStream is ChaCha20 for this architecture; see xorKeyStreamGeneric
// for the contract. Architectures with assembly replace it in their own
// files.
func xorKeyStream(dst, src []byte, key *[8]uint32, nonce *[3]uint32, counter uint32) {
	xorKeyStreamGeneric(dst, src, key, nonce, counter)
}
