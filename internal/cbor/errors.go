package cbor

import "errors"

// Sentinel errors. Decode errors wrap one of them with the path to the
// offending item ("field 3 (Name): ...").
var (
	// ErrSyntax: the bytes are not well-formed CBOR (truncated, reserved
	// header values, trailing bytes).
	ErrSyntax = errors.New("malformed CBOR")
	// ErrIndefinite: an indefinite-length item, which deterministic CBOR
	// does not have.
	ErrIndefinite = errors.New("indefinite length")
	// ErrTag: a tagged item; no message uses tags.
	ErrTag = errors.New("tags are not accepted")
	// ErrNotCanonical: well-formed CBOR that is not the one deterministic
	// encoding of its value.
	ErrNotCanonical = errors.New("not in core deterministic form")
	// ErrDuplicateKey: a map key appears twice.
	ErrDuplicateKey = errors.New("duplicate map key")
	// ErrUnknownKey: a map key the struct has no field for.
	ErrUnknownKey = errors.New("unknown map key")
	// ErrMissingKey: a map lacks the key of a field that is always
	// encoded (one without omitempty).
	ErrMissingKey = errors.New("missing map key")
	// ErrType: the CBOR item does not fit the Go type (wrong major type,
	// integer overflow, wrong byte-array length).
	ErrType = errors.New("type mismatch")
	// ErrUTF8: a text string that is not valid UTF-8.
	ErrUTF8 = errors.New("invalid UTF-8 in text string")
	// ErrLimit: nesting, an array, a map or a string over the DecOptions
	// limits.
	ErrLimit = errors.New("limit exceeded")
	// ErrUnsupported: a Go type or struct tag this package does not
	// handle.
	ErrUnsupported = errors.New("unsupported Go type")
)
