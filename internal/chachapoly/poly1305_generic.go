//go:build !mips && !mipsle && !arm

package chachapoly

// polyBlocks is the Poly1305 block function for this architecture; see
// polyBlocksGeneric.
func polyBlocks(p *polyState, m []byte, hibit uint32) {
	polyBlocksGeneric(p, m, hibit)
}
