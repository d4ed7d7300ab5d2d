// Command insncount counts the guest instructions that one emulated CPU
// executes between two functions, from a qemu-user log written with
//
//	qemu-mipsel-static -d in_asm,exec,nochain -D LOG prog ...
//
// and is run by arm-build/aeadcount.sh on a fifo, so the log never lands
// on disk.
//
// Why not one instruction per translation block (-singlestep, or
// -one-insn-per-tb since qemu 8.1) and a line count: qemu then writes one
// line-buffered log line per guest instruction, about 350 k instructions a
// second here, which puts the Go runtime's start alone at half a minute.
// Whole blocks are several times fewer lines. A TCG plugin (libinsn.so)
// would be cheaper still, but Debian's qemu-user-static is built without
// plugin support (it has no -plugin option) and ships no plugins.
//
// The log has two kinds of records this reads:
//
//	----------------                         in_asm: a block was translated
//	IN: main.sealOpen
//	0x0014f8a4:  lw	a0,8(s8)              one line per guest instruction
//	0x0014f8a8:  ...
//	                                         (blank line ends the block)
//	Trace 0: 0x7f9ef80000c0 [00000000/0014f8a4/000000a2/00000200] main.sealOpen
//	                                         exec: CPU 0 runs the block at host
//	                                         address 0x7f9e..., guest pc 0x14f8a4
//
// A block is translated just before it first runs, so a Trace line whose pc
// has a translated block waiting takes that block's instruction count for
// its host address; later Trace lines with the same host address reuse it.
// With nochain every executed block gets a Trace line. "Stopped execution
// of TB chain before ADDR" means the block last logged at ADDR did not run
// after all, so its count is taken back.
//
// The count covers the CPU's blocks from the first one in the -from
// function up to, not including, the first later one in the -to function,
// so the emulator's and the Go runtime's start-up are left out and other
// threads (sysmon, idle Ps) never count.
//
// Detours are left out too: from a block in a function named by -detour
// (runtime.morestack by default) until the function that ran before it
// runs again. Go's cooperative preemption enters the scheduler that way
// whenever a goroutine has run 10 ms of wall time, which under an emulator
// is often and never the same twice; stack growth, the only other way in,
// costs the same in every run. Each preemption still leaves the resumed
// function's first blocks counted twice, some ten instructions.
//
// The log's instruction lines carry the count, so the figure is exact for
// blocks that run to their end; a block cut short by a fault would count
// whole (Go code takes no faults on this path). `aeadcount.sh --check`
// compares it with one block per instruction: they agree to 0.2 %, the
// difference being the preemptions above.
package main
