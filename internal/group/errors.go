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
	// ErrTokenTypo: an invite token's checksum does not match, or it holds
	// characters a token cannot: it was not copied whole.
	ErrTokenTypo = errors.New("the token has a typo: check it was copied whole")
	// ErrBadToken: an invite token is malformed in a way a typo does not
	// explain (not a token, another version, invalid contents).
	ErrBadToken = errors.New("invalid invite token")
	// ErrInviteUnknown: no invite with this id (never made, cancelled or
	// pruned long after it expired).
	ErrInviteUnknown = errors.New("unknown invite")
	// ErrInviteExpired: the invite is past its expiry time.
	ErrInviteExpired = errors.New("invite expired")
	// ErrInviteUsed: every use of the invite has been consumed.
	ErrInviteUsed = errors.New("invite already used")
	// ErrBadProof: a join request does not prove knowledge of the invite
	// secret on this session.
	ErrBadProof = errors.New("wrong invite proof")
	// ErrBadMessage: a join request or result failed to decode or validate.
	ErrBadMessage = errors.New("malformed join message")
	// ErrKeyTaken: the public key already belongs to another member.
	ErrKeyTaken = errors.New("key already belongs to a member")
	// ErrUnknownNode: no member has this name or node id.
	ErrUnknownNode = errors.New("unknown node")
	// ErrRevoked: the certificate or node has been revoked by the owner.
	ErrRevoked = errors.New("certificate revoked")
	// ErrBadCRL: a revocation list failed to parse or is not signed by the
	// group CA.
	ErrBadCRL = errors.New("invalid revocation list")
	// ErrRenewalNotDue: a certificate is not yet in its renewal window.
	ErrRenewalNotDue = errors.New("certificate renewal not due")
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
