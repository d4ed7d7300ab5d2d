package transport

import "testing"

func TestReplayWindow(t *testing.T) {
	var w replayWindow
	steps := []struct {
		c    uint64
		want bool
	}{
		{0, true}, {0, false}, {1, true}, {1, false}, {5, true}, {3, true}, {3, false},
		{2, true}, {4, true}, {5, false},
		{replayWindowSize + 10, true},
		{9, false}, // now too old
		{10, true}, // exactly at the window edge
		{10, false},
		{1 << 40, true},
		{1<<40 - replayWindowSize, true},
		{1<<40 - replayWindowSize - 1, false},
		{1<<40 + 1, true},
	}
	for i, s := range steps {
		if got := w.accept(s.c); got != s.want {
			t.Fatalf("step %d: accept(%d) = %v, want %v", i, s.c, got, s.want)
		}
	}
}

func TestReplayWindowReorder(t *testing.T) {
	var w replayWindow
	// Every counter in a shuffled block within the window is accepted once.
	for base := uint64(0); base < 10000; base += 100 {
		for i := uint64(99); ; i-- {
			if !w.accept(base + i) {
				t.Fatalf("reordered counter %d rejected", base+i)
			}
			if w.accept(base + i) {
				t.Fatalf("duplicate counter %d accepted", base+i)
			}
			if i == 0 {
				break
			}
		}
	}
}
