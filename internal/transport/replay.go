package transport

// replayWindow rejects data records whose counter was already accepted or
// is too far behind the newest one: a sliding bitmap over the last
// replayWindowSize counters (RFC 6479, as WireGuard does). It is used only
// by the socket reader goroutine, so it has no lock.
type replayWindow struct {
	last uint64
	ring [replayRingBlocks]uint64
}

const (
	replayBlockBits   = 64
	replayRingBlocks  = 32 // 2048 bits
	replayWindowSize  = (replayRingBlocks - 1) * replayBlockBits
	replayBlockMask   = replayRingBlocks - 1
	replayCounterMask = replayBlockBits - 1
)

// accept reports whether counter is new and inside the window, and marks
// it seen. Call it only after the record authenticated, so that forged
// records cannot move the window.
func (w *replayWindow) accept(counter uint64) bool {
	block := counter / replayBlockBits
	if counter > w.last {
		current := w.last / replayBlockBits
		diff := block - current
		if diff > replayRingBlocks {
			diff = replayRingBlocks
		}
		for i := current + 1; i <= current+diff; i++ {
			w.ring[i&replayBlockMask] = 0
		}
		w.last = counter
	} else if w.last-counter > replayWindowSize {
		return false
	}
	block &= replayBlockMask
	bit := uint64(1) << (counter & replayCounterMask)
	old := w.ring[block]
	w.ring[block] = old | bit
	return old&bit == 0
}
