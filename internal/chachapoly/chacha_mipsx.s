//go:build mips || mipsle

#include "textflag.h"

// ChaCha20 blocks for MIPS32r2 (mips_24kc, mipsel_24kc: the 24Kc, 74Kc and
// 1004Kc cores), both byte orders. The sixteen state words live in R1-R16
// through all twenty rounds; ROTR (MIPS32r2) makes each rotate one
// instruction, so a quarter round is 12 instructions and a block about
// 1,100 (17 per byte). No branch or address depends on key, nonce or data.
// Release 1 cores run ROTR as a shift: chacha_mipsx.go checks with
// rotrRotates before using any of this.
//
// Registers: R1-R16 x0-x15, R17 double-round pairs left, R18 src, R19 dst,
// R20 blocks left, R21 the initial state, R24 the block counter, R22 and
// R25 scratch.

// Unaligned word access: LWL/LWR (Go's MOVWL/MOVWR) and SWL/SWR, the pair
// ordered by byte order as in runtime/memmove_mipsx.s.
#ifdef GOARCH_mips
#define MOVWHI MOVWL
#define MOVWLO MOVWR
#else
#define MOVWHI MOVWR
#define MOVWLO MOVWL
#endif

// A quarter round; rotate left by n is ROTR by 32-n.
#define QR(a, b, c, d) \
	ADDU	b, a; \
	XOR	a, d; \
	ROTR	$16, d; \
	ADDU	d, c; \
	XOR	c, b; \
	ROTR	$20, b; \
	ADDU	b, a; \
	XOR	a, d; \
	ROTR	$24, d; \
	ADDU	d, c; \
	XOR	c, b; \
	ROTR	$25, b

// A column round and a diagonal round.
#define DOUBLEROUND \
	QR(R1, R5, R9, R13); \
	QR(R2, R6, R10, R14); \
	QR(R3, R7, R11, R15); \
	QR(R4, R8, R12, R16); \
	QR(R1, R6, R11, R16); \
	QR(R2, R7, R12, R13); \
	QR(R3, R8, R9, R14); \
	QR(R4, R5, R10, R15)

// SWAP makes the little-endian keystream word r the word a big-endian load
// of the same four bytes gives (WSBH swaps the bytes in each half, the
// rotate the halves); nothing on little-endian MIPS.
#ifdef GOARCH_mips
#define SWAP(r) \
	WSBH	r, r; \
	ROTR	$16, r
#else
#define SWAP(r)
#endif

// OUT finishes word i of the block in x (adding the input word in, which
// is already in R22) and XORs it into dst at off from src at off.
#define OUT(x, off) \
	ADDU	R22, x; \
	SWAP(x); \
	MOVWHI	off(R18), R25; \
	MOVWLO	off+3(R18), R25; \
	XOR	R25, x; \
	MOVWHI	x, off(R19); \
	MOVWLO	x, off+3(R19)

#define OUTIN(x, off) \
	MOVW	off(R21), R22; \
	OUT(x, off)

// func blocks(dst, src *byte, nblocks int, state *[16]uint32)
TEXT ·blocks(SB), NOSPLIT, $0-16
	MOVW	dst+0(FP), R19
	MOVW	src+4(FP), R18
	MOVW	nblocks+8(FP), R20
	MOVW	state+12(FP), R21
	MOVW	48(R21), R24

block:
	MOVW	0(R21), R1
	MOVW	4(R21), R2
	MOVW	8(R21), R3
	MOVW	12(R21), R4
	MOVW	16(R21), R5
	MOVW	20(R21), R6
	MOVW	24(R21), R7
	MOVW	28(R21), R8
	MOVW	32(R21), R9
	MOVW	36(R21), R10
	MOVW	40(R21), R11
	MOVW	44(R21), R12
	MOVW	R24, R13
	MOVW	52(R21), R14
	MOVW	56(R21), R15
	MOVW	60(R21), R16
	MOVW	$5, R17

round:
	DOUBLEROUND
	DOUBLEROUND
	SUBU	$1, R17
	BNE	R17, round

	OUTIN(R1, 0)
	OUTIN(R2, 4)
	OUTIN(R3, 8)
	OUTIN(R4, 12)
	OUTIN(R5, 16)
	OUTIN(R6, 20)
	OUTIN(R7, 24)
	OUTIN(R8, 28)
	OUTIN(R9, 32)
	OUTIN(R10, 36)
	OUTIN(R11, 40)
	OUTIN(R12, 44)
	MOVW	R24, R22
	OUT(R13, 48)
	OUTIN(R14, 52)
	OUTIN(R15, 56)
	OUTIN(R16, 60)

	ADDU	$64, R18
	ADDU	$64, R19
	ADDU	$1, R24
	SUBU	$1, R20
	BNE	R20, block
	RET

// func rotrRotates() bool
// Release 1 cores decode ROTR as SRL (the rotate bit is ignored), so the
// result tells the two apart; WSBH, the other release 2 instruction used
// here, is not run before this says yes.
TEXT ·rotrRotates(SB), NOSPLIT, $0-1
	MOVW	$0x12345678, R1
	ROTR	$8, R1
	MOVW	$0x78123456, R2
	SGTU	R1, R2, R3
	SGTU	R2, R1, R4
	OR	R4, R3
	XOR	$1, R3
	MOVB	R3, ret+0(FP)
	RET
