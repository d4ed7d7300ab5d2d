package overlay

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
)

// udpTo builds an IP/UDP multicast frame to group (IPv4 or IPv6) with the
// group's MAC.
func udpTo(group string) []byte {
	g := netip.MustParseAddr(group)
	if g.Is4() {
		b := g.As4()
		f := make([]byte, 14+20+8)
		copy(f, []byte{0x01, 0x00, 0x5e, b[1] & 0x7f, b[2], b[3]})
		binary.BigEndian.PutUint16(f[12:], EtherTypeIPv4)
		ip := f[14:]
		ip[0], ip[9] = 0x45, 17
		binary.BigEndian.PutUint16(ip[2:], 28)
		copy(ip[16:], b[:])
		return f
	}
	b := g.As16()
	f := make([]byte, 14+40+8)
	copy(f, []byte{0x33, 0x33, b[12], b[13], b[14], b[15]})
	binary.BigEndian.PutUint16(f[12:], EtherTypeIPv6)
	ip := f[14:]
	ip[0], ip[6] = 0x60, 17
	binary.BigEndian.PutUint16(ip[4:], 8)
	copy(ip[24:], b[:])
	return f
}

func rawTo(dst [6]byte) []byte {
	f := make([]byte, 60)
	copy(f, dst[:])
	binary.BigEndian.PutUint16(f[12:], 0x88cc)
	return f
}

func TestParseFloodAllow(t *testing.T) {
	good := [][]string{nil, {"all"}, {"ALL"}, {"none"}, {"224.0.0.251"}, {"239.0.0.0/8", "ff02::fb"},
		{"ff05::/16"}, {"01:00:5e:00:00:fb"}, {"01-80-c2-00-00-0e"}, {" 224.0.0.251 "}}
	for _, in := range good {
		if _, err := ParseFloodAllow(in); err != nil {
			t.Errorf("ParseFloodAllow(%q): %v", in, err)
		}
	}
	bad := [][]string{{"10.0.0.1"}, {"fd00::1"}, {"224.0.0.0/3"}, {"ff00::/7"}, {"02:00:00:00:00:01"},
		{"ff:ff:ff:ff:ff:ff"}, {"mdns"}, {"none", "224.0.0.251"}, {""}, {"fe80::1%eth0"}, {"::ffff:224.0.0.1"},
		{"00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01"}}
	for _, in := range bad {
		if _, err := ParseFloodAllow(in); !errors.Is(err, ErrFloodAllow) {
			t.Errorf("ParseFloodAllow(%q) err = %v, want ErrFloodAllow", in, err)
		}
	}
}

func TestFloodFilterAllow(t *testing.T) {
	mdns4, mdns6, ssdp := udpTo("224.0.0.251"), udpTo("ff02::fb"), udpTo("239.255.255.250")
	lldp := rawTo([6]byte{0x01, 0x80, 0xc2, 0, 0, 0x0e})
	arp := arpFrame(1, "10.77.0.1", "10.77.1.2")
	ns := nsFrame(icmpv6NeighborSolicit, "fd00::1", "fd00::2")
	unicast := rawTo([6]byte{2, 0, 0, 0, 0, 9})
	always := [][]byte{arp, ns, unicast, tagged(arp)}
	tests := []struct {
		allow        []string
		pass, refuse [][]byte
	}{
		{nil, [][]byte{mdns4, mdns6, ssdp, lldp}, nil},
		{[]string{"all"}, [][]byte{mdns4, mdns6, ssdp, lldp}, nil},
		{[]string{"none"}, nil, [][]byte{mdns4, mdns6, ssdp, lldp}},
		{[]string{"224.0.0.251", "ff02::fb"}, [][]byte{mdns4, mdns6, tagged(mdns4)}, [][]byte{ssdp, lldp, tagged(ssdp)}},
		{[]string{"239.0.0.0/8"}, [][]byte{ssdp}, [][]byte{mdns4, mdns6, lldp}},
		{[]string{"01:80:c2:00:00:0e"}, [][]byte{lldp}, [][]byte{mdns4, ssdp}},
		{[]string{"01:00:5e:00:00:fb"}, [][]byte{mdns4}, [][]byte{ssdp, mdns6}},
	}
	for _, tt := range tests {
		f, err := ParseFloodAllow(tt.allow)
		if err != nil {
			t.Fatal(err)
		}
		for i, fr := range append(tt.pass, always...) {
			if !f.Allow(fr) {
				t.Errorf("%q refuses frame %d it should pass", tt.allow, i)
			}
		}
		for i, fr := range tt.refuse {
			if f.Allow(fr) {
				t.Errorf("%q passes frame %d it should refuse", tt.allow, i)
			}
		}
	}
	f, _ := ParseFloodAllow([]string{"224.0.0.251", "ff02::fb"})
	if a := testing.AllocsPerRun(100, func() { f.Allow(ssdp); f.Allow(mdns6) }); a != 0 {
		t.Fatalf("Allow allocates %v times", a)
	}
}

// FuzzFloodAllow: Allow never panics; broadcast and unicast always pass;
// "all" passes everything and "none" passes no IP multicast that is not
// neighbour discovery.
func FuzzFloodAllow(f *testing.F) {
	for _, s := range []string{"224.0.0.251", "ff02::fb", "239.255.255.250"} {
		f.Add(udpTo(s))
	}
	f.Add(rawTo([6]byte{0x01, 0x80, 0xc2, 0, 0, 0x0e}))
	f.Add(nsFrame(icmpv6NeighborSolicit, "fd00::1", "fd00::2"))
	f.Add(tagged(udpTo("224.0.0.251")))
	some, _ := ParseFloodAllow([]string{"224.0.0.0/24", "ff02::fb", "01:80:c2:00:00:0e"})
	none, _ := ParseFloodAllow([]string{"none"})
	all, _ := ParseFloodAllow([]string{"all"})
	f.Fuzz(func(t *testing.T, frame []byte) {
		some.Allow(frame)
		dst := Dst(frame)
		if !all.Allow(frame) {
			t.Fatal("all refused a frame")
		}
		if (!IsMulticast(dst) || IsBroadcast(dst)) && (!none.Allow(frame) || !some.Allow(frame)) {
			t.Fatal("a broadcast or unicast frame was refused")
		}
		if none.Allow(frame) && IsMulticast(dst) && !IsBroadcast(dst) {
			if _, p, ok := l3(frame); !ok || !isNeighborDiscovery(p) {
				t.Fatal("none passed a multicast frame")
			}
		}
	})
}
