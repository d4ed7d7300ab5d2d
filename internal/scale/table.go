package scale

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
)

// Table collects the figures of one run, in the order they were measured,
// and prints them as a Markdown table (the form docs/scale.md keeps).
type Table struct {
	Title string
	mu    sync.Mutex
	rows  [][3]string // figure, value, goal
}

// Add records one figure; goal says what issue 11 asks for ("" if nothing).
func (t *Table) Add(figure, goal, format string, args ...any) {
	t.mu.Lock()
	t.rows = append(t.rows, [3]string{figure, fmt.Sprintf(format, args...), goal})
	t.mu.Unlock()
}

// Write prints the table.
func (t *Table) Write(w io.Writer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(w, "\n### %s\n\n| figure | value | goal (issue 11) |\n| --- | --- | --- |\n", t.Title)
	for _, r := range t.rows {
		fmt.Fprintf(w, "| %s | %s | %s |\n", r[0], strings.ReplaceAll(r[1], "|", "/"), r[2])
	}
	fmt.Fprintln(w)
}

// Durations summarises latencies: median, 90th percentile and maximum.
func Durations(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(f float64) time.Duration { return s[min(len(s)-1, int(f*float64(len(s))))] }
	r := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	return fmt.Sprintf("median %s, p90 %s, max %s", r(q(0.5)), r(q(0.9)), r(s[len(s)-1]))
}

// MeanMax returns the mean and the maximum of counts.
func MeanMax(n []int) (mean float64, maxN int) {
	if len(n) == 0 {
		return 0, 0
	}
	sum := 0
	for _, v := range n {
		sum += v
		maxN = max(maxN, v)
	}
	return float64(sum) / float64(len(n)), maxN
}

// Secs formats a duration in seconds with one decimal.
func Secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

// MiB formats bytes in MiB with one decimal.
func MiB(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }

// KiB formats bytes in KiB.
func KiB(b float64) string { return fmt.Sprintf("%.0f KiB", b/(1<<10)) }
