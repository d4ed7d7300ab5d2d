package fakeuci

import "errors"

// Sentinel errors; Run reports them on stderr the way uci does.
var (
	// ErrUsage reports a command line uci would not accept.
	ErrUsage = errors.New("invalid command line")
	// ErrInvalidRef reports a malformed CONFIG.SECTION.OPTION=VALUE argument.
	ErrInvalidRef = errors.New("invalid reference")
	// ErrNotFound reports a config, section or option that does not exist
	// (uci: "Entry not found").
	ErrNotFound = errors.New("entry not found")
)
