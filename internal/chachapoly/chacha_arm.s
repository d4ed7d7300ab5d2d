#include "textflag.h"

// ChaCha20 blocks for 32-bit ARM, ARMv6 and ARMv7 alike (no NEON, so
// GOARM=6 works). No branch or address depends on key, nonce or data.
//
// Go leaves thirteen registers to assembly (R10 is g, R13 SP, R15 PC; R14,
// the link register, is saved in the frame; R11, the assembler's
// temporary, is free where no instruction needs it synthesised, as in
// crypto/md5's md5block_arm.s). They hold the a and b rows (x0-x3 in R0-R3,
// x4-x7 in R4-R7), two words of the c row (R8, R9) and three of the d row
// (R11, R12, R14); the other three live in the frame, and the quarter
// rounds are ordered so that a double round swaps only six words with it
// (12 loads and stores, see DOUBLEROUND), about 14 instructions a byte in
// all.
//
// Rotates cost nothing: ARM's second operand can be rotated, so each
// rotate is left pending in the register and done by the next instruction
// that reads it. Between quarter rounds every b word is held rotated right
// by 7 (its value is b@>25, b rotated left by 7) and every d word rotated
// right by 8 (its value is d@>24); a quarter round is then eight
// instructions (see QR), against twelve with the rotates.
//
// Frame (offsets from R13; 0(R13) is the saved link register):
#define IN 4 // the input state, 16 words; IN+48 is the block counter
#define C 68 // x8-x11, the c row, where not in registers
#define D 84 // x12-x15, the d row held rotated (see QR), likewise
#define SRC 100
#define DST 104
#define NBLOCKS 108
#define ROUNDS 112 // pairs of double rounds left
#define UNALIGNED 116 // not 0: src or dst is not word aligned

// QR is a quarter round on a, b, c, d with b and d held rotated as above.
// Each line's comment is the RFC 8439 step it does.
#define QR(a, b, c, d) \
	ADD	b@>25, a; /* a += b */ \
	EOR	d@>24, a, d; /* d ^= a; d <<<= 16 pending: d is d@>16 */ \
	ADD	d@>16, c; /* c += d */ \
	EOR	b@>25, c, b; /* b ^= c; b <<<= 12 pending: b is b@>20 */ \
	ADD	b@>20, a; /* a += b */ \
	EOR	d@>16, a, d; /* d ^= a; d <<<= 8 pending: d is d@>24 */ \
	ADD	d@>24, c; /* c += d */ \
	EOR	b@>20, c, b /* b ^= c; b <<<= 7 pending: b is b@>25 */

// DOUBLEROUND and LASTQR are a column round and a diagonal round. They
// start and end with c0 c1 in R8 R9 and d0 d1 d2 in R11 R12 R14 (c2 c3 d3
// in the frame); in between, one c or d register at a time is stored and
// reloaded with the word the next quarter round needs. The last quarter
// round is split out so that the loop can count with R9 while it is free.
#define DOUBLEROUND \
	QR(R0, R4, R8, R11); /* x0 x4 x8 x12 */ \
	QR(R1, R5, R9, R12); /* x1 x5 x9 x13 */ \
	MOVW	R8, (C+0)(R13); \
	MOVW	(C+8)(R13), R8; \
	QR(R2, R6, R8, R14); /* x2 x6 x10 x14 */ \
	MOVW	R9, (C+4)(R13); \
	MOVW	(C+12)(R13), R9; \
	MOVW	R12, (D+4)(R13); \
	MOVW	(D+12)(R13), R12; \
	QR(R3, R7, R9, R12); /* x3 x7 x11 x15 */ \
	QR(R0, R5, R8, R12); /* x0 x5 x10 x15 */ \
	QR(R1, R6, R9, R11); /* x1 x6 x11 x12 */ \
	MOVW	R8, (C+8)(R13); \
	MOVW	(C+0)(R13), R8; \
	MOVW	R12, (D+12)(R13); \
	MOVW	(D+4)(R13), R12; \
	QR(R2, R7, R8, R12); /* x2 x7 x8 x13 */ \
	MOVW	R9, (C+12)(R13)

// LASTQR ends DOUBLEROUND: c1 back to R9, and the quarter round on x3 x4
// x9 x14.
#define LASTQR \
	MOVW	(C+4)(R13), R9; \
	QR(R3, R4, R9, R14)

// XOR8UNALIGNED XORs eight words of src into R0-R7 and stores them to dst
// with single loads and stores, which ARMv6 and later do at any address.
#define XOR8UNALIGNED \
	MOVW.P	4(R14), R8; EOR	R8, R0; \
	MOVW.P	4(R14), R8; EOR	R8, R1; \
	MOVW.P	4(R14), R8; EOR	R8, R2; \
	MOVW.P	4(R14), R8; EOR	R8, R3; \
	MOVW.P	4(R14), R8; EOR	R8, R4; \
	MOVW.P	4(R14), R8; EOR	R8, R5; \
	MOVW.P	4(R14), R8; EOR	R8, R6; \
	MOVW.P	4(R14), R8; EOR	R8, R7; \
	MOVW	R14, SRC(R13); \
	MOVW	DST(R13), R14; \
	MOVW.P	R0, 4(R14); \
	MOVW.P	R1, 4(R14); \
	MOVW.P	R2, 4(R14); \
	MOVW.P	R3, 4(R14); \
	MOVW.P	R4, 4(R14); \
	MOVW.P	R5, 4(R14); \
	MOVW.P	R6, 4(R14); \
	MOVW.P	R7, 4(R14); \
	MOVW	R14, DST(R13)

// func blocksARM(dst, src *byte, nblocks int, state *[16]uint32, unaligned bool)
// With unaligned false, dst and src must be word aligned (LDM and STM);
// with it true, the CPU must be ARMv6 or later.
TEXT ·blocksARM(SB), NOSPLIT, $120-17
	MOVW	dst+0(FP), R0
	MOVW	src+4(FP), R1
	MOVW	nblocks+8(FP), R2
	MOVW	state+12(FP), R3
	MOVBU	unaligned+16(FP), R4
	MOVW	R0, DST(R13)
	MOVW	R1, SRC(R13)
	MOVW	R2, NBLOCKS(R13)
	MOVW	R4, UNALIGNED(R13)
	ADD	$IN, R13, R2
	MOVM.IA.W	(R3), [R4-R9,R12,R14]
	MOVM.IA.W	[R4-R9,R12,R14], (R2)
	MOVM.IA	(R3), [R4-R9,R12,R14]
	MOVM.IA	[R4-R9,R12,R14], (R2)

block:
	// The c and d rows, the d words rotated right by 8: c0 c1 d0 d1 d2 to
	// R8 R9 R11 R12 R14, c2 c3 d3 to the frame.
	MOVW	(IN+32)(R13), R8
	MOVW	(IN+36)(R13), R9
	MOVW	(IN+40)(R13), R0
	MOVW	R0, (C+8)(R13)
	MOVW	(IN+44)(R13), R0
	MOVW	R0, (C+12)(R13)
	MOVW	(IN+48)(R13), R11
	MOVW	R11@>8, R11
	MOVW	(IN+52)(R13), R12
	MOVW	R12@>8, R12
	MOVW	(IN+56)(R13), R14
	MOVW	R14@>8, R14
	MOVW	(IN+60)(R13), R0
	MOVW	R0@>8, R0
	MOVW	R0, (D+12)(R13)
	MOVW	$5, R0
	MOVW	R0, ROUNDS(R13)
	// The a and b rows, the b words rotated right by 7.
	MOVM.IB	(R13), [R0-R7]
	MOVW	R4@>7, R4
	MOVW	R5@>7, R5
	MOVW	R6@>7, R6
	MOVW	R7@>7, R7

round:
	DOUBLEROUND
	LASTQR
	DOUBLEROUND
	// LASTQR, counting the double-round pairs with R9 while it is free.
	MOVW	ROUNDS(R13), R9
	SUB.S	$1, R9
	MOVW	R9, ROUNDS(R13)
	MOVW	(C+4)(R13), R9
	QR(R3, R4, R9, R14)
	BNE	round

	MOVW	R8, (C+0)(R13)
	MOVW	R9, (C+4)(R13)
	MOVW	R11, (D+0)(R13)
	MOVW	R12, (D+4)(R13)
	MOVW	R14, (D+8)(R13)

	// x0-x7: add the input, XOR with src, store to dst.
	MOVM.IB	(R13), [R8,R9,R12,R14]
	ADD	R8, R0
	ADD	R9, R1
	ADD	R12, R2
	ADD	R14, R3
	ADD	$(IN+12), R13, R11
	MOVM.IB	(R11), [R8,R9,R12,R14]
	ADD	R4@>25, R8, R4
	ADD	R5@>25, R9, R5
	ADD	R6@>25, R12, R6
	ADD	R7@>25, R14, R7
	MOVW	SRC(R13), R14
	MOVW	UNALIGNED(R13), R8
	CMP	$0, R8
	BNE	unaligned1
	MOVM.IA.W	(R14), [R8,R9,R12]
	EOR	R8, R0
	EOR	R9, R1
	EOR	R12, R2
	MOVM.IA.W	(R14), [R8,R9,R12]
	EOR	R8, R3
	EOR	R9, R4
	EOR	R12, R5
	MOVM.IA.W	(R14), [R8,R9]
	EOR	R8, R6
	EOR	R9, R7
	MOVW	R14, SRC(R13)
	MOVW	DST(R13), R14
	MOVM.IA.W	[R0-R7], (R14)
	MOVW	R14, DST(R13)
	B	done1
unaligned1:
	XOR8UNALIGNED
done1:

	// x8-x15.
	ADD	$C, R13, R11
	MOVM.IA	(R11), [R0-R7]
	ADD	$(IN+28), R13, R11
	MOVM.IB	(R11), [R8,R9,R12,R14]
	ADD	R8, R0
	ADD	R9, R1
	ADD	R12, R2
	ADD	R14, R3
	ADD	$(IN+44), R13, R11
	MOVM.IB	(R11), [R8,R9,R12,R14]
	ADD	R4@>24, R8, R4
	ADD	R5@>24, R9, R5
	ADD	R6@>24, R12, R6
	ADD	R7@>24, R14, R7
	ADD	$1, R8
	MOVW	R8, (IN+48)(R13)
	MOVW	SRC(R13), R14
	MOVW	UNALIGNED(R13), R8
	CMP	$0, R8
	BNE	unaligned2
	MOVM.IA.W	(R14), [R8,R9,R12]
	EOR	R8, R0
	EOR	R9, R1
	EOR	R12, R2
	MOVM.IA.W	(R14), [R8,R9,R12]
	EOR	R8, R3
	EOR	R9, R4
	EOR	R12, R5
	MOVM.IA.W	(R14), [R8,R9]
	EOR	R8, R6
	EOR	R9, R7
	MOVW	R14, SRC(R13)
	MOVW	DST(R13), R14
	MOVM.IA.W	[R0-R7], (R14)
	MOVW	R14, DST(R13)
	B	done2
unaligned2:
	XOR8UNALIGNED
done2:

	MOVW	NBLOCKS(R13), R0
	SUB.S	$1, R0
	MOVW	R0, NBLOCKS(R13)
	BNE	block
	RET
