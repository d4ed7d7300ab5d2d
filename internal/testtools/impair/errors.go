package main

import "errors"

// Sentinel errors of impair.
var (
	// errUsage marks command-line errors (exit status 2).
	errUsage = errors.New("usage")
	// errTruncated: a frame was larger than the read buffer.
	errTruncated = errors.New("frame truncated")
)
