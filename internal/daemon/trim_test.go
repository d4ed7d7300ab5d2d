package daemon

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
)

// TestHeapSlack: the metrics trimLoop reads exist in this runtime (else it
// would quietly stop), and garbage shows as slack.
func TestHeapSlack(t *testing.T) {
	sample := make([]metrics.Sample, len(trimMetrics))
	for i, name := range trimMetrics {
		sample[i].Name = name
	}
	// No collection while the garbage is made.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	debug.FreeOSMemory() // no free pages left that the garbage could reuse
	before, _, ok := heapSlack(sample)
	if !ok {
		t.Fatal("runtime metrics missing")
	}
	var keep [][]byte
	for range 64 {
		keep = append(keep, make([]byte, 64<<10))
	}
	runtime.KeepAlive(keep)
	keep = nil
	after, _, _ := heapSlack(sample)
	if after < before+2<<20 {
		t.Errorf("4 MiB of garbage made slack %d -> %d", before, after)
	}
}
