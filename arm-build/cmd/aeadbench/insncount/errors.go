package main

import "errors"

// Errors of reading a log; the counter wraps them with the line number.
var (
	// errBadLine: a Trace or Stopped line that does not parse.
	errBadLine = errors.New("malformed log line")
	// errUnknownBlock: a block ran whose translation (in_asm) the log
	// did not show, so its instruction count is unknown.
	errUnknownBlock = errors.New("executed block was never translated in the log (run qemu with -d in_asm,exec,nochain)")
	// errNoWindow: the -from function never ran on the CPU.
	errNoWindow = errors.New("start function never ran")
	// errOpenWindow: the -to function never ran after -from.
	errOpenWindow = errors.New("end function never ran after the start function")
	// errOpenDetour: a detour never came back to its function.
	errOpenDetour = errors.New("detour never returned to the function")
	// errUsage: bad command line.
	errUsage = errors.New("usage")
)
