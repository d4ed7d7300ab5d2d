package addrwatch

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestAddrChange(t *testing.T) {
	msg := func(typ uint16, l uint32) []byte {
		b := make([]byte, 16)
		binary.NativeEndian.PutUint32(b, l)
		binary.NativeEndian.PutUint16(b[4:], typ)
		return b
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"new address", msg(unix.RTM_NEWADDR, 16), true},
		{"deleted address", msg(unix.RTM_DELADDR, 16), true},
		{"a route, then an address", append(msg(unix.RTM_NEWROUTE, 16), msg(unix.RTM_NEWADDR, 16)...), true},
		{"a route", msg(unix.RTM_NEWROUTE, 16), false},
		{"length past the end", msg(unix.RTM_NEWADDR, 64), false},
		{"length below a header", msg(unix.RTM_NEWADDR, 4), false},
		{"short", []byte{1, 2, 3}, false},
	} {
		if got := addrChange(tc.b); got != tc.want {
			t.Errorf("%s: addrChange = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// FuzzAddrChange: any datagram is read without a panic.
func FuzzAddrChange(f *testing.F) {
	f.Add([]byte{16, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) { addrChange(b) })
}

// TestWatchStops: the watch returns soon after its context ends.
func TestWatchStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Watch(ctx, func() {}) }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Watch did not return after its context ended")
	}
}
