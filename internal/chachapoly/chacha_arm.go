package chachapoly

import "unsafe"

// bufBlocks is the stack buffer of xorKeyStream in blocks: data that is
// not word aligned goes through it on arm, so it holds several blocks.
const bufBlocks = 4

// wordAligned reports whether blocks can work on dst and src in place:
// chacha_arm.s loads and stores with LDM/STM, which need word-aligned
// addresses on every ARM (ARMv6 and v7 do unaligned LDR/STR, never LDM).
func wordAligned(dst, src *byte) bool {
	return (uintptr(unsafe.Pointer(dst))|uintptr(unsafe.Pointer(src)))&3 == 0
}
