package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// maxLine bounds one log line; qemu's lines are far shorter, so a longer
// one means the input is not a qemu log.
const maxLine = 1 << 20

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "insncount: %v\n", err)
		os.Exit(2)
	}
}

// run counts the log in the file named by the only argument, or stdin,
// and prints "INSNS BLOCKS DETOURS".
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("insncount", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: insncount -from SYMBOL -to SYMBOL [-cpu N] [LOG]")
		fs.PrintDefaults()
	}
	cpu := fs.Int("cpu", 0, "qemu CPU index to count (0: the first thread)")
	from := fs.String("from", "", "start counting at this function's first block")
	to := fs.String("to", "", "stop at the first later block of this function")
	detour := fs.String("detour", "runtime.morestack", `leave out blocks from one whose symbol starts with this until the function that ran before it runs again ("" counts everything)`)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	switch {
	case *from == "" || *to == "":
		return fmt.Errorf("%w: -from and -to are required", errUsage)
	case *cpu < 0:
		return fmt.Errorf("%w: -cpu %d is negative", errUsage, *cpu)
	case fs.NArg() > 1:
		return fmt.Errorf("%w: one log file at most, got %q", errUsage, fs.Args())
	}
	in := stdin
	if fs.NArg() == 1 {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	t, err := count(in, *cpu, *from, *to, *detour)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d %d %d\n", t.insns, t.blocks, t.detours)
	return nil
}

// count reads the whole log, even past the window, so that qemu never
// writes into a closed pipe.
func count(r io.Reader, cpu int, from, to, detour string) (tally, error) {
	c := newCounter(cpu, from, to, detour)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for sc.Scan() {
		if err := c.feed(sc.Bytes()); err != nil {
			_, _ = io.Copy(io.Discard, r)
			return tally{}, err
		}
	}
	if err := sc.Err(); err != nil {
		_, _ = io.Copy(io.Discard, r)
		return tally{}, fmt.Errorf("after line %d: %w", c.lineNo, err)
	}
	return c.result()
}
