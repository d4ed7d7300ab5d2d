package main

import "errors"

// Sentinel errors of udpecho.
var (
	// errUsage marks command-line errors (exit status 2).
	errUsage = errors.New("usage")
	// errNoReply: -send got no answer from the destination in time.
	errNoReply = errors.New("no reply")
)
