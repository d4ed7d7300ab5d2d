package transport

import "errors"

var (
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("transport: closed")
	// ErrNotReady is returned when a peer has no established session.
	ErrNotReady = errors.New("transport: peer has no established session")
	// ErrSelf is returned when a handshake reaches this node itself.
	ErrSelf = errors.New("transport: peer is this node itself")
	// ErrFrameTooLarge is returned for a frame over the session's maximum.
	ErrFrameTooLarge = errors.New("transport: frame too large")
	// ErrBadPayload is returned for a payload that does not parse.
	ErrBadPayload = errors.New("transport: malformed payload")
	// ErrTooManyHandshakes is returned when the pending handshake limit is reached.
	ErrTooManyHandshakes = errors.New("transport: too many handshakes in progress")
	// ErrUnknownCipher: NewDataAEAD was asked for an AEAD the data channel
	// does not use.
	ErrUnknownCipher = errors.New("transport: unknown data channel AEAD")
)

// ErrOverlayAddress is returned for a peer address on the overlay itself
// (see Config.PathOK): reaching a peer there would route the overlay
// through its own tunnel.
var ErrOverlayAddress = errors.New("transport: the address is on the overlay itself, not the underlay")
