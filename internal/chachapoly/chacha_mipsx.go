//go:build mips || mipsle

package chachapoly

// bufBlocks is the stack buffer of xorKeyStream in blocks: only a partial
// last block goes through it on MIPS.
const bufBlocks = 1

// blocks is in chacha_mipsx.s; see chacha_asm.go.
//
//go:noescape
func blocks(dst, src *byte, nblocks int, state *[16]uint32)

// wordAligned reports whether blocks can work on dst and src in place: on
// MIPS always, since chacha_mipsx.s loads and stores words with the
// unaligned LWL/LWR and SWL/SWR pairs.
func wordAligned(dst, src *byte) bool { return true }
