package overlay

import (
	"bytes"
	"sync"
	"testing"
)

// inspectCase is one frame with its expected kind. need is the shortest
// prefix that still classifies as want (0 for KindOther cases): every
// shorter prefix must be KindOther, every longer one want.
type inspectCase struct {
	name  string
	frame []byte
	want  Kind
	need  int
}

func inspectCases() []inspectCase {
	ra := icmpv6(134)
	chain := func(n int) []byte {
		// n destination options headers, the last pointing at ICMPv6.
		p := extHdr(ipProtoICMPv6, 0, ra)
		for range n - 1 {
			p = extHdr(ipProtoDstOpts, 0, p)
		}
		return eth(EtherTypeIPv6, ipv6(ipProtoDstOpts, p))
	}
	padded := eth(EtherTypeIPv4, ipv4(ipProtoUDP, udp(67, 68, nil)[:2], ipv4Opts{}))
	padded = append(padded, 0, 67, 0, 68, 0, 0, 0, 0) // padding that looks like ports
	jumbo := ipv6(ipProtoICMPv6, ra)
	jumbo[4], jumbo[5] = 0, 0 // payload length 0: use the whole frame
	cutPlen := ipv6(ipProtoHopByHop, extHdr(ipProtoICMPv6, 0, ra))
	cutPlen[4], cutPlen[5] = 0, 8 // payload ends after the hop-by-hop header
	badIPv4Version := ipv4(ipProtoUDP, udp(67, 68, dhcpBody), ipv4Opts{})
	badIPv4Version[0] = 0x65
	badIPv6Version := ipv6(ipProtoICMPv6, ra)
	badIPv6Version[0] = 0x40
	ihlTooSmall := ipv4(ipProtoUDP, udp(67, 68, dhcpBody), ipv4Opts{})
	ihlTooSmall[0] = 0x44
	ihlBeyond := ipv4(ipProtoUDP, udp(67, 68, nil), ipv4Opts{})
	ihlBeyond[0] = 0x4f // 60-byte header in a 28-byte packet

	return []inspectCase{
		{"dhcpv4 offer", dhcpv4Offer(), KindDHCPv4Server, 38},
		{"dhcpv4 offer 802.1q", eth(EtherTypeIPv4, ipv4(ipProtoUDP, udp(67, 68, dhcpBody), ipv4Opts{}), EtherTypeVLAN), KindDHCPv4Server, 42},
		{"dhcpv4 offer qinq", eth(EtherTypeIPv4, ipv4(ipProtoUDP, udp(67, 68, dhcpBody), ipv4Opts{}), EtherTypeQinQ, EtherTypeVLAN), KindDHCPv4Server, 46},
		{"dhcpv4 offer 0x9100", eth(EtherTypeIPv4, ipv4(ipProtoUDP, udp(67, 68, dhcpBody), ipv4Opts{}), EtherTypeQinQ9), KindDHCPv4Server, 42},
		{"dhcpv4 offer three tags", eth(EtherTypeIPv4, ipv4(ipProtoUDP, udp(67, 68, dhcpBody), ipv4Opts{}), EtherTypeQinQ, EtherTypeVLAN, EtherTypeVLAN), KindOther, 0},
		{"dhcpv4 offer ip options", eth(EtherTypeIPv4, ipv4(ipProtoUDP, udp(67, 68, dhcpBody), ipv4Opts{options: []byte{0x94, 4, 0, 0}})), KindDHCPv4Server, 42},
		{"dhcpv4 offer max ip options", eth(EtherTypeIPv4, ipv4(ipProtoUDP, udp(67, 68, dhcpBody), ipv4Opts{options: make([]byte, 40)})), KindDHCPv4Server, 78},
		{"dhcpv4 offer first fragment", eth(EtherTypeIPv4, ipv4(ipProtoUDP, udp(67, 68, dhcpBody), ipv4Opts{more: true})), KindDHCPv4Server, 38},
		{"dhcpv4 offer non-first fragment", eth(EtherTypeIPv4, ipv4(ipProtoUDP, udp(67, 68, dhcpBody), ipv4Opts{fragOff: 185})), KindOther, 0},
		{"dhcpv4 offer middle fragment", eth(EtherTypeIPv4, ipv4(ipProtoUDP, udp(67, 68, dhcpBody), ipv4Opts{fragOff: 1, more: true})), KindOther, 0},
		{"dhcpv4 discover", eth(EtherTypeIPv4, ipv4(ipProtoUDP, udp(68, 67, dhcpBody), ipv4Opts{})), KindOther, 0},
		{"dhcpv4 relay to server", eth(EtherTypeIPv4, ipv4(ipProtoUDP, udp(67, 67, dhcpBody), ipv4Opts{})), KindOther, 0},
		{"tcp 67 to 68", eth(EtherTypeIPv4, ipv4(6, udp(67, 68, dhcpBody), ipv4Opts{})), KindOther, 0},
		{"ipv4 total length cuts udp header", padded, KindOther, 0},
		{"ipv4 total length below header", eth(EtherTypeIPv4, ipv4(ipProtoUDP, udp(67, 68, dhcpBody), ipv4Opts{totalLen: 19})), KindOther, 0},
		{"ipv4 bad version", eth(EtherTypeIPv4, badIPv4Version), KindOther, 0},
		{"ipv4 ihl below 5", eth(EtherTypeIPv4, ihlTooSmall), KindOther, 0},
		{"ipv4 ihl beyond packet", eth(EtherTypeIPv4, ihlBeyond), KindOther, 0},
		{"ipv4 in ipv6 ethertype", eth(EtherTypeIPv6, ipv4(ipProtoUDP, udp(67, 68, dhcpBody), ipv4Opts{})), KindOther, 0},
		{"dhcpv6 advertise", dhcpv6Advertise(), KindDHCPv6Server, 58},
		{"dhcpv6 advertise vlan", eth(EtherTypeIPv6, ipv6(ipProtoUDP, udp(547, 546, []byte{2, 0, 0, 1})), EtherTypeVLAN), KindDHCPv6Server, 62},
		{"dhcpv6 advertise behind dest opts", eth(EtherTypeIPv6, ipv6(ipProtoDstOpts, extHdr(ipProtoUDP, 1, udp(547, 546, nil)))), KindDHCPv6Server, 74},
		{"dhcpv6 solicit", eth(EtherTypeIPv6, ipv6(ipProtoUDP, udp(546, 547, []byte{1, 0, 0, 1}))), KindOther, 0},
		{"dhcpv6 non-first fragment", eth(EtherTypeIPv6, ipv6(ipProtoFragment, fragHdr(ipProtoUDP, 100, false, udp(547, 546, nil)))), KindOther, 0},
		{"router advert", routerAdvert(), KindRouterAdvert, 55},
		{"router advert qinq", eth(EtherTypeIPv6, ipv6(ipProtoICMPv6, ra), EtherTypeQinQ, EtherTypeVLAN), KindRouterAdvert, 63},
		{"router advert behind hop-by-hop", routerAdvertBehindHopByHop(), KindRouterAdvert, 63},
		{"router advert behind long hop-by-hop", eth(EtherTypeIPv6, ipv6(ipProtoHopByHop, extHdr(ipProtoICMPv6, 3, ra))), KindRouterAdvert, 87},
		{"router advert behind hbh routing dstopts", eth(EtherTypeIPv6, ipv6(ipProtoHopByHop, extHdr(ipProtoRouting, 0, extHdr(ipProtoDstOpts, 0, extHdr(ipProtoICMPv6, 0, ra))))), KindRouterAdvert, 79},
		{"router advert first fragment", eth(EtherTypeIPv6, ipv6(ipProtoFragment, fragHdr(ipProtoICMPv6, 0, true, ra))), KindRouterAdvert, 63},
		{"router advert non-first fragment", eth(EtherTypeIPv6, ipv6(ipProtoFragment, fragHdr(ipProtoICMPv6, 1, true, ra))), KindOther, 0},
		{"router advert last fragment", eth(EtherTypeIPv6, ipv6(ipProtoFragment, fragHdr(ipProtoICMPv6, 8191, false, ra))), KindOther, 0},
		{"router advert behind ah", eth(EtherTypeIPv6, ipv6(ipProtoAH, ahHdr(ipProtoICMPv6, ra))), KindRouterAdvert, 79},
		{"router advert behind max chain", chain(maxIPv6ExtHeaders), KindRouterAdvert, 54 + 8*maxIPv6ExtHeaders + 1},
		{"router advert behind too long chain", chain(maxIPv6ExtHeaders + 1), KindOther, 0},
		{"router advert behind dest opts", eth(EtherTypeIPv6, ipv6(ipProtoDstOpts, extHdr(ipProtoICMPv6, 0, ra))), KindRouterAdvert, 63},
		{"router advert jumbo payload length", eth(EtherTypeIPv6, jumbo), KindRouterAdvert, 55},
		{"router advert payload length cut", eth(EtherTypeIPv6, cutPlen), KindOther, 0},
		{"router solicit", eth(EtherTypeIPv6, ipv6(ipProtoICMPv6, icmpv6(133))), KindOther, 0},
		{"neighbor advert", eth(EtherTypeIPv6, ipv6(ipProtoICMPv6, icmpv6(136))), KindOther, 0},
		{"redirect", eth(EtherTypeIPv6, ipv6(ipProtoICMPv6, icmpv6(137))), KindOther, 0},
		{"esp", eth(EtherTypeIPv6, ipv6(50, ra)), KindOther, 0},
		{"no next header", eth(EtherTypeIPv6, ipv6(59, ra)), KindOther, 0},
		{"ipv6 bad version", eth(EtherTypeIPv6, badIPv6Version), KindOther, 0},
		{"ext header longer than packet", eth(EtherTypeIPv6, ipv6(ipProtoHopByHop, extHdr(ipProtoICMPv6, 2, nil)[:16])), KindOther, 0},
		{"arp", eth(0x0806, make([]byte, 28)), KindOther, 0},
		{"802.3 length field", eth(0x0040, make([]byte, 64)), KindOther, 0},
		{"empty", nil, KindOther, 0},
		{"header only", eth(EtherTypeIPv4, nil), KindOther, 0},
		{"vlan tag truncated", eth(EtherTypeIPv4, nil, EtherTypeVLAN)[:16], KindOther, 0},
	}
}

func TestInspect(t *testing.T) {
	for _, tc := range inspectCases() {
		t.Run(tc.name, func(t *testing.T) {
			if got := Inspect(tc.frame); got != tc.want {
				t.Errorf("Inspect = %v, want %v (frame % x)", got, tc.want, tc.frame)
			}
		})
	}
}

// TestInspectTruncated cuts every case at every length: a prefix shorter
// than need must be KindOther, a longer one must keep the kind, and none may
// panic.
func TestInspectTruncated(t *testing.T) {
	for _, tc := range inspectCases() {
		t.Run(tc.name, func(t *testing.T) {
			for n := 0; n <= len(tc.frame); n++ {
				// Copy so a read past the prefix would be caught by the
				// bounds checks rather than see the original bytes.
				prefix := bytes.Clone(tc.frame[:n])
				want := KindOther
				if tc.want != KindOther && n >= tc.need {
					want = tc.want
				}
				if got := Inspect(prefix); got != want {
					t.Fatalf("Inspect(frame[:%d]) = %v, want %v", n, got, want)
				}
			}
		})
	}
}

func TestKindString(t *testing.T) {
	tests := []struct {
		k    Kind
		want string
	}{
		{KindOther, "other"},
		{KindDHCPv4Server, "dhcpv4-server"},
		{KindDHCPv6Server, "dhcpv6-server"},
		{KindRouterAdvert, "router-advert"},
		{Kind(200), "unknown"},
	}
	for _, tc := range tests {
		if got := tc.k.String(); got != tc.want {
			t.Errorf("Kind(%d).String() = %q, want %q", tc.k, got, tc.want)
		}
	}
}

func TestGuardsDrop(t *testing.T) {
	frames := []struct {
		name  string
		frame []byte
	}{
		{"dhcpv4", dhcpv4Offer()},
		{"dhcpv6", dhcpv6Advertise()},
		{"ra", routerAdvert()},
		{"ra hbh", routerAdvertBehindHopByHop()},
		{"other", eth(EtherTypeIPv4, ipv4(ipProtoUDP, udp(68, 67, dhcpBody), ipv4Opts{}))},
		{"short", []byte{1, 2, 3}},
	}
	tests := []struct {
		name string
		cfg  GuardConfig
		drop map[string]bool
		want GuardStats
	}{
		{"off", GuardConfig{}, nil, GuardStats{}},
		{"dhcp", GuardConfig{DHCP: true}, map[string]bool{"dhcpv4": true, "dhcpv6": true}, GuardStats{DroppedDHCPv4: 1, DroppedDHCPv6: 1}},
		{"ra", GuardConfig{RA: true}, map[string]bool{"ra": true, "ra hbh": true}, GuardStats{DroppedRA: 2}},
		{"both", GuardConfig{DHCP: true, RA: true}, map[string]bool{"dhcpv4": true, "dhcpv6": true, "ra": true, "ra hbh": true}, GuardStats{DroppedDHCPv4: 1, DroppedDHCPv6: 1, DroppedRA: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewGuards(tc.cfg)
			if got := g.Config(); got != tc.cfg {
				t.Errorf("Config() = %+v, want %+v", got, tc.cfg)
			}
			for _, f := range frames {
				if got := g.Drop(f.frame); got != tc.drop[f.name] {
					t.Errorf("Drop(%s) = %v, want %v", f.name, got, tc.drop[f.name])
				}
			}
			if got := g.Stats(); got != tc.want {
				t.Errorf("Stats() = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestGuardsZeroValueAndReconfigure(t *testing.T) {
	var g Guards
	if g.Drop(dhcpv4Offer()) || g.Drop(routerAdvert()) {
		t.Fatal("zero Guards dropped a frame")
	}
	g.Configure(GuardConfig{DHCP: true, RA: true})
	if !g.Drop(dhcpv4Offer()) || !g.Drop(routerAdvert()) {
		t.Fatal("configured Guards let a frame through")
	}
	g.Configure(GuardConfig{})
	if g.Drop(dhcpv4Offer()) {
		t.Fatal("Guards still dropping after being switched off")
	}
	if got, want := g.Stats(), (GuardStats{DroppedDHCPv4: 1, DroppedRA: 1}); got != want {
		t.Errorf("Stats() = %+v, want %+v (counters survive Configure)", got, want)
	}
}

func TestGuardsConcurrent(t *testing.T) {
	g := NewGuards(GuardConfig{DHCP: true, RA: true})
	const workers, each = 4, 500
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			offer, ra := dhcpv4Offer(), routerAdvert()
			for range each {
				g.Drop(offer)
				g.Drop(ra)
			}
		})
	}
	wg.Go(func() {
		for range each {
			g.Configure(GuardConfig{DHCP: true, RA: true})
			_ = g.Stats()
		}
	})
	wg.Wait()
	if got, want := g.Stats(), (GuardStats{DroppedDHCPv4: workers * each, DroppedRA: workers * each}); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
}

func TestGuardAllocs(t *testing.T) {
	skipIfRace(t)
	g := NewGuards(GuardConfig{DHCP: true, RA: true})
	frames := [][]byte{dhcpv4Offer(), dhcpv6Advertise(), routerAdvertBehindHopByHop(), eth(0x0806, make([]byte, 28))}
	if n := testing.AllocsPerRun(100, func() {
		for _, f := range frames {
			Inspect(f)
			g.Drop(f)
		}
	}); n != 0 {
		t.Errorf("Inspect/Drop allocate %v times per run, want 0", n)
	}
}

func BenchmarkInspect(b *testing.B) {
	benches := []struct {
		name  string
		frame []byte
	}{
		{"ipv4-tcp", eth(EtherTypeIPv4, ipv4(6, make([]byte, 1460), ipv4Opts{}))},
		{"dhcpv4", dhcpv4Offer()},
		{"ra-hbh", routerAdvertBehindHopByHop()},
		{"arp", eth(0x0806, make([]byte, 28))},
	}
	for _, bc := range benches {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Inspect(bc.frame)
			}
		})
	}
}

func BenchmarkGuardsDrop(b *testing.B) {
	g := NewGuards(GuardConfig{DHCP: true, RA: true})
	frame := eth(EtherTypeIPv4, ipv4(6, make([]byte, 1460), ipv4Opts{}))
	b.ReportAllocs()
	for b.Loop() {
		g.Drop(frame)
	}
}
