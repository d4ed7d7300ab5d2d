//go:build mips || mipsle

package chachapoly

// bufBlocks is the stack buffer of xorKeyStream in blocks: only a partial
// last block goes through it on MIPS.
const bufBlocks = 1

// haveAsm reports whether the CPU is MIPS32 release 2 or later, which
// chacha_mipsx.s needs. OpenWrt's mips_24kc and mipsel_24kc CPUs are, but a
// mipsel binary also starts on release 1 cores (mipsel_mips32 targets such
// as bcm47xx), which run ROTR as a plain shift right: the keystream would
// be wrong, silently. Those get xorKeyStreamGeneric.
var haveAsm = rotrRotates()

// rotrRotates reports whether ROTR rotates (release 2) rather than shifts
// (release 1); it is in chacha_mipsx.s.
func rotrRotates() bool

// blocks is in chacha_mipsx.s; see chacha_asm.go.
//
//go:noescape
func blocks(dst, src *byte, nblocks int, state *[16]uint32)

// wordAligned reports whether blocks can work on dst and src in place: on
// MIPS always, since chacha_mipsx.s loads and stores words with the
// unaligned LWL/LWR and SWL/SWR pairs.
func wordAligned(dst, src *byte) bool { return true }
