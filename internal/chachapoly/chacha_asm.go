//go:build mips || mipsle || arm

package chachapoly

import "unsafe"

// blocks XORs nblocks 64-byte blocks of src with the ChaCha20 keystream of
// the initial state (RFC 8439 section 2.3: constants, key, block counter,
// nonce) into dst; the block counter is state[12] for the first block and
// counts up (mod 2^32). state is not modified. Written in assembly
// (chacha_mipsx.s, chacha_arm.s); see wordAligned for what src and dst
// must be.
//
//go:noescape
func blocks(dst, src *byte, nblocks int, state *[16]uint32)

// xorKeyStream is ChaCha20 in assembly; see xorKeyStreamGeneric for the
// contract. Whole blocks go straight from src to dst when the CPU's
// assembly can load and store them where they are (wordAligned); a partial
// last block, and on arm data that is not word aligned, go through a
// word-aligned buffer on the stack.
func xorKeyStream(dst, src []byte, key *[8]uint32, nonce *[3]uint32, counter uint32) {
	if len(src) == 0 {
		return
	}
	dst = dst[:len(src)]
	state := [16]uint32{
		sigma0, sigma1, sigma2, sigma3,
		key[0], key[1], key[2], key[3], key[4], key[5], key[6], key[7],
		counter, nonce[0], nonce[1], nonce[2],
	}
	if full := len(src) / 64; full > 0 && wordAligned(&dst[0], &src[0]) {
		blocks(&dst[0], &src[0], full, &state)
		state[12] += uint32(full)
		dst, src = dst[64*full:], src[64*full:]
	}
	if len(src) == 0 {
		return
	}
	var words [bufBlocks * 16]uint32
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(words)*4)
	for len(src) > 0 {
		n := copy(buf, src)
		nb := (n + 63) / 64
		blocks(&buf[0], &buf[0], nb, &state)
		copy(dst, buf[:n])
		state[12] += uint32(nb)
		dst, src = dst[n:], src[n:]
	}
	// The buffer held keystream; leave none of it on the stack.
	clear(words[:])
}
