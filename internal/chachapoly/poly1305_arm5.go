//go:build arm && !arm.6

package chachapoly

// polyUnaligned: ARMv5 loads a word from an unaligned address rotated, so
// polyBlocks copies such a message to an aligned buffer first.
const polyUnaligned = false
