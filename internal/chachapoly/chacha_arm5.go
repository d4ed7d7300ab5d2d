//go:build arm && !arm.6

package chachapoly

// unalignedWords: ARMv5 loads a word from an unaligned address rotated,
// so data that is not word aligned goes through xorKeyStream's buffer.
const unalignedWords = false
