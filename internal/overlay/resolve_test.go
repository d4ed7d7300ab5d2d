package overlay

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
)

// arpFrame builds an ARP packet (op 1 request, 2 reply) from spa for tpa.
func arpFrame(op uint16, spa, tpa string) []byte {
	f := make([]byte, 14+28)
	copy(f, broadcastMAC[:])
	copy(f[6:], []byte{2, 0, 0, 0, 0, 1})
	binary.BigEndian.PutUint16(f[12:], EtherTypeARP)
	a := f[14:]
	binary.BigEndian.PutUint16(a[0:], 1)
	binary.BigEndian.PutUint16(a[2:], EtherTypeIPv4)
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:], op)
	copy(a[8:], []byte{2, 0, 0, 0, 0, 1})
	s, t := netip.MustParseAddr(spa).As4(), netip.MustParseAddr(tpa).As4()
	copy(a[14:], s[:])
	copy(a[24:], t[:])
	return f
}

// nsFrame builds an IPv6 neighbour solicitation for target (ICMPv6 type
// typ, to the solicited-node group).
func nsFrame(typ byte, src, target string) []byte {
	f := make([]byte, 14+40+24)
	copy(f, []byte{0x33, 0x33, 0xff, 0, 0, 1})
	copy(f[6:], []byte{2, 0, 0, 0, 0, 1})
	binary.BigEndian.PutUint16(f[12:], EtherTypeIPv6)
	ip := f[14:]
	ip[0] = 0x60
	binary.BigEndian.PutUint16(ip[4:], 24)
	ip[6], ip[7] = ipProtoICMPv6, 255
	s, t := netip.MustParseAddr(src).As16(), netip.MustParseAddr(target).As16()
	copy(ip[8:], s[:])
	dst := netip.MustParseAddr("ff02::1:ff00:1").As16()
	copy(ip[24:], dst[:])
	ip[40] = typ
	copy(ip[48:], t[:])
	return f
}

// tagged puts one 802.1Q tag into frame.
func tagged(frame []byte) []byte {
	out := append([]byte(nil), frame[:12]...)
	out = append(out, 0x81, 0x00, 0x00, 0x05)
	return append(out, frame[12:]...)
}

func resolveCases() []struct {
	name  string
	frame []byte
	want  string // "" = not a question for one owner
} {
	return []struct {
		name  string
		frame []byte
		want  string
	}{
		{"arp request", arpFrame(1, "10.77.0.1", "10.77.1.20"), "10.77.1.20"},
		{"arp probe", arpFrame(1, "0.0.0.0", "10.77.1.20"), "10.77.1.20"},
		{"arp gratuitous", arpFrame(1, "10.77.1.20", "10.77.1.20"), ""},
		{"arp reply", arpFrame(2, "10.77.0.1", "10.77.1.20"), ""},
		{"arp tagged", tagged(arpFrame(1, "10.77.0.1", "10.77.2.1")), "10.77.2.1"},
		{"arp short", arpFrame(1, "10.77.0.1", "10.77.1.20")[:41], ""},
		{"ns", nsFrame(icmpv6NeighborSolicit, "fd00::1", "fd00::2:5"), "fd00::2:5"},
		{"ns dad", nsFrame(icmpv6NeighborSolicit, "::", "fd00::2:5"), "fd00::2:5"},
		{"ns tagged", tagged(nsFrame(icmpv6NeighborSolicit, "fd00::1", "fd00::7")), "fd00::7"},
		{"na", nsFrame(136, "fd00::1", "fd00::2:5"), ""},
		{"ns short", nsFrame(icmpv6NeighborSolicit, "fd00::1", "fd00::2:5")[:14+40+23], ""},
		{"plain", bytes.Repeat([]byte{0xff}, 60), ""},
	}
}

func TestResolveTarget(t *testing.T) {
	for _, tc := range resolveCases() {
		got, ok := ResolveTarget(tc.frame)
		if tc.want == "" {
			if ok {
				t.Errorf("%s: ResolveTarget = %v, want none", tc.name, got)
			}
			continue
		}
		if !ok || got != netip.MustParseAddr(tc.want) {
			t.Errorf("%s: ResolveTarget = %v %v, want %s", tc.name, got, ok, tc.want)
		}
	}
	f := arpFrame(1, "10.77.0.1", "10.77.1.20")
	if a := testing.AllocsPerRun(100, func() { ResolveTarget(f) }); a != 0 {
		t.Fatalf("ResolveTarget allocates %v times", a)
	}
}

// FuzzResolveTarget: ResolveTarget never panics, answers the same for a
// copy, and an address it finds is read from bytes the frame has (a
// prefix of the frame that ends before the address finds nothing).
func FuzzResolveTarget(f *testing.F) {
	for _, tc := range resolveCases() {
		f.Add(tc.frame)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		a, ok := ResolveTarget(frame)
		b, ok2 := ResolveTarget(bytes.Clone(frame))
		if a != b || ok != ok2 {
			t.Fatal("not deterministic")
		}
		if ok && !a.IsValid() {
			t.Fatal("ok with an invalid address")
		}
		if ok {
			if _, short := ResolveTarget(frame[:len(frame)-1]); short && len(frame) <= 14+28 {
				// ARP is exactly 28 bytes after the header: one byte less
				// must not parse (NS is longer and may have trailing bytes).
				t.Fatalf("a truncated frame still resolves")
			}
		}
	})
}
