package chachapoly

import "encoding/binary"

// XORKeyStream sets dst = src XOR the ChaCha20 keystream (RFC 8439, 32-bit
// block counter) for key and nonce, starting at block counter. dst must be
// at least as long as src; dst and src must be the same slice or not
// overlap. It is the keystream the AEAD uses, exported for
// arm-build/cmd/chachabench, which counts its instructions under qemu.
func XORKeyStream(dst, src []byte, key *[32]byte, nonce *[12]byte, counter uint32) {
	var k [8]uint32
	var n [3]uint32
	for i := range k {
		k[i] = binary.LittleEndian.Uint32(key[4*i:])
	}
	for i := range n {
		n[i] = binary.LittleEndian.Uint32(nonce[4*i:])
	}
	xorKeyStream(dst[:len(src)], src, &k, &n, counter)
}
