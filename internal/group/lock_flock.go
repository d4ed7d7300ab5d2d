//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package group

import (
	"fmt"
	"os"
	"syscall"
)

// lockDir takes a flock on the state directory itself (no lock file, so a
// failed command leaves nothing behind). Writers take it exclusive, Load
// takes it shared. Holders keep it only for one short operation, so a
// blocking lock is fine.
func lockDir(dir string, exclusive bool) (unlock func(), err error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err = syscall.Flock(int(d.Fd()), how)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	// Closing the descriptor releases the lock.
	return func() { d.Close() }, nil
}
