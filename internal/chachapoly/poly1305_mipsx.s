//go:build mips || mipsle

#include "textflag.h"

// Poly1305 blocks for MIPS32 (both byte orders): polyBlocksGeneric in
// radix 2^26, each of the five 64-bit sums d0..d4 built in HI/LO by one
// MULTU and four MADDs (or five MADDs onto the carry from the previous
// sum), about 100 instructions per 16-byte block. MADD is the signed
// multiply-add; every operand is below 2^29 and every sum below 2^58, so it
// gives the unsigned result. No branch or address depends on key or data.
//
// Registers: R1 m, R2 end of m, R3 hibit<<24, R4 the limb mask 2^26-1,
// R5-R9 r0-r4, R10-R13 s1-s4 (5*r1..5*r4), R14-R18 h0-h4, R19-R22 the
// message words, then the new limbs n0-n3, R24 and R25 scratch (the low
// and high words of a sum, then its carry).

// Unaligned word loads: LWL/LWR (Go's MOVWL/MOVWR), ordered by byte order
// as in runtime/memmove_mipsx.s; on big-endian MIPS the word is then
// byte-swapped (WSBH and ROTR, MIPS32r2) to the little-endian value.
#ifdef GOARCH_mips
#define MOVWHI MOVWL
#define MOVWLO MOVWR
#define SWAP(r) \
	WSBH	r, r; \
	ROTR	$16, r
#else
#define MOVWHI MOVWR
#define MOVWLO MOVWL
#define SWAP(r)
#endif

// CARRY takes the sum in HI/LO: limb = low 26 bits, R24 = sum >> 26 (below
// 2^32 since every sum is below 2^58).
#define CARRY(limb) \
	MOVW	LO, R24; \
	MOVW	HI, R25; \
	AND	R4, R24, limb; \
	SRL	$26, R24; \
	SLL	$6, R25; \
	OR	R25, R24

// NEXT starts the next sum at the carry in R24.
#define NEXT \
	MOVW	R24, LO; \
	MOVW	R0, HI

// func polyBlocks(p *polyState, m []byte, hibit uint32)
TEXT ·polyBlocks(SB), NOSPLIT, $0-20
	MOVW	m_len+8(FP), R2
	BEQ	R2, done
	MOVW	m_base+4(FP), R1
	ADDU	R1, R2
	MOVW	hibit+16(FP), R3
	SLL	$24, R3
	MOVW	$0x3ffffff, R4
	MOVW	p+0(FP), R25
	MOVW	0(R25), R14
	MOVW	4(R25), R15
	MOVW	8(R25), R16
	MOVW	12(R25), R17
	MOVW	16(R25), R18
	MOVW	20(R25), R5
	MOVW	24(R25), R6
	MOVW	28(R25), R7
	MOVW	32(R25), R8
	MOVW	36(R25), R9
	MOVW	40(R25), R10
	MOVW	44(R25), R11
	MOVW	48(R25), R12
	MOVW	52(R25), R13

loop:
	MOVWHI	0(R1), R19
	MOVWLO	3(R1), R19
	MOVWHI	4(R1), R20
	MOVWLO	7(R1), R20
	MOVWHI	8(R1), R21
	MOVWLO	11(R1), R21
	MOVWHI	12(R1), R22
	MOVWLO	15(R1), R22
	SWAP(R19)
	SWAP(R20)
	SWAP(R21)
	SWAP(R22)

	// h += the block as five 26-bit limbs, 2^128*hibit on top.
	AND	R4, R19, R24
	ADDU	R24, R14
	SRL	$26, R19, R24
	SLL	$6, R20, R25
	OR	R25, R24
	AND	R4, R24
	ADDU	R24, R15
	SRL	$20, R20, R24
	SLL	$12, R21, R25
	OR	R25, R24
	AND	R4, R24
	ADDU	R24, R16
	SRL	$14, R21, R24
	SLL	$18, R22, R25
	OR	R25, R24
	AND	R4, R24
	ADDU	R24, R17
	SRL	$8, R22, R24
	OR	R3, R24
	ADDU	R24, R18

	// d0 = h0*r0 + h1*s4 + h2*s3 + h3*s2 + h4*s1
	MULU	R14, R5
	MADD	R15, R13
	MADD	R16, R12
	MADD	R17, R11
	MADD	R18, R10
	CARRY(R19)
	NEXT

	// d1 = c + h0*r1 + h1*r0 + h2*s4 + h3*s3 + h4*s2
	MADD	R14, R6
	MADD	R15, R5
	MADD	R16, R13
	MADD	R17, R12
	MADD	R18, R11
	CARRY(R20)
	NEXT

	// d2 = c + h0*r2 + h1*r1 + h2*r0 + h3*s4 + h4*s3
	MADD	R14, R7
	MADD	R15, R6
	MADD	R16, R5
	MADD	R17, R13
	MADD	R18, R12
	CARRY(R21)
	NEXT

	// d3 = c + h0*r3 + h1*r2 + h2*r1 + h3*r0 + h4*s4
	MADD	R14, R8
	MADD	R15, R7
	MADD	R16, R6
	MADD	R17, R5
	MADD	R18, R13
	CARRY(R22)
	NEXT

	// d4 = c + h0*r4 + h1*r3 + h2*r2 + h3*r1 + h4*r0
	MADD	R14, R9
	MADD	R15, R8
	MADD	R16, R7
	MADD	R17, R6
	MADD	R18, R5
	CARRY(R18)

	// h0 = n0 + 5*c (2^130 = 5 mod p), its carry into h1.
	SLL	$2, R24, R25
	ADDU	R25, R24
	ADDU	R19, R24, R14
	SRL	$26, R14, R24
	AND	R4, R14
	ADDU	R24, R20, R15
	MOVW	R21, R16
	MOVW	R22, R17

	ADDU	$16, R1
	BNE	R1, R2, loop

	MOVW	p+0(FP), R25
	MOVW	R14, 0(R25)
	MOVW	R15, 4(R25)
	MOVW	R16, 8(R25)
	MOVW	R17, 12(R25)
	MOVW	R18, 16(R25)

done:
	RET
