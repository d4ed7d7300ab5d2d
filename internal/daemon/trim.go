package daemon

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Returning memory to the system. Go keeps the pages a burst of
// allocation touched (a lighthouse taking a thousand handshakes after a
// power cut, a daemon starting) until its background scavenger gives
// them back, slowly and never below its heap goal plus a tenth. On a
// router whose budget is a few MiB that is most of the RSS: measured, a
// lighthouse of 1000 members held 26 MiB with 12 MiB of it free heap
// pages. Nor does a quiet daemon collect often: its first collection
// comes when the heap reaches 4 MiB, so a member holding 1 MiB of live
// objects kept 3 MiB of garbage. trimLoop watches what the heap holds
// beyond its live objects (garbage and free pages) and, when that is
// much, collects garbage and returns the free pages (debug.FreeOSMemory):
// a full collection of a heap of a few MiB, a few milliseconds, at most
// once per trimEvery.

const (
	// trimEvery is how often the free pages are looked at, and so the
	// most often memory is returned.
	trimEvery = 10 * time.Second
	// trimFloor: less slack than this is not worth a collection.
	trimFloor = 1 << 20
)

// The runtime metrics trimLoop reads.
var trimMetrics = []string{
	"/memory/classes/heap/free:bytes",    // free pages the system still holds
	"/memory/classes/heap/objects:bytes", // objects, live or not yet swept
	"/gc/heap/live:bytes",                // live objects at the last collection
}

// trimLoop collects garbage and returns free pages to the system when
// the heap holds more than trimFloor and a quarter of its live objects
// beyond them; it ends with ctx. One goroutine per member.
func trimLoop(ctx context.Context) {
	tk := time.NewTicker(trimEvery)
	defer tk.Stop()
	sample := make([]metrics.Sample, len(trimMetrics))
	for i, name := range trimMetrics {
		sample[i].Name = name
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		if slack, live, ok := heapSlack(sample); !ok {
			return // a runtime without these metrics: leave it to the scavenger
		} else if slack >= trimFloor && slack >= live/4 {
			debug.FreeOSMemory()
		}
	}
}

// heapSlack reads what the heap holds beyond its live objects.
func heapSlack(sample []metrics.Sample) (slack, live uint64, ok bool) {
	metrics.Read(sample)
	for _, s := range sample {
		if s.Value.Kind() != metrics.KindUint64 {
			return 0, 0, false
		}
	}
	free, objects, live := sample[0].Value.Uint64(), sample[1].Value.Uint64(), sample[2].Value.Uint64()
	if objects+free < live {
		return 0, live, true
	}
	return objects + free - live, live, true
}
