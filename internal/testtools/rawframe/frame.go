package main

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
)

const (
	ethHdrLen     = 14
	ipv6HdrLen    = 40
	raLen         = 16 // ICMPv6 RA without options
	etherTypeIPv6 = 0x86DD
	// etherTypeTest is IEEE 802 Local Experimental EtherType 1: never
	// used by real protocols, so no stack reacts to our broadcasts.
	etherTypeTest = 0x88B5
	protoICMPv6   = 58
	typeRA        = 134
	minFrame      = 60 // Ethernet minimum without FCS
	// maxFrame allows jumbo frames in -hex.
	maxFrame = 9216
	// maxMsg keeps a bcast frame inside a 1500-byte MTU.
	maxMsg = 1400
)

var (
	broadcastMAC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	allNodesMAC  = net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1}
	allNodesIP   = netip.MustParseAddr("ff02::1")
)

// parseHex decodes a frame written as hex digits, ignoring white space,
// ':' and '-' separators and an optional 0x prefix.
func parseHex(s string) ([]byte, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "0x")
	clean := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == ':' || r == '-' {
			return -1
		}
		return r
	}, s)
	b, err := hex.DecodeString(clean)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadHex, err)
	}
	if len(b) < ethHdrLen || len(b) > maxFrame {
		return nil, fmt.Errorf("%w: %d bytes, want %d..%d", errBadHex, len(b), ethHdrLen, maxFrame)
	}
	return b, nil
}

// ethHeader writes dst, src and the EtherType.
func ethHeader(dst, src net.HardwareAddr, etherType uint16) []byte {
	b := make([]byte, ethHdrLen, 128)
	copy(b[0:6], dst)
	copy(b[6:12], src)
	binary.BigEndian.PutUint16(b[12:14], etherType)
	return b
}

// buildBcast returns the test broadcast frame carrying msg.
func buildBcast(src net.HardwareAddr, msg string) ([]byte, error) {
	if len(src) != 6 {
		return nil, fmt.Errorf("source MAC %v is not 6 bytes", src)
	}
	if len(msg) > maxMsg {
		return nil, fmt.Errorf("message has %d bytes, at most %d fit", len(msg), maxMsg)
	}
	b := ethHeader(broadcastMAC, src, etherTypeTest)
	b = binary.BigEndian.AppendUint16(b, uint16(len(msg)))
	b = append(b, msg...)
	for len(b) < minFrame {
		b = append(b, 0)
	}
	return b, nil
}

// parseBcast returns the message and sender of a test broadcast frame.
func parseBcast(b []byte) (string, net.HardwareAddr, error) {
	if len(b) < ethHdrLen+2 {
		return "", nil, errShort
	}
	if binary.BigEndian.Uint16(b[12:14]) != etherTypeTest || string(b[0:6]) != string(broadcastMAC) {
		return "", nil, errNotKind
	}
	n := int(binary.BigEndian.Uint16(b[ethHdrLen:]))
	body := b[ethHdrLen+2:]
	if n > len(body) {
		return "", nil, fmt.Errorf("%w: message length %d, %d bytes present", errShort, n, len(body))
	}
	return string(body[:n]), net.HardwareAddr(append([]byte(nil), b[6:12]...)), nil
}

// linkLocalFromMAC is the modified EUI-64 link-local address (RFC 4291
// appendix A) of mac.
func linkLocalFromMAC(mac net.HardwareAddr) netip.Addr {
	var a [16]byte
	a[0], a[1] = 0xfe, 0x80
	a[8], a[9], a[10] = mac[0]^0x02, mac[1], mac[2]
	a[11], a[12] = 0xff, 0xfe
	a[13], a[14], a[15] = mac[3], mac[4], mac[5]
	return netip.AddrFrom16(a)
}

// RA constants: a default router for 30 minutes; a prefix valid for a day.
const (
	raHopLimit        = 64
	raRouterLifetime  = 1800
	prefixValid       = 86400
	prefixPreferred   = 14400
	prefixFlagsOnLink = 0x80
	prefixFlagsAuto   = 0x40
)

// buildRA returns a router advertisement frame from src/srcIP to all nodes,
// with a source link-layer address option and, if prefix is valid, a prefix
// information option.
func buildRA(src net.HardwareAddr, srcIP netip.Addr, prefix netip.Prefix) ([]byte, error) {
	if len(src) != 6 {
		return nil, fmt.Errorf("source MAC %v is not 6 bytes", src)
	}
	if !srcIP.Is6() || srcIP.Is4In6() || !srcIP.IsLinkLocalUnicast() {
		return nil, fmt.Errorf("RA source %v is not an IPv6 link-local address", srcIP)
	}
	srcIP = srcIP.WithZone("")
	if prefix.IsValid() && (!prefix.Addr().Is6() || prefix.Addr().Is4In6()) {
		return nil, fmt.Errorf("RA prefix %v is not IPv6", prefix)
	}
	icmp := make([]byte, raLen, raLen+8+32)
	icmp[0] = typeRA
	icmp[4] = raHopLimit
	binary.BigEndian.PutUint16(icmp[6:8], raRouterLifetime)
	// Source link-layer address option: type 1, length 1 (8 bytes).
	icmp = append(icmp, 1, 1)
	icmp = append(icmp, src...)
	if prefix.IsValid() {
		prefix = prefix.Masked()
		icmp = append(icmp, 3, 4, byte(prefix.Bits()), prefixFlagsOnLink|prefixFlagsAuto)
		icmp = binary.BigEndian.AppendUint32(icmp, prefixValid)
		icmp = binary.BigEndian.AppendUint32(icmp, prefixPreferred)
		icmp = append(icmp, 0, 0, 0, 0)
		a := prefix.Addr().As16()
		icmp = append(icmp, a[:]...)
	}
	binary.BigEndian.PutUint16(icmp[2:4], icmpv6Checksum(srcIP, allNodesIP, icmp))

	b := ethHeader(allNodesMAC, src, etherTypeIPv6)
	var ip [ipv6HdrLen]byte
	ip[0] = 6 << 4
	binary.BigEndian.PutUint16(ip[4:6], uint16(len(icmp)))
	ip[6] = protoICMPv6
	ip[7] = 255 // RFC 4861: receivers drop RAs with another hop limit
	s, d := srcIP.As16(), allNodesIP.As16()
	copy(ip[8:24], s[:])
	copy(ip[24:40], d[:])
	b = append(b, ip[:]...)
	return append(b, icmp...), nil
}

// icmpv6Checksum is the RFC 4443 checksum of msg (with its checksum field
// as given) over the IPv6 pseudo-header.
func icmpv6Checksum(src, dst netip.Addr, msg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for len(b) >= 2 {
			sum += uint32(binary.BigEndian.Uint16(b))
			b = b[2:]
		}
		if len(b) == 1 {
			sum += uint32(b[0]) << 8
		}
	}
	s, d := src.As16(), dst.As16()
	add(s[:])
	add(d[:])
	var pseudo [8]byte
	binary.BigEndian.PutUint32(pseudo[0:4], uint32(len(msg)))
	pseudo[7] = protoICMPv6
	add(pseudo[:])
	add(msg)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// parseRA returns the IPv6 source and Ethernet source of a router
// advertisement frame, checking the headers, lengths and checksum.
func parseRA(b []byte) (netip.Addr, net.HardwareAddr, error) {
	if len(b) < ethHdrLen+ipv6HdrLen+raLen {
		if len(b) >= ethHdrLen && binary.BigEndian.Uint16(b[12:14]) != etherTypeIPv6 {
			return netip.Addr{}, nil, errNotKind
		}
		return netip.Addr{}, nil, errShort
	}
	ip := b[ethHdrLen:]
	if binary.BigEndian.Uint16(b[12:14]) != etherTypeIPv6 || ip[0]>>4 != 6 || ip[6] != protoICMPv6 {
		return netip.Addr{}, nil, errNotKind
	}
	plen := int(binary.BigEndian.Uint16(ip[4:6]))
	if plen < raLen || plen > len(ip)-ipv6HdrLen {
		return netip.Addr{}, nil, fmt.Errorf("%w: IPv6 payload length %d, %d bytes present", errShort, plen, len(ip)-ipv6HdrLen)
	}
	icmp := ip[ipv6HdrLen : ipv6HdrLen+plen]
	if icmp[0] != typeRA || icmp[1] != 0 {
		return netip.Addr{}, nil, errNotKind
	}
	src := netip.AddrFrom16([16]byte(ip[8:24]))
	dst := netip.AddrFrom16([16]byte(ip[24:40]))
	if icmpv6Checksum(src, dst, icmp) != 0 {
		return netip.Addr{}, nil, errors.New("RA checksum mismatch")
	}
	return src, net.HardwareAddr(append([]byte(nil), b[6:12]...)), nil
}

// describe returns the listener's line for a frame of kind, or ok=false
// when the frame is not of that kind (or malformed).
func describe(kind string, b []byte) (line string, ok bool) {
	switch kind {
	case "ra":
		src, mac, err := parseRA(b)
		if err != nil {
			return "", false
		}
		return fmt.Sprintf("ra from %s mac %s", src, mac), true
	case "bcast":
		msg, mac, err := parseBcast(b)
		if err != nil {
			return "", false
		}
		return fmt.Sprintf("bcast %s from %s", printable(msg), mac), true
	}
	return "", false
}

// printable returns msg itself when it is one line of printable text and
// Go-quoted otherwise, so every frame stays one parseable line.
func printable(msg string) string {
	for _, r := range msg {
		if !unicode.IsPrint(r) || r == unicode.ReplacementChar {
			return strconv.Quote(msg)
		}
	}
	if msg == "" {
		return `""`
	}
	return msg
}
