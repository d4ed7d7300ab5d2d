package nat

import (
	"net"
	"net/netip"
	"testing"

	"github.com/pion/stun/v3"
)

func TestBindingRoundTrip(t *testing.T) {
	for _, from := range []netip.AddrPort{
		netip.MustParseAddrPort("172.31.0.7:40000"),
		netip.MustParseAddrPort("[2001:db8::5]:6464"),
	} {
		req, id := BindingRequest()
		resp, ok := BindingResponse(req, from)
		if !ok {
			t.Fatal("no response to a binding request")
		}
		got, err := MappedAddress(resp, id)
		if err != nil || got != from {
			t.Fatalf("mapped %v, %v; want %v", got, err, from)
		}
		var other [TransactionIDSize]byte
		if _, err := MappedAddress(resp, other); err == nil {
			t.Fatal("accepted a response to another transaction")
		}
		if _, ok := BindingResponse(resp, from); ok {
			t.Fatal("answered a response as if it were a request")
		}
	}
}

// TestAgainstPion checks both directions against an independent
// implementation: pion/stun decodes our response (with its fingerprint
// check) and our request; we decode pion's response.
func TestAgainstPion(t *testing.T) {
	from := netip.MustParseAddrPort("192.0.2.1:32853")
	req, id := BindingRequest()
	pm := &stun.Message{Raw: append([]byte(nil), req...)}
	if err := pm.Decode(); err != nil || pm.Type != stun.BindingRequest || stun.Fingerprint.Check(pm) != nil {
		t.Fatalf("pion rejects our request: %v %v", err, pm.Type)
	}
	resp, _ := BindingResponse(req, from)
	rm := &stun.Message{Raw: append([]byte(nil), resp...)}
	if err := rm.Decode(); err != nil {
		t.Fatal(err)
	}
	if err := stun.Fingerprint.Check(rm); err != nil {
		t.Fatalf("fingerprint: %v", err)
	}
	var xa stun.XORMappedAddress
	if err := xa.GetFrom(rm); err != nil || xa.Port != 32853 || !xa.IP.Equal(net.ParseIP("192.0.2.1")) {
		t.Fatalf("pion reads %v:%d (%v)", xa.IP, xa.Port, err)
	}
	pionResp := stun.MustBuild(stun.NewTransactionIDSetter(id), stun.BindingSuccess,
		&stun.XORMappedAddress{IP: net.ParseIP("198.51.100.9"), Port: 4242}, stun.Fingerprint)
	got, err := MappedAddress(pionResp.Raw, id)
	if err != nil || got != netip.MustParseAddrPort("198.51.100.9:4242") {
		t.Fatalf("we read pion's response as %v (%v)", got, err)
	}
}

func TestBindingResponseAllocsNothingForJunk(t *testing.T) {
	from := netip.MustParseAddrPort("10.0.0.1:1")
	junk := []byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	if a := testing.AllocsPerRun(100, func() { BindingResponse(junk, from) }); a != 0 {
		t.Fatalf("%v allocations for a truncated request", a)
	}
}

func FuzzBindingResponse(f *testing.F) {
	req, _ := BindingRequest()
	f.Add(req)
	f.Add(req[:20])
	f.Add([]byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	from := netip.MustParseAddrPort("10.0.0.1:1")
	f.Fuzz(func(t *testing.T, b []byte) {
		if resp, ok := BindingResponse(b, from); ok {
			var id [TransactionIDSize]byte
			copy(id[:], resp[8:20])
			if got, err := MappedAddress(resp, id); err != nil || got != from {
				t.Fatalf("our own response reads as %v, %v", got, err)
			}
		}
		var id [TransactionIDSize]byte
		_, _ = MappedAddress(b, id)
	})
}
