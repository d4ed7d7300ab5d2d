package transport

import (
	"bytes"
	"testing"
)

// TestFramePath: the benchmark harness delivers frames of every size class
// intact (whole, fragmented) with both AEADs, many times over (the replay
// window moves), and allocates nothing per frame.
func TestFramePath(t *testing.T) {
	key := bytes.Repeat([]byte{0x42}, 32)
	for _, cipher := range []string{CipherAESGCM, CipherChaCha20} {
		for _, size := range []int{60, 1400, 1514} {
			f, err := NewFramePath(cipher, key)
			if err != nil {
				t.Fatal(err)
			}
			frame := frameOf(size, 3)
			for i := 0; i < 100; i++ {
				if err := f.RoundTrip(frame); err != nil {
					t.Fatalf("%s %d B, frame %d: %v", cipher, size, i, err)
				}
			}
			if !bytes.Equal(f.Delivered(), frame) {
				t.Fatalf("%s %d B: delivered frame differs", cipher, size)
			}
			if !raceEnabled {
				if a := testing.AllocsPerRun(20, func() { _ = f.RoundTrip(frame) }); a != 0 {
					t.Errorf("%s %d B: %v allocations per frame", cipher, size, a)
				}
			}
			f.Close()
		}
	}
	if _, err := NewFramePath("rot13", key); err == nil {
		t.Fatal("NewFramePath accepts an unknown cipher")
	}
}
