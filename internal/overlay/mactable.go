package overlay

import (
	"bytes"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults and limits for NewMACTable.
const (
	// DefaultMACTableSize is used when maxEntries <= 0. A home LAN has tens
	// of devices; a group of routers a few hundred.
	DefaultMACTableSize = 4096

	// DefaultMACAging is used when aging <= 0. Five minutes is the Linux
	// bridge's ageing_time: long enough that a quiet printer stays known,
	// short enough that a device that moved sites is found again soon.
	DefaultMACAging = 5 * time.Minute

	// macRefreshMax is how stale a known entry's timestamp may get before
	// Learn writes it again. Skipping the write on most frames keeps the
	// entry's cache line clean for the lookup side; being up to 1 s late is
	// nothing against minutes of aging.
	macRefreshMax = time.Second

	// noEntries is MACTable.oldest for an empty table.
	noEntries = math.MaxInt64
)

// MACEntry is one learned MAC, as shown by status.
type MACEntry[P comparable] struct {
	MAC      [6]byte
	Port     P
	LastSeen int64 // monotonic ns of the last refresh (refreshed at most once a second)
}

// MACStats are a MACTable's counters.
type MACStats struct {
	Entries int    // MACs in the table, including aged ones not yet expired
	Learned uint64 // new MACs inserted
	Moved   uint64 // known MACs that appeared on another port
	Refused uint64 // new MACs refused because the table was full
	Expired uint64 // entries dropped because they aged out
	Forgot  uint64 // entries dropped by ForgetPort
}

// macEntry is the table's value. port is written only under the write lock
// and read under the read lock; seen is atomic because Learn advances it
// under the read lock. seen only ever increases, which keeps
// MACTable.oldest a valid lower bound without the write lock.
type macEntry[P comparable] struct {
	port P
	seen atomic.Int64
}

// MACTable maps MAC addresses to the port (peer) they were last seen on.
// Learn runs on the receive path (one goroutine per link), Lookup on the send
// path (the TAP reader), concurrently. Lookup and Learn of a known MAC on the
// same port take only the read lock and allocate nothing; the write lock is
// taken when a MAC is new or moves. Entries are recycled through a free list,
// so a full table that keeps churning allocates nothing either.
//
// The table never holds more than maxEntries MACs. When it is full a new MAC
// first evicts aged entries; if none have aged it is refused and counted, so a
// LAN flooding random source MACs cannot grow memory or push out live MACs.
type MACTable[P comparable] struct {
	// Set once by NewMACTable.
	max     int
	aging   int64 // ns
	refresh int64 // ns, see macRefreshMax

	learned atomic.Uint64
	moved   atomic.Uint64
	refused atomic.Uint64
	expired atomic.Uint64
	forgot  atomic.Uint64

	// mu guards the fields below and every entry's port.
	mu      sync.RWMutex
	entries map[[6]byte]*macEntry[P]
	free    []*macEntry[P] // unused entries; ports cleared
	// oldest is a lower bound on the seen time of every entry (noEntries
	// when empty). While now-oldest <= aging nothing can be stale, so
	// Expire and a full-table Learn skip the scan.
	oldest int64
}

// NewMACTable returns an empty table holding at most maxEntries MACs that age
// out after aging without a frame. maxEntries <= 0 means DefaultMACTableSize
// and aging <= 0 means DefaultMACAging.
func NewMACTable[P comparable](maxEntries int, aging time.Duration) *MACTable[P] {
	if maxEntries <= 0 {
		maxEntries = DefaultMACTableSize
	}
	if aging <= 0 {
		aging = DefaultMACAging
	}
	refresh := min(macRefreshMax, aging/8)
	return &MACTable[P]{
		max:     maxEntries,
		aging:   int64(aging),
		refresh: int64(refresh),
		// The map grows on demand: a huge maxEntries costs nothing until
		// MACs arrive.
		entries: make(map[[6]byte]*macEntry[P], min(maxEntries, 256)),
		oldest:  noEntries,
	}
}

// stale reports whether an entry last seen at seen has aged out at now.
func (t *MACTable[P]) stale(seen, now int64) bool {
	return elapsed(now, seen) > t.aging
}

// mayHaveStaleLocked reports whether any entry could have aged out at now.
// The caller holds mu (read or write).
func (t *MACTable[P]) mayHaveStaleLocked(now int64) bool {
	return elapsed(now, t.oldest) > t.aging
}

// Learn records that mac was seen as a source on port p at now (monotonic
// ns). Multicast, broadcast and all-zero MACs are ignored: they never own a
// port. A MAC seen on another port moves there.
func (t *MACTable[P]) Learn(mac [6]byte, p P, now int64) {
	if IsMulticast(mac) || mac == ([6]byte{}) {
		return
	}
	t.mu.RLock()
	e, ok := t.entries[mac]
	if ok && e.port == p {
		t.touch(e, now)
		t.mu.RUnlock()
		return
	}
	if !ok && len(t.entries) >= t.max && !t.mayHaveStaleLocked(now) {
		// Full and nothing to evict: refuse without the write lock, so a
		// flood of new MACs does not stall the lookup side.
		t.mu.RUnlock()
		t.refused.Add(1)
		return
	}
	t.mu.RUnlock()

	t.mu.Lock()
	t.learnLocked(mac, p, now)
	t.mu.Unlock()
}

// touch advances e.seen to now if it is more than t.refresh behind. It never
// moves seen backwards, even when callers race with slightly different
// clocks. Callers hold mu for reading at least.
func (t *MACTable[P]) touch(e *macEntry[P], now int64) {
	for {
		seen := e.seen.Load()
		if elapsed(now, seen) < t.refresh || now <= seen {
			return
		}
		if e.seen.CompareAndSwap(seen, now) {
			return
		}
	}
}

// learnLocked is Learn's slow path. The caller holds the write lock; the
// table may have changed since the read-locked check.
func (t *MACTable[P]) learnLocked(mac [6]byte, p P, now int64) {
	if e, ok := t.entries[mac]; ok {
		if e.port != p {
			e.port = p
			e.seen.Store(max(e.seen.Load(), now))
			t.moved.Add(1)
			return
		}
		t.touch(e, now)
		return
	}
	if len(t.entries) >= t.max {
		if t.mayHaveStaleLocked(now) {
			t.expireLocked(now)
		}
		if len(t.entries) >= t.max {
			t.refused.Add(1)
			return
		}
	}
	var e *macEntry[P]
	if n := len(t.free); n > 0 {
		e = t.free[n-1]
		t.free[n-1] = nil
		t.free = t.free[:n-1]
	} else {
		e = new(macEntry[P])
	}
	e.port = p
	e.seen.Store(now)
	t.entries[mac] = e
	t.oldest = min(t.oldest, now)
	t.learned.Add(1)
}

// Lookup returns the port that owns mac at now. An entry that has aged out
// is a miss even before Expire removes it.
func (t *MACTable[P]) Lookup(mac [6]byte, now int64) (P, bool) {
	t.mu.RLock()
	if e, ok := t.entries[mac]; ok && !t.stale(e.seen.Load(), now) {
		p := e.port
		t.mu.RUnlock()
		return p, true
	}
	t.mu.RUnlock()
	var zero P
	return zero, false
}

// Expire drops every entry that has aged out at now and returns how many it
// dropped. It takes the write lock only when something can have aged.
func (t *MACTable[P]) Expire(now int64) int {
	t.mu.RLock()
	may := t.mayHaveStaleLocked(now)
	t.mu.RUnlock()
	if !may {
		return 0
	}
	t.mu.Lock()
	n := t.expireLocked(now)
	t.mu.Unlock()
	return n
}

// expireLocked drops aged entries and recomputes oldest exactly. The caller
// holds the write lock.
func (t *MACTable[P]) expireLocked(now int64) int {
	n := 0
	oldest := int64(noEntries)
	for mac, e := range t.entries {
		seen := e.seen.Load()
		if t.stale(seen, now) {
			delete(t.entries, mac)
			t.releaseLocked(e)
			n++
			continue
		}
		oldest = min(oldest, seen)
	}
	t.oldest = oldest
	t.expired.Add(uint64(n))
	return n
}

// ForgetPort drops every entry on port p (the peer went away) and returns
// how many it dropped. Frames to those MACs are flooded until relearned.
func (t *MACTable[P]) ForgetPort(p P) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for mac, e := range t.entries {
		if e.port == p {
			delete(t.entries, mac)
			t.releaseLocked(e)
			n++
		}
	}
	if len(t.entries) == 0 {
		t.oldest = noEntries
	}
	// Otherwise oldest stays a valid (if low) bound: removing entries only
	// raises the true minimum.
	t.forgot.Add(uint64(n))
	return n
}

// releaseLocked puts a removed entry on the free list. Clearing the port
// lets the peer be collected and makes a stale use show up as a zero port.
func (t *MACTable[P]) releaseLocked(e *macEntry[P]) {
	var zero P
	e.port = zero
	e.seen.Store(0)
	if len(t.free) < t.max {
		t.free = append(t.free, e)
	}
}

// Len returns the number of entries, including aged ones not yet expired.
func (t *MACTable[P]) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.entries)
}

// Entries returns a copy of the table sorted by MAC, for status. It
// allocates; it is not for the data path.
func (t *MACTable[P]) Entries() []MACEntry[P] {
	t.mu.RLock()
	out := make([]MACEntry[P], 0, len(t.entries))
	for mac, e := range t.entries {
		out = append(out, MACEntry[P]{MAC: mac, Port: e.port, LastSeen: e.seen.Load()})
	}
	t.mu.RUnlock()
	slices.SortFunc(out, func(a, b MACEntry[P]) int {
		return bytes.Compare(a.MAC[:], b.MAC[:])
	})
	return out
}

// Stats returns the table's counters.
func (t *MACTable[P]) Stats() MACStats {
	return MACStats{
		Entries: t.Len(),
		Learned: t.learned.Load(),
		Moved:   t.moved.Load(),
		Refused: t.refused.Load(),
		Expired: t.expired.Load(),
		Forgot:  t.forgot.Load(),
	}
}
