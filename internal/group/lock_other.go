//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly)

package group

// lockDir is a no-op where flock is unavailable; ipopd runs on Linux, and
// elsewhere this package is only used by tests and tools.
func lockDir(dir string, exclusive bool) (unlock func(), err error) {
	return func() {}, nil
}
