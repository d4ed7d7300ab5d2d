package wire

import "errors"

var (
	// ErrShort is returned for an empty message.
	ErrShort = errors.New("wire: empty message")
	// ErrUnknownType is returned for a message type this version does not know.
	ErrUnknownType = errors.New("wire: unknown message type")
	// ErrTooLarge is returned for a message over MaxMessageSize.
	ErrTooLarge = errors.New("wire: message too large")
)
