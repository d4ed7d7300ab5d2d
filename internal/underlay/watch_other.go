//go:build !linux

package underlay

import "context"

// WatchAddrs waits for ctx: there is no address notification here, and the
// daemon's periodic refresh stands in for it.
func WatchAddrs(ctx context.Context, changed func()) error {
	<-ctx.Done()
	return nil
}
