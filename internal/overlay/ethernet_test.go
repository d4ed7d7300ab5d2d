package overlay

import "testing"

func TestEthernetHelpers(t *testing.T) {
	frame := eth(EtherTypeIPv6, []byte{0x60})
	if got := Dst(frame); got != testDstMAC {
		t.Errorf("Dst = %x, want %x", got, testDstMAC)
	}
	if got := Src(frame); got != testSrcMAC {
		t.Errorf("Src = %x, want %x", got, testSrcMAC)
	}
	if got := EtherType(frame); got != EtherTypeIPv6 {
		t.Errorf("EtherType = %#x, want %#x", got, EtherTypeIPv6)
	}

	// Short input gives zero values, never a panic.
	for n := range HeaderLen {
		short := frame[:n]
		if ValidFrame(short) {
			t.Errorf("ValidFrame(%d bytes) = true", n)
		}
		if EtherType(short) != 0 {
			t.Errorf("EtherType(%d bytes) != 0", n)
		}
		if n < 6 && Dst(short) != ([6]byte{}) {
			t.Errorf("Dst(%d bytes) not zero", n)
		}
		if n < 12 && Src(short) != ([6]byte{}) {
			t.Errorf("Src(%d bytes) not zero", n)
		}
	}
	if !ValidFrame(frame[:HeaderLen]) {
		t.Error("ValidFrame(14 bytes) = false")
	}
}

func TestMACClasses(t *testing.T) {
	tests := []struct {
		name      string
		mac       [6]byte
		multicast bool
		broadcast bool
	}{
		{"broadcast", broadcastMAC, true, true},
		{"ipv4 multicast", [6]byte{0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb}, true, false},
		{"ipv6 multicast", [6]byte{0x33, 0x33, 0x00, 0x00, 0x00, 0x01}, true, false},
		{"stp", [6]byte{0x01, 0x80, 0xc2, 0x00, 0x00, 0x00}, true, false},
		{"global unicast", [6]byte{0x00, 0x1b, 0x21, 0x01, 0x02, 0x03}, false, false},
		{"local unicast", [6]byte{0x02, 0xff, 0xff, 0xff, 0xff, 0xff}, false, false},
		{"zero", [6]byte{}, false, false},
		{"almost broadcast", [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsMulticast(tc.mac); got != tc.multicast {
				t.Errorf("IsMulticast = %v, want %v", got, tc.multicast)
			}
			if got := IsBroadcast(tc.mac); got != tc.broadcast {
				t.Errorf("IsBroadcast = %v, want %v", got, tc.broadcast)
			}
		})
	}
}

func TestEthernetAllocs(t *testing.T) {
	skipIfRace(t)
	frame := dhcpv4Offer()
	if n := testing.AllocsPerRun(100, func() {
		_ = ValidFrame(frame) && IsMulticast(Dst(frame)) && IsBroadcast(Src(frame))
	}); n != 0 {
		t.Errorf("helpers allocate %v times per call, want 0", n)
	}
}
