package chachapoly

import "encoding/binary"

// polyState is Poly1305 (RFC 8439 section 2.5) in radix 2^26: five 26-bit
// limbs, so that every product is 32x32->64 bits, which the 32-bit
// compilers turn into one MULTU (mips) or UMULL (arm) rather than the
// emulated 64x64-bit multiplies of a radix-2^64 implementation. The block
// function reads r, s and h at fixed offsets (poly1305_mipsx.s): keep the
// field order.
type polyState struct {
	h   [5]uint32 // the accumulator, limbs partially reduced (< 2^26 + a little)
	r   [5]uint32 // the clamped key half r, limbs < 2^26
	s   [4]uint32 // 5*r[1..4], for the reduction 2^130 = 5 (mod p)
	pad [4]uint32 // the key half s, added at the end
}

// polyInit clamps r and loads s from the one-time key.
func polyInit(p *polyState, key *[32]byte) {
	t0 := binary.LittleEndian.Uint32(key[0:])
	t1 := binary.LittleEndian.Uint32(key[4:])
	t2 := binary.LittleEndian.Uint32(key[8:])
	t3 := binary.LittleEndian.Uint32(key[12:])
	// Clamping (r &= 0x0ffffffc0ffffffc0ffffffc0fffffff) folded into the
	// limb masks, as in poly1305-donna.
	p.r[0] = t0 & 0x3ffffff
	p.r[1] = (t0>>26 | t1<<6) & 0x3ffff03
	p.r[2] = (t1>>20 | t2<<12) & 0x3ffc0ff
	p.r[3] = (t2>>14 | t3<<18) & 0x3f03fff
	p.r[4] = t3 >> 8 & 0x00fffff
	for i := range p.s {
		p.s[i] = p.r[i+1] * 5
	}
	p.h = [5]uint32{}
	for i := range p.pad {
		p.pad[i] = binary.LittleEndian.Uint32(key[16+4*i:])
	}
}

// polyBlocksGeneric adds each 16-byte block of m (len(m) a multiple of 16)
// with 2^128 times hibit (1 for a full block, 0 for the padded last block
// of a message whose length is not a multiple of 16) to h and multiplies
// by r modulo 2^130-5. Straight-line, no data-dependent branch or index.
func polyBlocksGeneric(p *polyState, m []byte, hibit uint32) {
	const mask = 0x3ffffff
	r0, r1, r2, r3, r4 := uint64(p.r[0]), uint64(p.r[1]), uint64(p.r[2]), uint64(p.r[3]), uint64(p.r[4])
	s1, s2, s3, s4 := uint64(p.s[0]), uint64(p.s[1]), uint64(p.s[2]), uint64(p.s[3])
	h0, h1, h2, h3, h4 := p.h[0], p.h[1], p.h[2], p.h[3], p.h[4]
	hi := hibit << 24
	for len(m) >= 16 {
		t0 := binary.LittleEndian.Uint32(m[0:])
		t1 := binary.LittleEndian.Uint32(m[4:])
		t2 := binary.LittleEndian.Uint32(m[8:])
		t3 := binary.LittleEndian.Uint32(m[12:])
		h0 += t0 & mask
		h1 += (t0>>26 | t1<<6) & mask
		h2 += (t1>>20 | t2<<12) & mask
		h3 += (t2>>14 | t3<<18) & mask
		h4 += t3>>8 | hi

		// uint64(a)*uint64(b) of two zero-extended 32-bit values is one
		// 32x32->64 multiply on the 32-bit targets.
		a0, a1, a2, a3, a4 := uint64(h0), uint64(h1), uint64(h2), uint64(h3), uint64(h4)
		d0 := a0*r0 + a1*s4 + a2*s3 + a3*s2 + a4*s1
		d1 := a0*r1 + a1*r0 + a2*s4 + a3*s3 + a4*s2
		d2 := a0*r2 + a1*r1 + a2*r0 + a3*s4 + a4*s3
		d3 := a0*r3 + a1*r2 + a2*r1 + a3*r0 + a4*s4
		d4 := a0*r4 + a1*r3 + a2*r2 + a3*r1 + a4*r0

		// Partial carry: each limb back under 2^26 except h1, which may
		// exceed it by the carry from h0 (the next block's sums have
		// room for that).
		c := uint32(d0 >> 26)
		h0 = uint32(d0) & mask
		d1 += uint64(c)
		c = uint32(d1 >> 26)
		h1 = uint32(d1) & mask
		d2 += uint64(c)
		c = uint32(d2 >> 26)
		h2 = uint32(d2) & mask
		d3 += uint64(c)
		c = uint32(d3 >> 26)
		h3 = uint32(d3) & mask
		d4 += uint64(c)
		c = uint32(d4 >> 26)
		h4 = uint32(d4) & mask
		h0 += c * 5
		c = h0 >> 26
		h0 &= mask
		h1 += c

		m = m[16:]
	}
	p.h = [5]uint32{h0, h1, h2, h3, h4}
}

// polyFinish reduces h fully modulo 2^130-5, adds the key half s modulo
// 2^128 and writes the tag. Constant time: the final subtraction of p is
// selected with a mask, not a branch.
func polyFinish(p *polyState, tag *[16]byte) {
	const mask = 0x3ffffff
	h0, h1, h2, h3, h4 := p.h[0], p.h[1], p.h[2], p.h[3], p.h[4]

	c := h1 >> 26
	h1 &= mask
	h2 += c
	c = h2 >> 26
	h2 &= mask
	h3 += c
	c = h3 >> 26
	h3 &= mask
	h4 += c
	c = h4 >> 26
	h4 &= mask
	h0 += c * 5
	c = h0 >> 26
	h0 &= mask
	h1 += c

	// g = h + 5 - 2^130; if it does not borrow, h >= p and g is h mod p.
	g0 := h0 + 5
	c = g0 >> 26
	g0 &= mask
	g1 := h1 + c
	c = g1 >> 26
	g1 &= mask
	g2 := h2 + c
	c = g2 >> 26
	g2 &= mask
	g3 := h3 + c
	c = g3 >> 26
	g3 &= mask
	g4 := h4 + c - 1<<26

	// sel is all ones when g4 did not borrow (h >= p), else zero.
	sel := (g4 >> 31) - 1
	g0 &= sel
	g1 &= sel
	g2 &= sel
	g3 &= sel
	g4 &= sel
	sel = ^sel
	h0 = h0&sel | g0
	h1 = h1&sel | g1
	h2 = h2&sel | g2
	h3 = h3&sel | g3
	h4 = h4&sel | g4

	// h mod 2^128 in four 32-bit words, plus pad with carries.
	w0 := uint64(h0 | h1<<26)
	w1 := uint64(h1>>6 | h2<<20)
	w2 := uint64(h2>>12 | h3<<14)
	w3 := uint64(h3>>18 | h4<<8)
	f := w0 + uint64(p.pad[0])
	binary.LittleEndian.PutUint32(tag[0:], uint32(f))
	f = w1 + uint64(p.pad[1]) + f>>32
	binary.LittleEndian.PutUint32(tag[4:], uint32(f))
	f = w2 + uint64(p.pad[2]) + f>>32
	binary.LittleEndian.PutUint32(tag[8:], uint32(f))
	f = w3 + uint64(p.pad[3]) + f>>32
	binary.LittleEndian.PutUint32(tag[12:], uint32(f))
}

// polyPadded feeds m as RFC 8439's AEAD does: whole blocks, then the tail
// (if any) zero-padded to 16 bytes, as a full block (pad16).
func polyPadded(p *polyState, m []byte) {
	full := len(m) &^ 15
	if full > 0 {
		polyBlocks(p, m[:full], 1)
	}
	if full < len(m) {
		var b [16]byte
		copy(b[:], m[full:])
		polyBlocks(p, b[:], 1)
	}
}

// poly1305Sum is the one-shot Poly1305 MAC of RFC 8439 section 2.5 (used
// by the tests; the AEAD feeds the state directly).
func poly1305Sum(tag *[16]byte, m []byte, key *[32]byte) {
	var p polyState
	polyInit(&p, key)
	full := len(m) &^ 15
	if full > 0 {
		polyBlocks(&p, m[:full], 1)
	}
	if full < len(m) {
		var b [16]byte
		n := copy(b[:], m[full:])
		b[n] = 1
		polyBlocks(&p, b[:], 0)
	}
	polyFinish(&p, tag)
}
