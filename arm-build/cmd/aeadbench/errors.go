package main

import "errors"

// Errors of flag checking and of the benchmark itself; run wraps them with
// the offending value.
var (
	// errUnknownAEAD: -aead names no AEAD the data channel uses.
	errUnknownAEAD = errors.New("unknown AEAD")
	// errBadCount: -n is negative.
	errBadCount = errors.New("record count out of range")
	// errBadSize: -size is outside what one data record can carry.
	errBadSize = errors.New("payload size out of range")
	// errExtraArgs: arguments left after the flags.
	errExtraArgs = errors.New("unexpected arguments")
	// errBufferSize: a record buffer that does not fit its payload.
	errBufferSize = errors.New("record buffer has the wrong size")
	// errRoundTrip: an opened record differs from what was sealed.
	errRoundTrip = errors.New("round trip changed the payload")
)
