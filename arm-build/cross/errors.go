package cross

import "errors"

var (
	// ErrUnknownArch means an OpenWrt architecture is not in Targets.
	ErrUnknownArch = errors.New("unknown architecture")
	// ErrBuild means the go tool failed.
	ErrBuild = errors.New("build failed")
)
