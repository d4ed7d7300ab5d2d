//go:build mips || mipsle || arm

package chachapoly

import "unsafe"

// Each architecture here declares, in chacha_mipsx.go and chacha_arm.go,
//
//	func blocks(dst, src *byte, nblocks int, state *[16]uint32)
//
// which XORs nblocks 64-byte blocks of src with the ChaCha20 keystream of
// the initial state (RFC 8439 section 2.3: constants, key, block counter,
// nonce) into dst, in assembly (chacha_mipsx.s, chacha_arm.s). The block
// counter is state[12] for the first block and counts up (mod 2^32); state
// is not modified. wordAligned says where src and dst may be.

// xorKeyStream is ChaCha20 in assembly; see xorKeyStreamGeneric for the
// contract. Whole blocks go straight from src to dst when the CPU's
// assembly can load and store them where they are (wordAligned); a partial
// last block, and on arm data that is not word aligned, go through a
// word-aligned buffer on the stack.
func xorKeyStream(dst, src []byte, key *[8]uint32, nonce *[3]uint32, counter uint32) {
	if !haveAsm {
		xorKeyStreamGeneric(dst, src, key, nonce, counter)
		return
	}
	if len(src) == 0 {
		return
	}
	dst = dst[:len(src)]
	// Word by word: a composite literal compiles to two copy loops.
	var state [16]uint32
	state[0], state[1], state[2], state[3] = sigma0, sigma1, sigma2, sigma3
	state[4], state[5], state[6], state[7] = key[0], key[1], key[2], key[3]
	state[8], state[9], state[10], state[11] = key[4], key[5], key[6], key[7]
	state[12], state[13], state[14], state[15] = counter, nonce[0], nonce[1], nonce[2]
	if full := len(src) / 64; full > 0 && wordAligned(&dst[0], &src[0]) {
		blocks(&dst[0], &src[0], full, &state)
		state[12] += uint32(full)
		dst, src = dst[64*full:], src[64*full:]
	}
	if len(src) > 0 {
		xorBuffered(dst, src, &state)
	}
}

// xorBuffered is xorKeyStream through a word-aligned buffer on the stack,
// for a partial last block and, on arm, for data that is not word aligned.
// It is a function of its own so that only calls that need the buffer pay
// for clearing it.
func xorBuffered(dst, src []byte, state *[16]uint32) {
	var words [bufBlocks * 16]uint32
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(words)*4)
	for len(src) > 0 {
		n := copy(buf, src)
		nb := (n + 63) / 64
		blocks(&buf[0], &buf[0], nb, state)
		copy(dst, buf[:n])
		state[12] += uint32(nb)
		dst, src = dst[n:], src[n:]
	}
}
