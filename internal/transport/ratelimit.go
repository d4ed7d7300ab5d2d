package transport

import (
	"net/netip"
	"sync"
	"time"
)

// Handshake rate limits. After the cookie the source address is real, so
// it can be held to a budget: each source (an IP address, or a relay and
// the far peer it names) gets a token bucket of handshakes, and a source
// whose handshake failed authentication (a certificate of another group,
// a bad invite proof) is penalised: it may still try, but rarely, until it
// has behaved for a while.

// tokenBucket allows rate events per second with bursts of burst. Not safe
// for concurrent use on its own.
type tokenBucket struct {
	tokens float64
	last   time.Time
}

func (b *tokenBucket) allow(now time.Time, rate, burst float64) bool {
	if b.last.IsZero() {
		b.tokens = burst
	} else if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(burst, b.tokens+dt*rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// limitKey names a handshake source: the IP of a direct path (not the
// port: a flooder has them all), the relay and far peer of a relayed one.
type limitKey struct {
	addr netip.Addr
	peer uint64
	turn bool
}

func limitKeyOf(p pathKey) limitKey {
	if p.peer == 0 && !p.turn {
		return limitKey{addr: p.addr.Addr()}
	}
	return limitKey{addr: p.addr.Addr(), peer: p.peer, turn: p.turn}
}

// limitEntry is one source's state.
type limitEntry struct {
	bucket       tokenBucket
	penaltyUntil time.Time
	penalty      tokenBucket // the slow bucket while penalised
}

// sourceLimit is a bounded table of per-source buckets. Safe for
// concurrent use.
type sourceLimit struct {
	rate, burst float64 // normal budget
	slowRate    float64 // budget while penalised (burst 1)
	penaltyFor  time.Duration
	max         int // entries held at most

	mu      sync.Mutex
	entries map[limitKey]*limitEntry
}

func newSourceLimit(rate, burst, slowRate float64, penaltyFor time.Duration, max int) *sourceLimit {
	return &sourceLimit{rate: rate, burst: burst, slowRate: slowRate, penaltyFor: penaltyFor, max: max,
		entries: make(map[limitKey]*limitEntry)}
}

// allow takes one handshake from the source's budget; the slow one if it
// is penalised, unless ignorePenalty.
func (l *sourceLimit) allow(k limitKey, now time.Time, ignorePenalty bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entryLocked(k, now)
	if now.Before(e.penaltyUntil) && !ignorePenalty {
		return e.penalty.allow(now, l.slowRate, 1) && e.bucket.allow(now, l.rate, l.burst)
	}
	return e.bucket.allow(now, l.rate, l.burst)
}

// penalize puts the source on the slow budget for penaltyFor from now.
func (l *sourceLimit) penalize(k limitKey, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entryLocked(k, now)
	if !now.Before(e.penaltyUntil) {
		e.penalty = tokenBucket{tokens: 0, last: now} // the next try waits a slow period
	}
	e.penaltyUntil = now.Add(l.penaltyFor)
}

// penalized reports whether the source is on the slow budget.
func (l *sourceLimit) penalized(k limitKey, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries[k]
	return e != nil && now.Before(e.penaltyUntil)
}

// entryLocked finds or makes the source's entry. A full table first drops
// the entries that carry no information any more (bucket full again, no
// penalty); if none, an arbitrary one, so memory stays bounded whatever
// the number of sources.
func (l *sourceLimit) entryLocked(k limitKey, now time.Time) *limitEntry {
	if e := l.entries[k]; e != nil {
		return e
	}
	if len(l.entries) >= l.max {
		full := time.Duration(l.burst / l.rate * float64(time.Second))
		for key, e := range l.entries {
			if now.Sub(e.bucket.last) >= full && !now.Before(e.penaltyUntil) {
				delete(l.entries, key)
			}
		}
		for key := range l.entries {
			if len(l.entries) < l.max {
				break
			}
			delete(l.entries, key)
		}
	}
	e := &limitEntry{}
	l.entries[k] = e
	return e
}

// len is how many sources the table holds.
func (l *sourceLimit) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// globalLimit is one token bucket for everyone, safe for concurrent use.
type globalLimit struct {
	rate, burst float64
	mu          sync.Mutex
	b           tokenBucket
}

func (g *globalLimit) allow(now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.b.allow(now, g.rate, g.burst)
}

// provenSet remembers for provenTTL the sources that answered our cookie
// the standard way (see package dtlscookie); bounded, it forgets everything when
// full rather than grow. Safe for concurrent use.
type provenSet struct {
	mu sync.Mutex
	m  map[limitKey]time.Time
}

func (p *provenSet) add(k limitKey, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil || len(p.m) >= maxProven {
		p.m = make(map[limitKey]time.Time)
	}
	p.m[k] = now.Add(provenTTL)
}

func (p *provenSet) has(k limitKey, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	until, ok := p.m[k]
	if ok && !now.Before(until) {
		delete(p.m, k)
		return false
	}
	return ok
}

// liveSet is a snapshot of the sources and exact paths of live sessions.
type liveSet struct {
	at    time.Time
	m     map[limitKey]struct{}
	paths map[pathKey]struct{}
}

// liveSource reports whether a source is where a live session runs, and
// whether the exact path (address and port, relay) is one. The set is
// rebuilt at most once per liveSetAge, so a flood of hellos costs a map
// lookup each, not a walk over every session.
func (t *Transport) liveSource(p pathKey, now time.Time) (source, path bool) {
	ls := t.live.Load()
	if ls == nil || now.Sub(ls.at) >= liveSetAge {
		m := make(map[limitKey]struct{})
		paths := make(map[pathKey]struct{})
		t.mu.Lock()
		for s := range t.sessions {
			k := s.vc.path().key()
			m[limitKeyOf(k)] = struct{}{}
			paths[k] = struct{}{}
		}
		t.mu.Unlock()
		ls = &liveSet{at: now, m: m, paths: paths}
		t.live.Store(ls)
	}
	_, source = ls.m[limitKeyOf(p)]
	_, path = ls.paths[p]
	return source, path
}
