#include "textflag.h"

// Poly1305 full blocks for ARM (every GOARM): polyBlocksGeneric in radix
// 2^26 with hibit 1, each 64-bit sum d0..d4 built by one UMULL (MULLU) and
// four UMLALs (MULALU) or five UMLALs onto the carry from the previous
// sum, 89 instructions per 16-byte block. Eleven registers do not hold r
// and 5*r as well as h, so the coefficients come from the state (three
// registers, 13 loads a block), and the new limbs n0..n3 wait in p.h until
// the last sum has used the old ones. No branch or address depends on key
// or data.
//
// Registers: R0-R4 h0-h4, R5/R6 the low/high word of a sum (then its
// carry), R7, R8 and R11 the message words, scratch and coefficients (R11
// is the assembler's temporary: nothing here makes it need one), R9 m,
// R12 p.
// m_len+8(FP) is reused for the end of m.

// State offsets (polyState): h at 0, r0..r4 at 20..36, s1..s4 at 40..52.
#define R0OFF 20
#define R1OFF 24
#define R2OFF 28
#define R3OFF 32
#define R4OFF 36
#define S1OFF 40
#define S2OFF 44
#define S3OFF 48
#define S4OFF 52

// The 26-bit limb mask as BIC's immediate: the top six bits.
#define TOP6 $0xfc000000

// LMAC loads the coefficient at off(R12) into k and adds h*k to the sum
// in (hi, lo); MAC adds h*k with k already loaded.
#define LMAC(h, off, k, hi, lo) \
	MOVW	off(R12), k; \
	MULALU	h, k, (hi, lo)

#define MAC(h, k, hi, lo) \
	MULALU	h, k, (hi, lo)

// CARRY stores the low 26 bits of the sum in (hi, lo) as the new limb at
// off(R12) and leaves the sum >> 26 (below 2^32: every sum is below 2^58)
// in hi and 0 in lo: the next sum starts there with the two registers'
// roles swapped, which keeps R7, R8 and R11 free for the coefficients.
#define CARRY(off, hi, lo) \
	MOVW	hi<<6, hi; \
	ORR	lo>>26, hi; \
	BIC	TOP6, lo; \
	MOVW	lo, off(R12); \
	MOVW	$0, lo

// func polyBlocksARM(p *polyState, m *byte, n int)
TEXT ·polyBlocksARM(SB), NOSPLIT, $0-12
	MOVW	p+0(FP), R12
	MOVW	m+4(FP), R9
	MOVW	n+8(FP), R7
	ADD	R9, R7
	MOVW	R7, n+8(FP)
	MOVM.IA	(R12), [R0-R4]

loop:
	// h += the block as five 26-bit limbs, 2^128 on top.
	MOVW.P	4(R9), R5
	MOVW.P	4(R9), R6
	MOVW.P	4(R9), R7
	MOVW.P	4(R9), R8
	BIC	TOP6, R5, R11
	ADD	R11, R0
	MOVW	R5>>26, R11
	ORR	R6<<6, R11
	BIC	TOP6, R11
	ADD	R11, R1
	MOVW	R6>>20, R11
	ORR	R7<<12, R11
	BIC	TOP6, R11
	ADD	R11, R2
	MOVW	R7>>14, R11
	ORR	R8<<18, R11
	BIC	TOP6, R11
	ADD	R11, R3
	ADD	R8>>8, R4
	ADD	$(1<<24), R4

	// The five sums take their coefficients from the state through R7,
	// R8 and R11 (A, B, C), ordered so that each sum finds three of its
	// five already loaded by the one before: 13 loads a block, not 25.

	// d0 = h0*r0 + h1*s4 + h2*s3 + h3*s2 + h4*s1, in (R6, R5)
	MOVW	S1OFF(R12), R7
	MULLU	R4, R7, (R6, R5)
	LMAC(R0, R0OFF, R8, R6, R5)
	LMAC(R3, S2OFF, R11, R6, R5)
	LMAC(R2, S3OFF, R7, R6, R5)
	LMAC(R1, S4OFF, R8, R6, R5)
	CARRY(0, R6, R5)

	// d1 = c + h0*r1 + h1*r0 + h2*s4 + h3*s3 + h4*s2, in (R5, R6);
	// R7=s3 R8=s4 R11=s2
	MAC(R4, R11, R5, R6)
	LMAC(R0, R1OFF, R11, R5, R6)
	MAC(R3, R7, R5, R6)
	LMAC(R1, R0OFF, R7, R5, R6)
	MAC(R2, R8, R5, R6)
	CARRY(4, R5, R6)

	// d2 = c + h0*r2 + h1*r1 + h2*r0 + h3*s4 + h4*s3, in (R6, R5);
	// R7=r0 R8=s4 R11=r1
	MAC(R3, R8, R6, R5)
	LMAC(R4, S3OFF, R8, R6, R5)
	LMAC(R0, R2OFF, R8, R6, R5)
	MAC(R1, R11, R6, R5)
	MAC(R2, R7, R6, R5)
	CARRY(8, R6, R5)

	// d3 = c + h0*r3 + h1*r2 + h2*r1 + h3*r0 + h4*s4, in (R5, R6);
	// R7=r0 R8=r2 R11=r1
	MAC(R1, R8, R5, R6)
	LMAC(R4, S4OFF, R8, R5, R6)
	LMAC(R0, R3OFF, R8, R5, R6)
	MAC(R2, R11, R5, R6)
	MAC(R3, R7, R5, R6)
	CARRY(12, R5, R6)

	// d4 = c + h0*r4 + h1*r3 + h2*r2 + h3*r1 + h4*r0, in (R6, R5);
	// R7=r0 R8=r3 R11=r1
	MAC(R1, R8, R6, R5)
	LMAC(R0, R4OFF, R8, R6, R5)
	LMAC(R2, R2OFF, R8, R6, R5)
	MAC(R3, R11, R6, R5)
	MAC(R4, R7, R6, R5)
	BIC	TOP6, R5, R4
	MOVW	R5>>26, R5
	ORR	R6<<6, R5

	// h0 = n0 + 5*c (2^130 = 5 mod p), its carry into h1.
	ADD	R5<<2, R5
	MOVM.IA	(R12), [R0-R3]
	ADD	R5, R0
	ADD	R0>>26, R1
	BIC	TOP6, R0

	MOVW	n+8(FP), R7
	CMP	R7, R9
	BNE	loop

	MOVM.IA	[R0-R4], (R12)
	RET
