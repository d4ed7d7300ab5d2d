package netlab

import "errors"

// Sentinel errors. Errors returned by this package match one of them with
// errors.Is and carry the command, value or output at fault.
var (
	// ErrInvalid: an argument breaks a naming or syntax rule (host or
	// interface name, address, NAT kind, impairment value).
	ErrInvalid = errors.New("netlab: invalid argument")
	// ErrCommand: an external command (ip, nft, sysctl, ping, go build)
	// failed or timed out; the message holds the command line and its
	// output.
	ErrCommand = errors.New("netlab: command failed")
	// ErrBadOutput: a tool printed something that does not have the
	// expected shape (udpecho reply, ping summary).
	ErrBadOutput = errors.New("netlab: unexpected tool output")
)
