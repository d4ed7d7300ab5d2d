package overlay

import (
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// allowN calls Allow n times at now and returns how many were allowed.
func allowN(r *RateLimiter, n int, now int64) int {
	got := 0
	for range n {
		if r.Allow(now) {
			got++
		}
	}
	return got
}

func TestRateLimiter(t *testing.T) {
	ms := int64(time.Millisecond)
	type step struct {
		now   int64
		tries int
		want  int
	}
	tests := []struct {
		name      string
		perSecond int
		burst     int
		steps     []step
	}{
		{"burst then empty", 10, 5, []step{{0, 10, 5}, {0, 3, 0}}},
		{"refill one per interval", 10, 5, []step{{0, 5, 5}, {99 * ms, 1, 0}, {100 * ms, 2, 1}, {350 * ms, 5, 2}}},
		{"refill capped at burst", 10, 5, []step{{0, 5, 5}, {10 * sec, 20, 5}}},
		{"fractional refill accumulates", 3, 1, []step{{0, 1, 1}, {100 * ms, 1, 0}, {200 * ms, 1, 0}, {334 * ms, 1, 1}}},
		{"backwards time adds nothing", 10, 2, []step{{sec, 2, 2}, {0, 5, 0}, {sec + 50*ms, 1, 0}, {sec + 100*ms, 1, 1}}},
		{"burst below one is one", 1000, 0, []step{{0, 3, 1}, {ms, 3, 1}}},
		{"negative burst is one", 1000, -5, []step{{0, 3, 1}}},
		{"unlimited", 0, 0, []step{{0, 1000, 1000}, {-5, 10, 10}}},
		{"negative rate is unlimited", -1, 3, []step{{0, 100, 100}}},
		{"long gap", 1000, 10, []step{{math.MinInt64, 20, 10}, {math.MaxInt64, 20, 10}, {math.MaxInt64, 1, 0}}},
		{"huge rate and burst clamp", math.MaxInt, math.MaxInt, []step{{0, 10, 10}, {math.MaxInt64, 10, 10}}},
		{"starts at negative time", 10, 1, []step{{-sec, 1, 1}, {-sec + 100*ms, 1, 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRateLimiter(tc.perSecond, tc.burst)
			wantDenied := uint64(0)
			for i, s := range tc.steps {
				if got := allowN(r, s.tries, s.now); got != s.want {
					t.Fatalf("step %d at %d ns: %d of %d allowed, want %d", i, s.now, got, s.tries, s.want)
				}
				wantDenied += uint64(s.tries - s.want)
			}
			if got := r.Denied(); got != wantDenied {
				t.Errorf("Denied() = %d, want %d", got, wantDenied)
			}
		})
	}
}

func TestRateLimiterSteadyRate(t *testing.T) {
	// Offered 1000 frames/s for 10 s against a 100/s limit with burst 10:
	// exactly burst + rate*duration get through.
	r := NewRateLimiter(100, 10)
	got := 0
	for now := int64(0); now <= 10*sec; now += int64(time.Millisecond) {
		if r.Allow(now) {
			got++
		}
	}
	if want := 10 + 100*10; got != want {
		t.Errorf("allowed %d frames, want %d", got, want)
	}
	if r.Allowed() != uint64(got) || r.Denied() != uint64(10001-got) {
		t.Errorf("Allowed/Denied = %d/%d, want %d/%d", r.Allowed(), r.Denied(), got, 10001-got)
	}
}

func TestRateLimiterNilAndUnlimited(t *testing.T) {
	var r *RateLimiter
	if !r.Allow(0) || !r.Unlimited() || r.Denied() != 0 || r.Allowed() != 0 {
		t.Error("nil limiter must allow everything and count nothing")
	}
	if !NewRateLimiter(0, 10).Unlimited() || NewRateLimiter(1, 1).Unlimited() {
		t.Error("Unlimited() wrong")
	}
}

func TestRateLimiterConcurrent(t *testing.T) {
	r := NewRateLimiter(1000, 50)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			allowed.Add(int64(allowN(r, 100, 0)))
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != 50 {
		t.Errorf("%d allowed across goroutines at one instant, want the burst of 50", got)
	}
	if r.Denied() != 350 {
		t.Errorf("Denied() = %d, want 350", r.Denied())
	}
}

func TestRateLimiterAllocs(t *testing.T) {
	skipIfRace(t)
	r := NewRateLimiter(1000, 10)
	now := int64(0)
	if n := testing.AllocsPerRun(1000, func() { now += 100_000; r.Allow(now) }); n != 0 {
		t.Errorf("Allow allocates %v times per call, want 0", n)
	}
}

func BenchmarkRateLimiterAllow(b *testing.B) {
	r := NewRateLimiter(1_000_000, 1000)
	now := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		now += 1000
		r.Allow(now)
	}
}

func BenchmarkRateLimiterAllowUnlimited(b *testing.B) {
	r := NewRateLimiter(0, 0)
	b.ReportAllocs()
	for b.Loop() {
		r.Allow(0)
	}
}
