//go:build !linux

package addrwatch

import "context"

// Watch waits for ctx: there is no address notification here, and the
// daemon's periodic refresh stands in for it.
func Watch(ctx context.Context, changed func()) error {
	<-ctx.Done()
	return nil
}
