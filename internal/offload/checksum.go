package offload

import (
	"encoding/binary"
	"math/bits"
)

// sum adds b to a one's-complement accumulator (RFC 1071). It sums
// 64-bit words loaded in the machine's own byte order, with end-around
// carry: the one's-complement sum does not care how bytes are grouped,
// only that the result is swapped back to network order at the end, so
// this needs no byte swapping in the loop and a quarter of the steps of
// 16-bit words. The result is unfolded; fold finishes it.
func sum(b []byte, acc uint64) uint64 {
	var s, c uint64
	for len(b) >= 32 {
		s, c = bits.Add64(s, binary.NativeEndian.Uint64(b), c)
		s, c = bits.Add64(s, binary.NativeEndian.Uint64(b[8:]), c)
		s, c = bits.Add64(s, binary.NativeEndian.Uint64(b[16:]), c)
		s, c = bits.Add64(s, binary.NativeEndian.Uint64(b[24:]), c)
		b = b[32:]
	}
	for len(b) >= 8 {
		s, c = bits.Add64(s, binary.NativeEndian.Uint64(b), c)
		b = b[8:]
	}
	s, c = bits.Add64(s, 0, c)
	s += c
	if len(b) > 0 {
		var tail [8]byte
		copy(tail[:], b)
		s, c = bits.Add64(s, binary.NativeEndian.Uint64(tail[:]), 0)
		s += c
	}
	// Fold to 16 bits and read them in network order.
	var w [2]byte
	binary.NativeEndian.PutUint16(w[:], fold(s))
	acc, c = bits.Add64(acc, uint64(binary.BigEndian.Uint16(w[:])), 0)
	return acc + c
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
