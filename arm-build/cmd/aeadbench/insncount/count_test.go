package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// block writes an in_asm record: a block of n instructions at pc.
func block(sym string, pc uint64, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "----------------\nIN: %s\n", sym)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "0x%08x:  addiu\tsp,sp,-4\n", pc+uint64(4*i))
	}
	b.WriteString("\n")
	return b.String()
}

// trace writes an exec record: CPU cpu runs the block at host, pc.
func trace(cpu int, host, pc uint64, sym string) string {
	return fmt.Sprintf("Trace %d: 0x%x [00000000/%08x/000000a2/00080200] %s\n", cpu, host, pc, sym)
}

func stoppedLine(host, pc uint64, sym string) string {
	return fmt.Sprintf("Stopped execution of TB chain before 0x%x [%08x] %s\n", host, pc, sym)
}

// sampleLog has start-up code, a window with a detour and a Stopped block,
// another CPU's blocks and code after the window. Inside the window CPU 0
// runs 5+7+7+3 = 22 instructions in 4 counted blocks.
func sampleLog() string {
	var b strings.Builder
	w := b.WriteString
	w(block("runtime.rt0_go", 0x1000, 9))
	w(trace(0, 0xa000, 0x1000, "runtime.rt0_go"))
	w(block("main.run", 0x2000, 4))
	w(trace(0, 0xa100, 0x2000, "main.run"))
	w(block("main.sealOpen", 0x3000, 5))
	w(trace(0, 0xa200, 0x3000, "main.sealOpen"))
	w(block("golang.org/x/crypto/chacha20.quarterRound", 0x4000, 7))
	w(trace(0, 0xa300, 0x4000, "golang.org/x/crypto/chacha20.quarterRound"))
	w(trace(0, 0xa300, 0x4000, "golang.org/x/crypto/chacha20.quarterRound"))
	// Another thread: never counted, even in the window.
	w(block("runtime.sysmon", 0x5000, 50))
	w(trace(1, 0xa400, 0x5000, "runtime.sysmon"))
	w(trace(1, 0xa400, 0x5000, "runtime.sysmon"))
	// A block that was logged but did not run.
	w(trace(0, 0xa300, 0x4000, "golang.org/x/crypto/chacha20.quarterRound"))
	w(stoppedLine(0xa300, 0x4000, "golang.org/x/crypto/chacha20.quarterRound"))
	// Preemption: morestack and the scheduler, back into quarterRound.
	w(block("runtime.morestack_noctxt", 0x6000, 2))
	w(trace(0, 0xa500, 0x6000, "runtime.morestack_noctxt"))
	w(block("runtime.goschedImpl", 0x6100, 40))
	w(trace(0, 0xa600, 0x6100, "runtime.goschedImpl"))
	w(trace(0, 0xa100, 0x2000, "main.run")) // the scheduler never ends the window
	w(block("go.shape.interface {}]).LoadOrStore", 0x6200, 3))
	w(trace(0, 0xa700, 0x6200, "go.shape.interface {}]).LoadOrStore"))
	w(block("golang.org/x/crypto/chacha20.quarterRound", 0x4100, 3))
	w(trace(0, 0xa800, 0x4100, "golang.org/x/crypto/chacha20.quarterRound"))
	// Back in run: the window ends.
	w(trace(0, 0xa100, 0x2000, "main.run"))
	w(trace(0, 0xa200, 0x3000, "main.sealOpen"))
	w(trace(0, 0xa000, 0x1000, "runtime.rt0_go"))
	return b.String()
}

func TestCount(t *testing.T) {
	tests := []struct {
		name   string
		cpu    int
		detour string
		want   tally
	}{
		{"detours left out", 0, "runtime.morestack", tally{insns: 22, blocks: 4, detours: 1}},
		// Without detours the main.run block inside the scheduler ends
		// the window: sealOpen, quarterRound twice, morestack, goschedImpl.
		{"everything", 0, "", tally{insns: 5 + 7 + 7 + 2 + 40, blocks: 5}},
		{"other cpu", 1, "runtime.morestack", tally{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := count(strings.NewReader(sampleLog()), tc.cpu, "main.sealOpen", "main.run", tc.detour)
			if tc.cpu == 1 {
				if !errors.Is(err, errNoWindow) {
					t.Fatalf("cpu 1: %v, want %v", err, errNoWindow)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestCountErrors(t *testing.T) {
	start := block("main.sealOpen", 0x3000, 5) + trace(0, 0xa200, 0x3000, "main.sealOpen")
	tests := []struct {
		name string
		log  string
		want error
		text string
	}{
		{"empty", "", errNoWindow, `"main.sealOpen" on cpu 0`},
		{"no end", start, errOpenWindow, `"main.run" after "main.sealOpen"`},
		{"untranslated", start + trace(0, 0xbeef, 0x7000, "x.f"), errUnknownBlock, "line 10: host 0xbeef pc 0x7000 (x.f)"},
		{"detour never back", start + block("runtime.morestack", 0x6000, 1) + trace(0, 0xa500, 0x6000, "runtime.morestack"),
			errOpenDetour, `"main.sealOpen" on cpu 0`},
		{"bad cpu", "Trace x: 0x1 [0/1/0/0] f\n", errBadLine, "line 1: malformed log line: CPU index"},
		{"negative cpu", "Trace -1: 0x1 [0/1/0/0] f\n", errBadLine, "CPU index"},
		{"no colon", "Trace 0 0x1\n", errBadLine, "no CPU index"},
		{"no address", "Trace 0:\n", errBadLine, "no block address"},
		{"bad address", "Trace 0: 7f00 [0/1/0/0] f\n", errBadLine, "lacks 0x"},
		{"no bracket", "Trace 0: 0x7f00 f\n", errBadLine, "no [cs_base/pc/flags/cflags]"},
		{"one field", "Trace 0: 0x7f00 [0] f\n", errBadLine, "no pc"},
		{"bad pc", "Trace 0: 0x7f00 [0/zz/0/0] f\n", errBadLine, `pc "zz"`},
		{"bad stopped", "Stopped execution of TB chain before nowhere\n", errBadLine, "host address"},
		{"long line", strings.Repeat("x", maxLine+1), nil, "after line 0: bufio.Scanner: token too long"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := count(strings.NewReader(tc.log), 0, "main.sealOpen", "main.run", "runtime.morestack")
			if err == nil {
				t.Fatal("no error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v is not %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q does not say %q", err, tc.text)
			}
		})
	}
}

func TestParseTrace(t *testing.T) {
	tests := []struct {
		line string
		cpu  int
		host uint64
		pc   uint64
		sym  string
	}{
		{"Trace 0: 0x7f9ef80000c0 [00000000/000ca5e4/000000a2/00000200] _rt0_mipsle_linux", 0, 0x7f9ef80000c0, 0xca5e4, "_rt0_mipsle_linux"},
		{"Trace 12: 0x1 [0/10/0/0] ", 12, 1, 0x10, ""},
		{"Trace 3: 0x2 [0/20/0/0]", 3, 2, 0x20, ""},
		{"Trace 0: 0x3 [0/30/0/0] internal/sync.(*HashTrieMap[go.shape.*internal/abi.Type,go.shape.interface {}]).LoadOrStore",
			0, 3, 0x30, "internal/sync.(*HashTrieMap[go.shape.*internal/abi.Type,go.shape.interface {}]).LoadOrStore"},
	}
	for _, tc := range tests {
		cpu, host, pc, sym, err := parseTrace([]byte(tc.line))
		if err != nil {
			t.Errorf("%q: %v", tc.line, err)
			continue
		}
		if cpu != tc.cpu || host != tc.host || pc != tc.pc || sym != tc.sym {
			t.Errorf("%q: got %d %#x %#x %q", tc.line, cpu, host, pc, sym)
		}
	}
}

func TestBlockWithoutBlankLine(t *testing.T) {
	// A block cut off by the next record still counts.
	log := "IN: main.sealOpen\n0x00003000:  nop\n0x00003004:  nop\n" + trace(0, 0xa200, 0x3000, "main.sealOpen") +
		block("main.run", 0x2000, 1) + trace(0, 0xa100, 0x2000, "main.run")
	got, err := count(strings.NewReader(log), 0, "main.sealOpen", "main.run", "")
	if err != nil || got.insns != 2 {
		t.Fatalf("got %+v, %v; want 2 instructions", got, err)
	}
}

// FuzzCount: any input gives a count or an error, never a panic, and a
// count never exceeds what the blocks could hold.
func FuzzCount(f *testing.F) {
	f.Add([]byte(sampleLog()))
	f.Add([]byte("IN: main.sealOpen\n0x00003000:  nop\n\nTrace 0: 0x1 [0/3000/0/0] main.sealOpen\nTrace 0: 0x1 [0/3000/0/0] main.run\n"))
	f.Fuzz(func(t *testing.T, log []byte) {
		got, err := count(strings.NewReader(string(log)), 0, "main.sealOpen", "main.run", "runtime.morestack")
		if err != nil {
			return
		}
		// Every counted instruction came from an instruction line.
		if lines := uint64(strings.Count(string(log), "\n") + 1); got.insns > lines*got.blocks {
			t.Fatalf("%+v from %d lines", got, lines)
		}
	})
}
