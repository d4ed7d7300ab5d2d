//go:build mips || mipsle

package chachapoly

// polyBlocks is in poly1305_mipsx.s: polyBlocksGeneric with the products
// summed in the HI/LO accumulator by MADD, about 100 instructions a block
// against the compiler's 350.
//
//go:noescape
func polyBlocks(p *polyState, m []byte, hibit uint32)
