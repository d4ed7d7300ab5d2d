package scale

import (
	"strings"
	"testing"
	"time"
)

func TestDurations(t *testing.T) {
	for _, c := range []struct {
		in   []time.Duration
		want string
	}{
		{nil, "-"},
		{[]time.Duration{time.Second}, "median 1s, p90 1s, max 1s"},
		{[]time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond}, "median 2ms, p90 3ms, max 3ms"},
	} {
		if got := Durations(c.in); got != c.want {
			t.Errorf("Durations(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestMeanMax(t *testing.T) {
	if m, x := MeanMax([]int{1, 2, 6}); m != 3 || x != 6 {
		t.Fatalf("MeanMax = %v %v", m, x)
	}
	if m, x := MeanMax(nil); m != 0 || x != 0 {
		t.Fatalf("MeanMax(nil) = %v %v", m, x)
	}
}

func TestTableWrite(t *testing.T) {
	tb := &Table{Title: "x"}
	tb.Add("reach", "all", "%d/%d", 3, 4)
	var b strings.Builder
	tb.Write(&b)
	if !strings.Contains(b.String(), "| reach | 3/4 | all |") {
		t.Fatalf("table:\n%s", b.String())
	}
}
