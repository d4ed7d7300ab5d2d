package overlay

import (
	"sync"
	"sync/atomic"
	"time"
)

// Limits on RateLimiter parameters. Larger values are clamped so the
// fixed-point arithmetic in Allow cannot overflow int64.
const (
	MaxRatePerSecond = 1_000_000_000 // one frame per nanosecond
	MaxBurst         = 1 << 30
)

// tokenUnit is one frame in the bucket's fixed-point unit. With this scale an
// elapsed time dt (ns) at rate r (frames/s) adds exactly dt*r units, so the
// refill needs no division and no floating point.
const tokenUnit = int64(time.Second)

// RateLimiter is a token bucket for the frames flooded to one peer. It starts
// full. Allow is safe for concurrent use and allocation-free; a tiny mutex is
// enough because each peer has its own limiter and only the TAP reader floods.
type RateLimiter struct {
	// Set once by NewRateLimiter.
	unlimited bool
	rate      int64 // frames per second
	capacity  int64 // burst * tokenUnit
	fillTime  int64 // ns for an empty bucket to fill; longer gaps just fill it

	allowed atomic.Uint64
	denied  atomic.Uint64

	mu sync.Mutex // guards the fields below
	// started is false until the first Allow, which sets last: the
	// constructor does not know the caller's clock.
	started bool
	tokens  int64 // in tokenUnit units, 0 <= tokens <= capacity
	last    int64 // the latest time seen; never moves backwards
}

// NewRateLimiter returns a token bucket that lets through perSecond frames a
// second on average and up to burst frames at once. perSecond <= 0 means
// unlimited. burst < 1 is raised to 1 (a bucket smaller than one frame would
// deny everything). Values above MaxRatePerSecond and MaxBurst are clamped.
func NewRateLimiter(perSecond, burst int) *RateLimiter {
	if perSecond <= 0 {
		return &RateLimiter{unlimited: true}
	}
	rate := int64(min(perSecond, MaxRatePerSecond))
	b := int64(max(1, min(burst, MaxBurst)))
	capacity := b * tokenUnit
	return &RateLimiter{
		rate:     rate,
		capacity: capacity,
		fillTime: (capacity + rate - 1) / rate,
	}
}

// Allow reports whether one more frame may go at time now (monotonic
// nanoseconds, from the caller's clock) and takes a token for it. Time that
// goes backwards adds no tokens; a gap of any length at most fills the
// bucket. A nil or unlimited limiter allows everything.
func (r *RateLimiter) Allow(now int64) bool {
	if r == nil || r.unlimited {
		return true
	}
	r.mu.Lock()
	switch {
	case !r.started:
		r.started, r.tokens, r.last = true, r.capacity, now
	case now > r.last:
		if dt := elapsed(now, r.last); dt >= r.fillTime {
			r.tokens = r.capacity
		} else {
			// dt*rate < capacity+rate and tokens <= capacity: no overflow
			// for the clamped parameters.
			r.tokens = min(r.capacity, r.tokens+dt*r.rate)
		}
		r.last = now
	}
	ok := r.tokens >= tokenUnit
	if ok {
		r.tokens -= tokenUnit
	}
	r.mu.Unlock()
	if ok {
		r.allowed.Add(1)
	} else {
		r.denied.Add(1)
	}
	return ok
}

// Unlimited reports whether the limiter lets everything through.
func (r *RateLimiter) Unlimited() bool {
	return r == nil || r.unlimited
}

// Allowed returns how many frames Allow has let through (0 for an unlimited
// limiter, which does not count).
func (r *RateLimiter) Allowed() uint64 {
	if r == nil {
		return 0
	}
	return r.allowed.Load()
}

// Denied returns how many frames Allow has refused.
func (r *RateLimiter) Denied() uint64 {
	if r == nil {
		return 0
	}
	return r.denied.Load()
}

// elapsed returns now-then in nanoseconds, 0 when time went backwards and
// math.MaxInt64 when the difference does not fit in an int64.
func elapsed(now, then int64) int64 {
	if now <= then {
		return 0
	}
	d := now - then
	if d < 0 {
		return 1<<63 - 1
	}
	return d
}
