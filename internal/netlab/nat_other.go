//go:build !linux

package netlab

import "fmt"

// flushConntrack needs Linux conntrack.
func flushConntrack(ns string) error {
	return fmt.Errorf("%w: conntrack flush in %s needs Linux", ErrCommand, ns)
}
