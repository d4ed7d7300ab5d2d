package ipopconf

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors; every *Error unwraps to one of them.
var (
	// ErrInvalid reports an option whose value is malformed or out of range.
	ErrInvalid = errors.New("invalid value")
	// ErrUnknownOption reports an option name the main section does not have.
	ErrUnknownOption = errors.New("unknown option")
	// ErrSection reports a problem with the main section itself.
	ErrSection = errors.New("bad main section")
)

// Error is one problem in the configuration. Load, FromFile and Validate
// return one *Error per problem, joined with errors.Join; errors.As finds
// the first.
type Error struct {
	File   string // path of the file; "" when checking a Config in memory
	Line   int    // line of the statement at fault; 0 if unknown
	Option string // option name; "" for a problem with the section
	Err    error  // what is wrong
}

// Error formats the problem as
// "ipop config FILE:LINE: option NAME: what is wrong".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("ipop config")
	switch {
	case e.File != "" && e.Line > 0:
		b.WriteString(" " + e.File + ":" + strconv.Itoa(e.Line))
	case e.File != "":
		b.WriteString(" " + e.File)
	case e.Line > 0:
		b.WriteString(" line " + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Option != "" {
		b.WriteString("option " + e.Option + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the cause, which wraps one of the sentinels.
func (e *Error) Unwrap() error { return e.Err }

// causeError is a message that unwraps to a sentinel without repeating the
// sentinel's text.
type causeError struct {
	msg  string
	kind error
}

func (e *causeError) Error() string { return e.msg }
func (e *causeError) Unwrap() error { return e.kind }

func invalid(msg string) error { return &causeError{msg: msg, kind: ErrInvalid} }
