//go:build ignore

// gen.go writes blocks_amd64.s, the compressions of two BLAKE2b chains
// at once, in AVX2 (blocksAVX2) and in AVX2 with AVX-512's rotations
// (blocksAVX512): go generate, or go run gen.go > blocks_amd64.s.
//
// Each chain's 4x4 state of 64-bit words is kept as four rows in YMM
// registers (lane A in Y0-Y3, lane B in Y4-Y7); a round's column step
// and diagonal step are each a G on all four columns at once, and the
// instructions of the two lanes alternate, so that the one lane's
// dependency chain (a G is a chain of add, xor, rotate) runs while the
// other's waits.
package main

import (
	"fmt"
	"os"
	"strings"
)

var sigma = [10][16]int{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	{14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
	{11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
	{7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
	{9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
	{2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
	{12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
	{13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
	{6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
	{10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
}

// lane is one chain's registers: its rows, the message words of the
// current step, a temporary for the rotation by 63, the half register
// the message words are gathered in, and the register holding the
// block's address.
type lane struct {
	a, b, c, d, m, t, x, mx, p string
}

var lanes = [2]lane{
	{"Y0", "Y1", "Y2", "Y3", "Y8", "Y10", "X12", "X8", "SI"},
	{"Y4", "Y5", "Y6", "Y7", "Y9", "Y11", "X13", "X9", "DI"},
}

var out strings.Builder

func emit(format string, a ...any) { fmt.Fprintf(&out, "\t"+format+"\n", a...) }

// both emits the instruction that f makes for each lane.
func both(f func(l lane) string) {
	for _, l := range lanes {
		emit("%s", f(l))
	}
}

// avx512 is whether the function being written may use AVX-512 (F and
// VL) on YMM registers: a rotation in one instruction (VPRORQ), which
// shortens the chain by a cycle per rotation by 63. (Gathering a step's
// message words with VPERMI2Q from the block held in ZMM registers was
// tried too: it was slower on AMD Zen 4 than the loads below.)
var avx512 bool

// load gathers message words w into each lane's m register (AVX2).
func load(w [4]int) {
	both(func(l lane) string { return fmt.Sprintf("VMOVQ %d(%s), %s", 8*w[0], l.p, l.mx) })
	both(func(l lane) string { return fmt.Sprintf("VPINSRQ $1, %d(%s), %s, %s", 8*w[1], l.p, l.mx, l.mx) })
	both(func(l lane) string { return fmt.Sprintf("VMOVQ %d(%s), %s", 8*w[2], l.p, l.x) })
	both(func(l lane) string { return fmt.Sprintf("VPINSRQ $1, %d(%s), %s, %s", 8*w[3], l.p, l.x, l.x) })
	both(func(l lane) string { return fmt.Sprintf("VINSERTI128 $1, %s, %s, %s", l.x, l.m, l.m) })
}

// half is half of G on the four columns: a += b + m; d = (d^a) >>> r1;
// c += d; b = (b^c) >>> r2, with (r1, r2) (32, 24) or (16, 63).
func half(first bool) {
	rot := func(reg string, n int) string {
		switch {
		case avx512:
			return fmt.Sprintf("VPRORQ $%d, %s, %s", n, reg, reg)
		case n == 32:
			return fmt.Sprintf("VPSHUFD $0xb1, %s, %s", reg, reg)
		default:
			return fmt.Sprintf("VPSHUFB ·rotr%d<>(SB), %s, %s", n, reg, reg)
		}
	}
	r1, r2 := 32, 24
	if !first {
		r1, r2 = 16, 63
	}
	both(func(l lane) string { return fmt.Sprintf("VPADDQ %s, %s, %s", l.m, l.a, l.a) })
	both(func(l lane) string { return fmt.Sprintf("VPADDQ %s, %s, %s", l.b, l.a, l.a) })
	both(func(l lane) string { return fmt.Sprintf("VPXOR %s, %s, %s", l.a, l.d, l.d) })
	both(func(l lane) string { return rot(l.d, r1) })
	both(func(l lane) string { return fmt.Sprintf("VPADDQ %s, %s, %s", l.d, l.c, l.c) })
	both(func(l lane) string { return fmt.Sprintf("VPXOR %s, %s, %s", l.c, l.b, l.b) })
	if r2 != 63 || avx512 {
		both(func(l lane) string { return rot(l.b, r2) })
		return
	}
	both(func(l lane) string { return fmt.Sprintf("VPADDQ %s, %s, %s", l.b, l.b, l.t) })
	both(func(l lane) string { return fmt.Sprintf("VPSRLQ $63, %s, %s", l.b, l.b) })
	both(func(l lane) string { return fmt.Sprintf("VPXOR %s, %s, %s", l.t, l.b, l.b) })
}

// permute rotates rows a, c and d (ai, ci, di the VPERMQ immediates),
// turning diagonals into columns and back. Row b stays: it is the last
// of a step to be ready and the first the next step needs (a += b), so
// a rotation of b would lengthen the chain; a, d and c are ready earlier
// and their rotations are done by the time they are needed.
func permute(ai, ci, di int) {
	both(func(l lane) string { return fmt.Sprintf("VPERMQ $0x%02x, %s, %s", ai, l.a, l.a) })
	both(func(l lane) string { return fmt.Sprintf("VPERMQ $0x%02x, %s, %s", di, l.d, l.d) })
	both(func(l lane) string { return fmt.Sprintf("VPERMQ $0x%02x, %s, %s", ci, l.c, l.c) })
}

func round(r int) {
	s := sigma[r%10]
	fmt.Fprintf(&out, "\t// round %d\n", r)
	cols := [8]int{s[0], s[2], s[4], s[6], s[1], s[3], s[5], s[7]}
	// Diagonals: word i of each row is a[i-1], b[i], c[i+1], d[i+2], the
	// diagonal of G7, G4, G5, G6 in turn.
	diags := [8]int{s[14], s[8], s[10], s[12], s[15], s[9], s[11], s[13]}
	for step, w := range [2][8]int{cols, diags} {
		if step == 1 {
			permute(0x93, 0x39, 0x4e)
		}
		load([4]int(w[:4]))
		half(true)
		load([4]int(w[4:]))
		half(false)
	}
	permute(0x39, 0x93, 0x4e)
}

const constants = `// Code generated by gen.go; DO NOT EDIT.

//go:build amd64 && !purego

#include "textflag.h"

DATA ·iv<>+0x00(SB)/8, $0x6a09e667f3bcc908
DATA ·iv<>+0x08(SB)/8, $0xbb67ae8584caa73b
DATA ·iv<>+0x10(SB)/8, $0x3c6ef372fe94f82b
DATA ·iv<>+0x18(SB)/8, $0xa54ff53a5f1d36f1
DATA ·iv<>+0x20(SB)/8, $0x510e527fade682d1
DATA ·iv<>+0x28(SB)/8, $0x9b05688c2b3e6c1f
DATA ·iv<>+0x30(SB)/8, $0x1f83d9abfb41bd6b
DATA ·iv<>+0x38(SB)/8, $0x5be0cd19137e2179
GLOBL ·iv<>(SB), (NOPTR+RODATA), $64

// Byte shuffles rotating each 64-bit word right by 16 and by 24 bits.
DATA ·rotr16<>+0x00(SB)/8, $0x0100070605040302
DATA ·rotr16<>+0x08(SB)/8, $0x09080f0e0d0c0b0a
DATA ·rotr16<>+0x10(SB)/8, $0x0100070605040302
DATA ·rotr16<>+0x18(SB)/8, $0x09080f0e0d0c0b0a
GLOBL ·rotr16<>(SB), (NOPTR+RODATA), $32
DATA ·rotr24<>+0x00(SB)/8, $0x0201000706050403
DATA ·rotr24<>+0x08(SB)/8, $0x0a09080f0e0d0c0b
DATA ·rotr24<>+0x10(SB)/8, $0x0201000706050403
DATA ·rotr24<>+0x18(SB)/8, $0x0a09080f0e0d0c0b
GLOBL ·rotr24<>(SB), (NOPTR+RODATA), $32
`

const prologue = `
// func NAME(a, b *state, pa, pb *byte, n int)
TEXT ·NAME(SB), NOSPLIT, $0-40
	MOVQ a+0(FP), AX
	MOVQ b+8(FP), BX
	MOVQ pa+16(FP), SI
	MOVQ pb+24(FP), DI
	MOVQ n+32(FP), CX
	TESTQ CX, CX
	JZ done
	MOVQ 64(AX), R8
	MOVQ 72(AX), R9
	MOVQ 64(BX), R10
	MOVQ 72(BX), R11

loop:
	// The byte counters count this block; the state is h, then the IV
	// with the counter in its fifth and sixth words.
	ADDQ $128, R8
	ADCQ $0, R9
	ADDQ $128, R10
	ADCQ $0, R11
	VMOVDQU 0(AX), Y0
	VMOVDQU 32(AX), Y1
	VMOVDQU ·iv<>+0(SB), Y2
	VMOVQ R8, X3
	VPINSRQ $1, R9, X3, X3
	VPXOR ·iv<>+32(SB), Y3, Y3
	VMOVDQU 0(BX), Y4
	VMOVDQU 32(BX), Y5
	VMOVDQU ·iv<>+0(SB), Y6
	VMOVQ R10, X7
	VPINSRQ $1, R11, X7, X7
	VPXOR ·iv<>+32(SB), Y7, Y7
`

const epilogue = `
	// h ^= v[0:8] ^ v[8:16]
	VPXOR Y2, Y0, Y0
	VPXOR 0(AX), Y0, Y0
	VMOVDQU Y0, 0(AX)
	VPXOR Y3, Y1, Y1
	VPXOR 32(AX), Y1, Y1
	VMOVDQU Y1, 32(AX)
	VPXOR Y6, Y4, Y4
	VPXOR 0(BX), Y4, Y4
	VMOVDQU Y4, 0(BX)
	VPXOR Y7, Y5, Y5
	VPXOR 32(BX), Y5, Y5
	VMOVDQU Y5, 32(BX)

	ADDQ $128, SI
	ADDQ $128, DI
	DECQ CX
	JNZ loop

	MOVQ R8, 64(AX)
	MOVQ R9, 72(AX)
	MOVQ R10, 64(BX)
	MOVQ R11, 72(BX)
	VZEROUPPER

done:
	RET
`

// function writes the function name, with AVX-512 or without.
func function(name string, with512 bool) {
	avx512 = with512
	out.WriteString(strings.ReplaceAll(prologue, "NAME", name))
	out.WriteString("\n")
	for r := 0; r < 12; r++ {
		round(r)
	}
	out.WriteString(epilogue)
}

func main() {
	out.WriteString(constants)
	function("blocksAVX2", false)
	function("blocksAVX512", true)
	os.Stdout.WriteString(out.String())
}
