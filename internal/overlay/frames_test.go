package overlay

import (
	"encoding/binary"
	"testing"
)

// Small frame builders for the guard and switch tests. They build just
// enough of each header for Inspect; checksums are left zero.

var (
	testSrcMAC = [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	testDstMAC = [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}
)

// eth builds an Ethernet frame. Each tag is a TPID; the TCI is VLAN 10.
func eth(etherType uint16, payload []byte, tags ...uint16) []byte {
	b := make([]byte, 0, HeaderLen+4*len(tags)+len(payload))
	b = append(b, testDstMAC[:]...)
	b = append(b, testSrcMAC[:]...)
	for _, tpid := range tags {
		b = binary.BigEndian.AppendUint16(b, tpid)
		b = binary.BigEndian.AppendUint16(b, 10)
	}
	b = binary.BigEndian.AppendUint16(b, etherType)
	return append(b, payload...)
}

// udp builds a UDP header and payload.
func udp(src, dst uint16, payload []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, src)
	b = binary.BigEndian.AppendUint16(b, dst)
	b = binary.BigEndian.AppendUint16(b, uint16(8+len(payload)))
	b = binary.BigEndian.AppendUint16(b, 0)
	return append(b, payload...)
}

// ipv4Opts describes the IPv4 header fields the tests vary.
type ipv4Opts struct {
	options  []byte // IP options, a multiple of 4 bytes
	fragOff  uint16 // in 8-byte units
	more     bool   // MF flag
	totalLen int    // overrides the total length when > 0
}

// ipv4 builds an IPv4 packet around payload.
func ipv4(proto byte, payload []byte, o ipv4Opts) []byte {
	hl := 20 + len(o.options)
	total := hl + len(payload)
	if o.totalLen > 0 {
		total = o.totalLen
	}
	b := make([]byte, 20, hl+len(payload))
	b[0] = 0x40 | byte(hl/4)
	binary.BigEndian.PutUint16(b[2:], uint16(total))
	ff := o.fragOff & 0x1fff
	if o.more {
		ff |= 0x2000
	}
	binary.BigEndian.PutUint16(b[6:], ff)
	b[8] = 64
	b[9] = proto
	copy(b[12:], []byte{192, 168, 1, 1})
	copy(b[16:], []byte{255, 255, 255, 255})
	b = append(b, o.options...)
	return append(b, payload...)
}

// ipv6 builds an IPv6 packet with next header nh around payload.
func ipv6(nh byte, payload []byte) []byte {
	b := make([]byte, 40, 40+len(payload))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(len(payload)))
	b[6] = nh
	b[7] = 255
	b[8], b[9] = 0xfe, 0x80 // fe80::1 -> ff02::1
	b[23] = 1
	b[24], b[25] = 0xff, 0x02
	b[39] = 1
	return append(b, payload...)
}

// extHdr builds a hop-by-hop, routing or destination options header of
// 8*(units+1) bytes followed by rest.
func extHdr(nh byte, units byte, rest []byte) []byte {
	b := make([]byte, 8*(int(units)+1))
	b[0] = nh
	b[1] = units
	if len(b) >= 4 {
		b[2] = 1 // PadN
		b[3] = byte(len(b) - 4)
	}
	return append(b, rest...)
}

// fragHdr builds an IPv6 fragment header (offset in 8-byte units).
func fragHdr(nh byte, offset uint16, more bool, rest []byte) []byte {
	b := make([]byte, 8)
	b[0] = nh
	v := offset << 3
	if more {
		v |= 1
	}
	binary.BigEndian.PutUint16(b[2:], v)
	binary.BigEndian.PutUint32(b[4:], 0xdeadbeef)
	return append(b, rest...)
}

// ahHdr builds an IPv6 authentication header with a 12-byte ICV.
func ahHdr(nh byte, rest []byte) []byte {
	b := make([]byte, 24) // (4+2)*4
	b[0] = nh
	b[1] = 4
	return append(b, rest...)
}

// icmpv6 builds an ICMPv6 message of the given type with a 12-byte body
// (the size of a router advertisement without options).
func icmpv6(typ byte) []byte {
	b := make([]byte, 16)
	b[0] = typ
	return b
}

// dhcpBody is a stand-in for a BOOTP/DHCP message body.
var dhcpBody = []byte{2, 1, 6, 0, 0xde, 0xad, 0xbe, 0xef}

func dhcpv4Offer() []byte {
	return eth(EtherTypeIPv4, ipv4(ipProtoUDP, udp(67, 68, dhcpBody), ipv4Opts{}))
}

func dhcpv6Advertise() []byte {
	return eth(EtherTypeIPv6, ipv6(ipProtoUDP, udp(547, 546, []byte{2, 0, 0, 1})))
}

func routerAdvert() []byte {
	return eth(EtherTypeIPv6, ipv6(ipProtoICMPv6, icmpv6(134)))
}

func routerAdvertBehindHopByHop() []byte {
	return eth(EtherTypeIPv6, ipv6(ipProtoHopByHop, extHdr(ipProtoICMPv6, 0, icmpv6(134))))
}

// skipIfRace skips allocation tests under -race, whose instrumentation
// allocates on its own.
func skipIfRace(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
}
