package ubus

import (
	"errors"
	"fmt"
)

// Sentinel errors. Decoding errors wrap ErrMalformed so that callers can tell
// garbage from connection trouble with errors.Is.
var (
	// ErrMalformed is the cause of every decoding error: a length that does
	// not fit, a missing NUL, a wrong integer width, an unknown blobmsg type.
	ErrMalformed = errors.New("malformed ubus data")
	// ErrTooDeep reports blobmsg nesting beyond MaxDepth.
	ErrTooDeep = errors.New("blobmsg nesting too deep")
	// ErrTooLarge reports a message or attribute beyond the protocol limits
	// (MaxMessageLen for a message, 2^24-1 bytes for one attribute).
	ErrTooLarge = errors.New("ubus message too large")
	// ErrUnsupportedType reports a Go value that has no blobmsg encoding.
	ErrUnsupportedType = errors.New("unsupported value type")
	// ErrClosed reports use of a Conn or Client after Close.
	ErrClosed = errors.New("ubus connection closed")
	// ErrConnLost fails the requests pending when the connection to ubusd
	// broke (EOF, write error, garbage from the server).
	ErrConnLost = errors.New("ubus connection lost")
	// ErrNotConnected reports a Client call while no ubusd is reachable.
	ErrNotConnected = errors.New("not connected to ubusd")
	// ErrNoHello reports a server that did not start with a HELLO message.
	ErrNoHello = errors.New("ubusd did not send HELLO")
	// ErrObjectInUse reports adding an Object that is already registered on a
	// connection, or two methods with the same name.
	ErrObjectInUse = errors.New("object already registered")
	// ErrNotRegistered reports Notify on an Object that is not registered.
	ErrNotRegistered = errors.New("object not registered")
	// ErrInvalidName reports an empty object path, method or event name.
	ErrInvalidName = errors.New("invalid name")
)

// StatusError is a non-OK ubus status, either answered by ubusd or an object
// owner, or (StatusTimeout) produced locally when a request timed out.
// Handlers return one to choose the status their caller sees.
type StatusError struct {
	Code Status
}

// Error implements error.
func (e *StatusError) Error() string {
	return fmt.Sprintf("ubus status %d (%s)", int(e.Code), e.Code)
}

// Is lets errors.Is(err, &StatusError{Code: StatusNotFound}) match by code.
func (e *StatusError) Is(target error) bool {
	t, ok := target.(*StatusError)
	return ok && t.Code == e.Code
}

// NewStatusError is a shorthand for handlers: return ubus.NewStatusError(ubus.StatusInvalidArgument).
func NewStatusError(code Status) *StatusError { return &StatusError{Code: code} }

// StatusOf returns the ubus status an error stands for: StatusOK for nil, the
// code of a wrapped *StatusError, and StatusUnknownError for anything else.
func StatusOf(err error) Status {
	if err == nil {
		return StatusOK
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return StatusUnknownError
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}
