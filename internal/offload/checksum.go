package offload

import (
	"encoding/binary"
	"math/bits"
)

// sum adds b to a one's-complement accumulator (RFC 1071), eight bytes at
// a time: the sum of big-endian 64-bit words with end-around carry folds
// to the same 16-bit result as the sum of 16-bit words, in a quarter of
// the steps. The result is unfolded; fold finishes it.
func sum(b []byte, acc uint64) uint64 {
	var c uint64
	for len(b) >= 32 {
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[8:]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[16:]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[24:]), c)
		b = b[32:]
	}
	for len(b) >= 8 {
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b), c)
		b = b[8:]
	}
	acc, c = bits.Add64(acc, 0, c)
	acc += c
	var tail [8]byte
	if len(b) > 0 {
		copy(tail[:], b)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(tail[:]), 0)
		acc += c
	}
	return acc
}

// fold reduces a 64-bit accumulator to 16 bits with end-around carries.
func fold(acc uint64) uint16 {
	acc = (acc >> 32) + (acc & 0xffffffff)
	acc = (acc >> 32) + (acc & 0xffffffff)
	acc = (acc >> 16) + (acc & 0xffff)
	acc = (acc >> 16) + (acc & 0xffff)
	return uint16(acc)
}

// pseudoSum is the TCP/UDP pseudo-header's part of the checksum: source
// and destination addresses (4 or 16 bytes each), protocol and length.
func pseudoSum(src, dst []byte, proto byte, length int) uint64 {
	acc := sum(src, 0)
	acc = sum(dst, acc)
	acc, c := bits.Add64(acc, uint64(proto)+uint64(length), 0)
	return acc + c
}

// ipv4HeaderChecksum computes the header checksum of h (with its checksum
// field taken as zero).
func ipv4HeaderChecksum(h []byte) uint16 {
	acc := sum(h[:10], 0)
	acc = sum(h[12:], acc)
	return ^fold(acc)
}
