package main

import "errors"

// Sentinel errors of rawframe.
var (
	// errUsage marks command-line errors (exit status 2).
	errUsage = errors.New("usage")
	// errShort: a frame or one of its length fields ends too early.
	errShort = errors.New("frame too short")
	// errNotKind: a frame is not of the kind asked for (not an RA, not a
	// test broadcast).
	errNotKind = errors.New("frame is not of the wanted kind")
	// errBadHex: the -hex argument is not a frame in hex.
	errBadHex = errors.New("bad hex frame")
)
