package group

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package matches one of them
// with errors.Is and carries a readable message naming the file, block or
// value at fault.
var (
	// ErrInvalidOption: a required argument is missing (empty directory,
	// zero time).
	ErrInvalidOption = errors.New("invalid option")
	// ErrInvalidName: a group or node name breaks the naming rules.
	ErrInvalidName = errors.New("invalid name")
	// ErrInvalidSubnet: the group subnet is not an IPv4 /8../30 prefix in
	// a usable range.
	ErrInvalidSubnet = errors.New("invalid subnet")
	// ErrSubnetOverlap: the group subnet overlaps a local interface.
	ErrSubnetOverlap = errors.New("subnet overlaps a local network")
	// ErrInvalidAddress: an address is not a usable host address of the
	// group subnet.
	ErrInvalidAddress = errors.New("invalid address")
	// ErrExists: the directory (or file) already holds group state.
	ErrExists = errors.New("group state already exists")
	// ErrNoGroup: the directory holds no group.
	ErrNoGroup = errors.New("no group")
	// ErrCorrupt: a state file is unreadable or inconsistent.
	ErrCorrupt = errors.New("corrupt group state")
	// ErrPermissions: a key file is readable by group or others.
	ErrPermissions = errors.New("insecure file permissions")
	// ErrCAKeyPresent: installing a bundle would delete the group CA key.
	ErrCAKeyPresent = errors.New("directory holds the group CA key")
	// ErrNotOwner: the operation needs the CA key, which only the owner has.
	ErrNotOwner = errors.New("not the group owner")
	// ErrNameTaken: a certificate was already issued under this node name.
	ErrNameTaken = errors.New("node name already issued")
	// ErrAddressTaken: the address was already handed out.
	ErrAddressTaken = errors.New("address already allocated")
	// ErrSubnetFull: every host address of the subnet is allocated.
	ErrSubnetFull = errors.New("no free address in subnet")
	// ErrBadBundle: a bundle failed to parse or validate.
	ErrBadBundle = errors.New("invalid bundle")
	// ErrNoCertificate: a peer presented no certificate.
	ErrNoCertificate = errors.New("no certificate presented")
	// ErrUntrustedPeer: a peer certificate does not prove membership.
	ErrUntrustedPeer = errors.New("untrusted peer certificate")
	// ErrExpired: a certificate is outside its validity period.
	ErrExpired = errors.New("certificate expired or not yet valid")
)

// kindError is an error whose message is written for a person reading a log
// while errors.Is still finds the sentinel (its kind) and any wrapped cause.
type kindError struct {
	kind  error
	cause error
}

func (e *kindError) Error() string   { return e.cause.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.cause} }

// errorf formats a message like fmt.Errorf (%w allowed) and tags it with kind.
func errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, cause: fmt.Errorf(format, args...)}
}
