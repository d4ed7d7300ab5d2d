package chachapoly

import (
	"encoding/binary"
	"math/bits"
)

// xorKeyStreamGeneric is the portable ChaCha20 (RFC 8439, 32-bit block
// counter): dst = src XOR keystream(key, nonce) starting at block counter.
// dst and src must have the same length and either be the same slice or
// not overlap.
func xorKeyStreamGeneric(dst, src []byte, key *[8]uint32, nonce *[3]uint32, counter uint32) {
	var block [64]byte
	for len(src) > 0 {
		s := [16]uint32{
			0x61707865, 0x3320646e, 0x79622d32, 0x6b206574,
			key[0], key[1], key[2], key[3], key[4], key[5], key[6], key[7],
			counter, nonce[0], nonce[1], nonce[2],
		}
		x := s
		for i := 0; i < 10; i++ {
			qr(&x, 0, 4, 8, 12)
			qr(&x, 1, 5, 9, 13)
			qr(&x, 2, 6, 10, 14)
			qr(&x, 3, 7, 11, 15)
			qr(&x, 0, 5, 10, 15)
			qr(&x, 1, 6, 11, 12)
			qr(&x, 2, 7, 8, 13)
			qr(&x, 3, 4, 9, 14)
		}
		for i := range x {
			binary.LittleEndian.PutUint32(block[4*i:], x[i]+s[i])
		}
		n := min(len(src), 64)
		for i := 0; i < n; i++ {
			dst[i] = src[i] ^ block[i]
		}
		dst, src = dst[n:], src[n:]
		counter++
	}
}

func qr(x *[16]uint32, a, b, c, d int) {
	x[a] += x[b]
	x[d] = bits.RotateLeft32(x[d]^x[a], 16)
	x[c] += x[d]
	x[b] = bits.RotateLeft32(x[b]^x[c], 12)
	x[a] += x[b]
	x[d] = bits.RotateLeft32(x[d]^x[a], 8)
	x[c] += x[d]
	x[b] = bits.RotateLeft32(x[b]^x[c], 7)
}
