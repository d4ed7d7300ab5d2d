package chachapoly

import (
	"encoding/binary"
	"math/bits"
)

// The ChaCha20 constant "expand 32-byte k", as four little-endian words.
const (
	sigma0 = 0x61707865
	sigma1 = 0x3320646e
	sigma2 = 0x79622d32
	sigma3 = 0x6b206574
)

// xorKeyStreamGeneric is the portable ChaCha20 (RFC 8439, 32-bit block
// counter): dst = src XOR keystream(key, nonce) starting at block counter.
// dst and src must have the same length and either be the same slice or
// not overlap.
//
// The state lives in sixteen locals, not an array, so that the compiler
// keeps what it can in registers, and the rounds are unrolled: on 32-bit
// CPUs an indexed array means loads and stores around every quarter round.
// (A quarter-round helper would not be inlined: the compiler inlines only
// tiny functions into one this big.) Full blocks are XORed straight from
// src to dst; only a partial last block goes through a buffer.
func xorKeyStreamGeneric(dst, src []byte, key *[8]uint32, nonce *[3]uint32, counter uint32) {
	dst = dst[:len(src)]
	k0, k1, k2, k3, k4, k5, k6, k7 := key[0], key[1], key[2], key[3], key[4], key[5], key[6], key[7]
	n0, n1, n2 := nonce[0], nonce[1], nonce[2]
	for len(src) > 0 {
		x0, x1, x2, x3 := uint32(sigma0), uint32(sigma1), uint32(sigma2), uint32(sigma3)
		x4, x5, x6, x7 := k0, k1, k2, k3
		x8, x9, x10, x11 := k4, k5, k6, k7
		x12, x13, x14, x15 := counter, n0, n1, n2
		for i := 0; i < 10; i++ {
			x0 += x4
			x12 = bits.RotateLeft32(x12^x0, 16)
			x8 += x12
			x4 = bits.RotateLeft32(x4^x8, 12)
			x0 += x4
			x12 = bits.RotateLeft32(x12^x0, 8)
			x8 += x12
			x4 = bits.RotateLeft32(x4^x8, 7)
			x1 += x5
			x13 = bits.RotateLeft32(x13^x1, 16)
			x9 += x13
			x5 = bits.RotateLeft32(x5^x9, 12)
			x1 += x5
			x13 = bits.RotateLeft32(x13^x1, 8)
			x9 += x13
			x5 = bits.RotateLeft32(x5^x9, 7)
			x2 += x6
			x14 = bits.RotateLeft32(x14^x2, 16)
			x10 += x14
			x6 = bits.RotateLeft32(x6^x10, 12)
			x2 += x6
			x14 = bits.RotateLeft32(x14^x2, 8)
			x10 += x14
			x6 = bits.RotateLeft32(x6^x10, 7)
			x3 += x7
			x15 = bits.RotateLeft32(x15^x3, 16)
			x11 += x15
			x7 = bits.RotateLeft32(x7^x11, 12)
			x3 += x7
			x15 = bits.RotateLeft32(x15^x3, 8)
			x11 += x15
			x7 = bits.RotateLeft32(x7^x11, 7)
			x0 += x5
			x15 = bits.RotateLeft32(x15^x0, 16)
			x10 += x15
			x5 = bits.RotateLeft32(x5^x10, 12)
			x0 += x5
			x15 = bits.RotateLeft32(x15^x0, 8)
			x10 += x15
			x5 = bits.RotateLeft32(x5^x10, 7)
			x1 += x6
			x12 = bits.RotateLeft32(x12^x1, 16)
			x11 += x12
			x6 = bits.RotateLeft32(x6^x11, 12)
			x1 += x6
			x12 = bits.RotateLeft32(x12^x1, 8)
			x11 += x12
			x6 = bits.RotateLeft32(x6^x11, 7)
			x2 += x7
			x13 = bits.RotateLeft32(x13^x2, 16)
			x8 += x13
			x7 = bits.RotateLeft32(x7^x8, 12)
			x2 += x7
			x13 = bits.RotateLeft32(x13^x2, 8)
			x8 += x13
			x7 = bits.RotateLeft32(x7^x8, 7)
			x3 += x4
			x14 = bits.RotateLeft32(x14^x3, 16)
			x9 += x14
			x4 = bits.RotateLeft32(x4^x9, 12)
			x3 += x4
			x14 = bits.RotateLeft32(x14^x3, 8)
			x9 += x14
			x4 = bits.RotateLeft32(x4^x9, 7)
		}
		x0 += sigma0
		x1 += sigma1
		x2 += sigma2
		x3 += sigma3
		x4 += k0
		x5 += k1
		x6 += k2
		x7 += k3
		x8 += k4
		x9 += k5
		x10 += k6
		x11 += k7
		x12 += counter
		x13 += n0
		x14 += n1
		x15 += n2
		counter++

		if len(src) < 64 {
			var block [64]byte
			putBlock(&block, x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15)
			for i := range src {
				dst[i] = src[i] ^ block[i]
			}
			return
		}
		s, d := (*[64]byte)(src), (*[64]byte)(dst)
		xorWord(d[0:4], s[0:4], x0)
		xorWord(d[4:8], s[4:8], x1)
		xorWord(d[8:12], s[8:12], x2)
		xorWord(d[12:16], s[12:16], x3)
		xorWord(d[16:20], s[16:20], x4)
		xorWord(d[20:24], s[20:24], x5)
		xorWord(d[24:28], s[24:28], x6)
		xorWord(d[28:32], s[28:32], x7)
		xorWord(d[32:36], s[32:36], x8)
		xorWord(d[36:40], s[36:40], x9)
		xorWord(d[40:44], s[40:44], x10)
		xorWord(d[44:48], s[44:48], x11)
		xorWord(d[48:52], s[48:52], x12)
		xorWord(d[52:56], s[52:56], x13)
		xorWord(d[56:60], s[56:60], x14)
		xorWord(d[60:64], s[60:64], x15)
		src, dst = src[64:], dst[64:]
	}
}

// xorWord stores src's four bytes XOR the little-endian word w in dst.
func xorWord(dst, src []byte, w uint32) {
	binary.LittleEndian.PutUint32(dst, binary.LittleEndian.Uint32(src)^w)
}

// putBlock writes one keystream block's words little-endian.
func putBlock(b *[64]byte, x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15 uint32) {
	binary.LittleEndian.PutUint32(b[0:], x0)
	binary.LittleEndian.PutUint32(b[4:], x1)
	binary.LittleEndian.PutUint32(b[8:], x2)
	binary.LittleEndian.PutUint32(b[12:], x3)
	binary.LittleEndian.PutUint32(b[16:], x4)
	binary.LittleEndian.PutUint32(b[20:], x5)
	binary.LittleEndian.PutUint32(b[24:], x6)
	binary.LittleEndian.PutUint32(b[28:], x7)
	binary.LittleEndian.PutUint32(b[32:], x8)
	binary.LittleEndian.PutUint32(b[36:], x9)
	binary.LittleEndian.PutUint32(b[40:], x10)
	binary.LittleEndian.PutUint32(b[44:], x11)
	binary.LittleEndian.PutUint32(b[48:], x12)
	binary.LittleEndian.PutUint32(b[52:], x13)
	binary.LittleEndian.PutUint32(b[56:], x14)
	binary.LittleEndian.PutUint32(b[60:], x15)
}
