package nat

import (
	"net/netip"
	"testing"
)

func TestBindingRoundTrip(t *testing.T) {
	req, id := BindingRequest()
	from := netip.MustParseAddrPort("172.31.0.7:40000")
	resp, ok := BindingResponse(req, from)
	if !ok {
		t.Fatal("no response to a binding request")
	}
	got, err := MappedAddress(resp, id)
	if err != nil || got != from {
		t.Fatalf("mapped %v, %v; want %v", got, err, from)
	}
	var other [12]byte
	if _, err := MappedAddress(resp, other); err == nil {
		t.Fatal("accepted a response to another transaction")
	}
	if _, ok := BindingResponse(resp, from); ok {
		t.Fatal("answered a response as if it were a request")
	}
}

func FuzzBindingResponse(f *testing.F) {
	req, _ := BindingRequest()
	f.Add(req)
	f.Add(req[:20])
	f.Add([]byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	from := netip.MustParseAddrPort("10.0.0.1:1")
	f.Fuzz(func(t *testing.T, b []byte) {
		if resp, ok := BindingResponse(b, from); ok && len(resp) < 20 {
			t.Fatalf("short response %x", resp)
		}
	})
}
