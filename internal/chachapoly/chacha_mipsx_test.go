//go:build mips || mipsle

package chachapoly

import "testing"

// TestChaCha20MIPSAssembly makes sure the other tests ran the assembly:
// qemu-mips(el)-static emulates a 24Kf, release 2, by default. Under
// "-cpu 4Kc" (release 1) haveAsm is false instead: this test
// fails there, and the rest run the portable code.
func TestChaCha20MIPSAssembly(t *testing.T) {
	if !haveAsm {
		t.Fatal("rotrRotates says this CPU is MIPS32 release 1: ChaCha20 ran the portable code, not the assembly")
	}
}
