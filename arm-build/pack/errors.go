package pack

import "errors"

var (
	// ErrSpec means a package description is unusable: a bad name, version,
	// path or a missing required file.
	ErrSpec = errors.New("invalid package spec")
	// ErrFormat means a package or index file does not follow FORMATS.md.
	ErrFormat = errors.New("malformed package")
	// ErrTooLarge means an input exceeds the reader's size limits.
	ErrTooLarge = errors.New("too large")
)
