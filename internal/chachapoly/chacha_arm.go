package chachapoly

import "unsafe"

// bufBlocks is the stack buffer of xorKeyStream in blocks: a partial last
// block goes through it and, on ARMv5, data that is not word aligned.
const bufBlocks = 2

// haveAsm: the assembly runs on every ARM.
const haveAsm = true

// blocksARM is blocks in assembly (chacha_arm.s). With unaligned false it
// loads and stores with LDM and STM, which need word-aligned dst and src
// on every ARM; with it true, with single LDR and STR, which ARMv6 and
// later do at any address.
//
//go:noescape
func blocksARM(dst, src *byte, nblocks int, state *[16]uint32, unaligned bool)

// blocks is blocksARM, told whether it can use LDM and STM; see
// chacha_asm.go.
func blocks(dst, src *byte, nblocks int, state *[16]uint32) {
	blocksARM(dst, src, nblocks, state, !aligned(dst, src))
}

// wordAligned reports whether blocks can work on dst and src in place: on
// ARMv6 and later always, on ARMv5 only at word-aligned addresses.
func wordAligned(dst, src *byte) bool {
	return unalignedWords || aligned(dst, src)
}

// aligned reports whether dst and src are both word aligned.
func aligned(dst, src *byte) bool {
	return (uintptr(unsafe.Pointer(dst))|uintptr(unsafe.Pointer(src)))&3 == 0
}
