package chachapoly

import "unsafe"

// polyBlocksARM is polyBlocksGeneric for full blocks (hibit 1) in
// assembly (poly1305_arm.s): n bytes at m, n a non-zero multiple of 16,
// loaded as words.
//
//go:noescape
func polyBlocksARM(p *polyState, m *byte, n int)

// polyBlocks is the Poly1305 block function on ARM; see polyBlocksGeneric.
// The padded last block of a one-shot MAC (hibit 0, tests only) takes the
// Go path; on ARMv5, which cannot load a word from an unaligned address, a
// message that is not word aligned goes through an aligned buffer.
func polyBlocks(p *polyState, m []byte, hibit uint32) {
	if hibit == 0 || len(m) == 0 {
		polyBlocksGeneric(p, m, hibit)
		return
	}
	if polyUnaligned || uintptr(unsafe.Pointer(&m[0]))&3 == 0 {
		polyBlocksARM(p, &m[0], len(m))
		return
	}
	var buf [64]uint32
	b := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), len(buf)*4)
	for len(m) > 0 {
		n := copy(b, m)
		polyBlocksARM(p, &b[0], n)
		m = m[n:]
	}
}
