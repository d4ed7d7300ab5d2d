package uci

import (
	"errors"
	"strconv"
)

// Sentinel errors. Parse errors are *ParseError values that unwrap to
// ErrSyntax; the others are returned, wrapped with context, by the editing
// methods.
var (
	// ErrSyntax is the cause of every *ParseError.
	ErrSyntax = errors.New("syntax error")
	// ErrInvalidName reports a section or option name outside [A-Za-z0-9_]+.
	ErrInvalidName = errors.New("invalid name")
	// ErrInvalidType reports a section type outside [A-Za-z0-9_-]+.
	ErrInvalidType = errors.New("invalid section type")
	// ErrInvalidValue reports a value that no UCI file can hold (a NUL byte).
	ErrInvalidValue = errors.New("invalid value")
	// ErrSectionExists reports an AddSection with a name already in use.
	ErrSectionExists = errors.New("section already exists")
	// ErrSectionDeleted reports an edit of a section removed by DeleteSection.
	ErrSectionDeleted = errors.New("section has been deleted")
	// ErrTooLarge reports a file larger than MaxFileSize.
	ErrTooLarge = errors.New("file too large")
)

// ParseError describes why a file could not be parsed. Use errors.As to get
// at the fields.
type ParseError struct {
	File string // the name given to Parse (the path for ReadFile)
	Line int    // 1-based line number of the offending statement
	Msg  string // what is wrong, e.g. "unterminated quote"
}

// Error formats the error as "uci: FILE:LINE: MSG".
func (e *ParseError) Error() string {
	if e.File == "" {
		return "uci: line " + strconv.Itoa(e.Line) + ": " + e.Msg
	}
	return "uci: " + e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Msg
}

// Unwrap returns ErrSyntax, so errors.Is(err, ErrSyntax) holds for every
// parse error.
func (e *ParseError) Unwrap() error { return ErrSyntax }
