//go:build arm && arm.6

package chachapoly

// polyUnaligned: ARMv6 and later load words at any address (Linux runs
// them with alignment checking off), so polyBlocks reads the message where
// it is.
const polyUnaligned = true
