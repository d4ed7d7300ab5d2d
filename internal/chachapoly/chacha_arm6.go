//go:build arm.6

package chachapoly

// unalignedWords: ARMv6 and later load and store words at any address
// (Linux runs them with alignment checking off), so blocks works on data
// at any offset.
const unalignedWords = true
