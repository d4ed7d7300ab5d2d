package main

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Line prefixes of the qemu log records read here, as qemu 7.2 (Debian 12)
// writes them.
var (
	prefixIn      = []byte("IN:")
	prefixTrace   = []byte("Trace ")
	prefixStopped = []byte("Stopped execution of TB chain before ")
)

// window is where the counter stands relative to the counted stretch.
type window int

const (
	beforeWindow window = iota // -from has not run yet
	inWindow                   // counting
	afterWindow                // -to ran; the rest is only read
)

// lastBlock is the counted CPU's latest block, kept so that a Stopped line
// can take it back.
type lastBlock struct {
	host    uint64
	insns   uint64
	counted bool
}

// counter folds a qemu log, one line at a time, into the number of guest
// instructions one CPU ran inside the window.
type counter struct {
	cpu      int    // qemu CPU index; 0 is the process's first thread
	from, to string // window bounds: function symbols
	detour   string // symbol prefix that starts a detour; "" for none

	// blocks maps a translated block's host address to its instruction
	// count; pending maps a guest pc to the count of a block translated
	// but not yet run (its host address is only on the Trace line).
	blocks  map[uint64]uint64
	pending map[uint64]uint64

	// The in_asm block being read: inBlock until its blank line.
	inBlock    bool
	blockPC    uint64
	blockHasPC bool
	blockInsns uint64

	state    window
	last     lastBlock
	lastSym  string // symbol of the CPU's latest block in the window
	inDetour bool   // in a detour until a block of resume runs
	resume   string
	insns    uint64 // instructions counted
	runs     uint64 // blocks counted
	detours  uint64 // detours left out
	lineNo   int
}

func newCounter(cpu int, from, to, detour string) *counter {
	return &counter{
		cpu:     cpu,
		from:    from,
		to:      to,
		detour:  detour,
		blocks:  make(map[uint64]uint64),
		pending: make(map[uint64]uint64),
	}
}

// feed takes one log line without its newline.
func (c *counter) feed(line []byte) error {
	c.lineNo++
	if c.inBlock {
		if len(line) == 0 {
			c.endBlock()
			return nil
		}
		if pc, ok := insnPC(line); ok {
			if !c.blockHasPC {
				c.blockPC, c.blockHasPC = pc, true
			}
			c.blockInsns++
			return nil
		}
		if !bytes.HasPrefix(line, prefixIn) && !bytes.HasPrefix(line, prefixTrace) && !bytes.HasPrefix(line, prefixStopped) {
			return nil // disassembler remarks inside a block
		}
		// A block without its blank line: take it as ended.
		c.endBlock()
	}
	switch {
	case bytes.HasPrefix(line, prefixIn):
		c.inBlock, c.blockHasPC, c.blockInsns = true, false, 0
	case bytes.HasPrefix(line, prefixTrace):
		return c.exec(line)
	case bytes.HasPrefix(line, prefixStopped):
		return c.stopped(line)
	}
	return nil
}

// endBlock files the in_asm block just read under its first pc.
func (c *counter) endBlock() {
	if c.blockHasPC {
		c.pending[c.blockPC] = c.blockInsns
	}
	c.inBlock = false
}

// exec handles a Trace line: one run of one block.
func (c *counter) exec(line []byte) error {
	cpu, host, pc, sym, err := parseTrace(line)
	if err != nil {
		return fmt.Errorf("line %d: %w", c.lineNo, err)
	}
	if n, ok := c.pending[pc]; ok {
		c.blocks[host] = n
		delete(c.pending, pc)
	}
	if cpu != c.cpu {
		return nil
	}
	switch c.state {
	case beforeWindow:
		if sym != c.from {
			return nil
		}
		c.state = inWindow
	case inWindow:
		if c.inDetour {
			if sym != c.resume {
				return nil
			}
			c.inDetour = false
		} else if sym == c.to {
			c.state = afterWindow
			c.last = lastBlock{}
			return nil
		}
	case afterWindow:
		return nil
	}
	n, ok := c.blocks[host]
	if !ok {
		return fmt.Errorf("line %d: host 0x%x pc 0x%x (%s): %w", c.lineNo, host, pc, sym, errUnknownBlock)
	}
	if c.detour != "" && strings.HasPrefix(sym, c.detour) {
		c.inDetour, c.resume = true, c.lastSym
		c.detours++
		c.last = lastBlock{}
		return nil
	}
	c.insns += n
	c.runs++
	c.last = lastBlock{host: host, insns: n, counted: true}
	c.lastSym = sym
	return nil
}

// stopped handles a Stopped line: the block last logged at that host
// address did not run. Other CPUs' Stopped lines match no counted block.
func (c *counter) stopped(line []byte) error {
	host, err := parseStopped(line)
	if err != nil {
		return fmt.Errorf("line %d: %w", c.lineNo, err)
	}
	if c.last.counted && c.last.host == host {
		c.insns -= c.last.insns
		c.runs--
		c.last = lastBlock{}
	}
	return nil
}

// result is what the window held, once the log has ended.
func (c *counter) result() (tally, error) {
	switch {
	case c.state == beforeWindow:
		return tally{}, fmt.Errorf("%q on cpu %d: %w", c.from, c.cpu, errNoWindow)
	case c.state == inWindow && c.inDetour:
		return tally{}, fmt.Errorf("%q on cpu %d: %w", c.resume, c.cpu, errOpenDetour)
	case c.state == inWindow:
		return tally{}, fmt.Errorf("%q after %q on cpu %d: %w", c.to, c.from, c.cpu, errOpenWindow)
	}
	return tally{insns: c.insns, blocks: c.runs, detours: c.detours}, nil
}

// tally is the outcome of a count.
type tally struct {
	insns   uint64 // guest instructions in the window, detours left out
	blocks  uint64 // block runs counted
	detours uint64 // detours left out
}

// insnPC reads the guest pc of an in_asm instruction line "0x0014f8a4:  ...".
func insnPC(line []byte) (uint64, bool) {
	if !bytes.HasPrefix(line, []byte("0x")) {
		return 0, false
	}
	i := bytes.IndexByte(line, ':')
	if i < 3 {
		return 0, false
	}
	pc, err := strconv.ParseUint(string(line[2:i]), 16, 64)
	return pc, err == nil
}

// parseTrace reads "Trace CPU: 0xHOST [CSBASE/PC/FLAGS/CFLAGS] SYMBOL"; the
// symbol may be empty or hold spaces (generic instantiations).
func parseTrace(line []byte) (cpu int, host, pc uint64, sym string, err error) {
	rest := line[len(prefixTrace):]
	i := bytes.IndexByte(rest, ':')
	if i < 1 {
		return 0, 0, 0, "", fmt.Errorf("%w: no CPU index: %q", errBadLine, line)
	}
	cpu, err = strconv.Atoi(string(rest[:i]))
	if err != nil || cpu < 0 {
		return 0, 0, 0, "", fmt.Errorf("%w: CPU index %q: %q", errBadLine, rest[:i], line)
	}
	rest = bytes.TrimPrefix(rest[i+1:], []byte(" "))
	i = bytes.IndexByte(rest, ' ')
	if i < 0 {
		return 0, 0, 0, "", fmt.Errorf("%w: no block address: %q", errBadLine, line)
	}
	if host, err = parseHex(rest[:i]); err != nil {
		return 0, 0, 0, "", fmt.Errorf("%w: host address: %v: %q", errBadLine, err, line)
	}
	rest = rest[i+1:]
	end := bytes.IndexByte(rest, ']')
	if len(rest) == 0 || rest[0] != '[' || end < 0 {
		return 0, 0, 0, "", fmt.Errorf("%w: no [cs_base/pc/flags/cflags]: %q", errBadLine, line)
	}
	fields := bytes.Split(rest[1:end], []byte("/"))
	if len(fields) < 2 {
		return 0, 0, 0, "", fmt.Errorf("%w: no pc in %q: %q", errBadLine, rest[:end+1], line)
	}
	if pc, err = strconv.ParseUint(string(fields[1]), 16, 64); err != nil {
		return 0, 0, 0, "", fmt.Errorf("%w: pc %q: %q", errBadLine, fields[1], line)
	}
	sym = string(bytes.TrimPrefix(rest[end+1:], []byte(" ")))
	return cpu, host, pc, sym, nil
}

// parseStopped reads "Stopped execution of TB chain before 0xHOST [PC] SYMBOL".
func parseStopped(line []byte) (uint64, error) {
	rest := line[len(prefixStopped):]
	if i := bytes.IndexByte(rest, ' '); i >= 0 {
		rest = rest[:i]
	}
	host, err := parseHex(rest)
	if err != nil {
		return 0, fmt.Errorf("%w: host address: %v: %q", errBadLine, err, line)
	}
	return host, nil
}

// parseHex reads "0x..." as printed by %p.
func parseHex(b []byte) (uint64, error) {
	if !bytes.HasPrefix(b, []byte("0x")) {
		return 0, fmt.Errorf("%q lacks 0x", b)
	}
	return strconv.ParseUint(string(b[2:]), 16, 64)
}
