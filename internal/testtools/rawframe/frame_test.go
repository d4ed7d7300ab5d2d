package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
)

var testMAC = net.HardwareAddr{0x02, 0x00, 0x5e, 0x10, 0x20, 0x30}

func TestBuildParseRA(t *testing.T) {
	src := linkLocalFromMAC(testMAC)
	if src != netip.MustParseAddr("fe80::5eff:fe10:2030") {
		t.Fatalf("EUI-64 link-local = %v", src)
	}
	for _, prefix := range []netip.Prefix{{}, netip.MustParsePrefix("fd00:5::/64")} {
		b, err := buildRA(testMAC, src, prefix)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b[0:6], allNodesMAC) || !bytes.Equal(b[6:12], testMAC) || binary.BigEndian.Uint16(b[12:]) != etherTypeIPv6 {
			t.Fatalf("Ethernet header % x", b[:14])
		}
		ip := b[ethHdrLen:]
		if ip[7] != 255 || netip.AddrFrom16([16]byte(ip[24:40])) != allNodesIP {
			t.Fatalf("IPv6 header % x", ip[:40])
		}
		wantLen := raLen + 8
		if prefix.IsValid() {
			wantLen += 32
		}
		if len(b) != ethHdrLen+ipv6HdrLen+wantLen || int(binary.BigEndian.Uint16(ip[4:])) != wantLen {
			t.Fatalf("length %d, payload length %d", len(b), binary.BigEndian.Uint16(ip[4:]))
		}
		gotSrc, gotMAC, err := parseRA(b)
		if err != nil || gotSrc != src || gotMAC.String() != testMAC.String() {
			t.Fatalf("parseRA = %v, %v, %v", gotSrc, gotMAC, err)
		}
		line, ok := describe("ra", b)
		if !ok || line != "ra from fe80::5eff:fe10:2030 mac 02:00:5e:10:20:30" {
			t.Fatalf("describe = %q, %v", line, ok)
		}
		if _, ok := describe("bcast", b); ok {
			t.Fatal("an RA described as bcast")
		}
		// Any flipped bit in the ICMPv6 message breaks the checksum.
		for i := ethHdrLen + ipv6HdrLen; i < len(b); i++ {
			c := bytes.Clone(b)
			c[i] ^= 0x10
			if _, _, err := parseRA(c); err == nil && c[ethHdrLen+ipv6HdrLen] == typeRA {
				t.Fatalf("corrupted byte %d accepted", i)
			}
		}
	}
}

// TestRAChecksumVector checks the checksum against a value computed by hand
// for a minimal message (RFC 1071 one's complement sum).
func TestRAChecksumVector(t *testing.T) {
	src := netip.MustParseAddr("fe80::1")
	msg := []byte{typeRA, 0, 0, 0, 64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0}
	// Sum of 16-bit words: fe80+0001 (src) + ff02+0001 (dst) + 0010
	// (length) + 003a (next header) + 8600 + 4000 + 0708.
	var sum uint32 = 0xfe80 + 0x0001 + 0xff02 + 0x0001 + 0x0010 + 0x003a + 0x8600 + 0x4000 + 0x0708
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	if got, want := icmpv6Checksum(src, allNodesIP, msg), ^uint16(sum); got != want {
		t.Fatalf("checksum %#04x, want %#04x", got, want)
	}
}

func TestBuildRARejects(t *testing.T) {
	ll := netip.MustParseAddr("fe80::1")
	if _, err := buildRA(testMAC[:5], ll, netip.Prefix{}); err == nil {
		t.Error("short MAC accepted")
	}
	if _, err := buildRA(testMAC, netip.MustParseAddr("fd00::1"), netip.Prefix{}); err == nil {
		t.Error("global source accepted")
	}
	if _, err := buildRA(testMAC, netip.MustParseAddr("10.0.0.1"), netip.Prefix{}); err == nil {
		t.Error("IPv4 source accepted")
	}
	if _, err := buildRA(testMAC, ll, netip.MustParsePrefix("10.0.0.0/8")); err == nil {
		t.Error("IPv4 prefix accepted")
	}
	if _, err := buildRA(testMAC, netip.MustParseAddr("fe80::1%eth0"), netip.Prefix{}); err != nil {
		t.Errorf("zoned link-local rejected: %v", err)
	}
}

func TestBuildParseBcast(t *testing.T) {
	for _, msg := range []string{"", "hello", "two words", strings.Repeat("y", maxMsg), "tab\there", "\x00end"} {
		b, err := buildBcast(testMAC, msg)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < minFrame || !bytes.Equal(b[0:6], broadcastMAC) || binary.BigEndian.Uint16(b[12:]) != etherTypeTest {
			t.Fatalf("frame % x", b)
		}
		got, mac, err := parseBcast(b)
		if err != nil || got != msg || mac.String() != testMAC.String() {
			t.Fatalf("parseBcast = %q, %v, %v; want %q", got, mac, err, msg)
		}
	}
	if _, err := buildBcast(testMAC, strings.Repeat("y", maxMsg+1)); err == nil {
		t.Error("oversized message accepted")
	}
	if _, err := buildBcast(nil, "x"); err == nil {
		t.Error("missing MAC accepted")
	}
	b, _ := buildBcast(testMAC, "hi there")
	if line, ok := describe("bcast", b); !ok || line != "bcast hi there from 02:00:5e:10:20:30" {
		t.Errorf("describe = %q, %v", line, ok)
	}
	b, _ = buildBcast(testMAC, "a\nb")
	if line, _ := describe("bcast", b); line != `bcast "a\nb" from 02:00:5e:10:20:30` {
		t.Errorf("describe quoted = %q", line)
	}
	b, _ = buildBcast(testMAC, "")
	if line, _ := describe("bcast", b); line != `bcast "" from 02:00:5e:10:20:30` {
		t.Errorf("describe empty = %q", line)
	}
	// A unicast frame with the test EtherType is not a broadcast.
	u := bytes.Clone(b)
	copy(u[0:6], testMAC)
	if _, _, err := parseBcast(u); !errors.Is(err, errNotKind) {
		t.Errorf("unicast: %v", err)
	}
	// A length field beyond the frame is rejected.
	binary.BigEndian.PutUint16(b[ethHdrLen:], 5000)
	if _, _, err := parseBcast(b); !errors.Is(err, errShort) {
		t.Errorf("long length: %v", err)
	}
}

func TestParseHex(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"ffffffffffff 020000000001 88b5 0000", 16, false},
		{"0xffffffffffff:02:00:00:00:00:01-88b5", 14, false},
		{"ff ff ff ff ff ff\n02 00 00 00 00 01\t88 b5 41", 15, false},
		{"ffff", 0, true},
		{"zz" + strings.Repeat("00", 20), 0, true},
		{strings.Repeat("0", 29), 0, true}, // odd digit count
		{strings.Repeat("00", maxFrame+1), 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		b, err := parseHex(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseHex(%.40q) err = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if err != nil && !errors.Is(err, errBadHex) {
			t.Errorf("parseHex(%.40q) error %v does not wrap errBadHex", tt.in, err)
		}
		if err == nil && len(b) != tt.want {
			t.Errorf("parseHex(%.40q) = %d bytes, want %d", tt.in, len(b), tt.want)
		}
	}
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
	}{
		{"hex", []string{"-i", "eth0", "-hex", "ffff"}, false},
		{"ra", []string{"-i", "eth0", "-kind", "ra"}, false},
		{"bcast", []string{"-i", "eth0", "-kind", "bcast", "-msg", "x"}, false},
		{"listen", []string{"-i", "eth0", "-listen", "-kind", "ra", "-timeout", "1s"}, false},
		{"no iface", []string{"-kind", "ra"}, true},
		{"nothing to send", []string{"-i", "eth0"}, true},
		{"both", []string{"-i", "eth0", "-hex", "ff", "-kind", "ra"}, true},
		{"bad kind", []string{"-i", "eth0", "-kind", "arp"}, true},
		{"listen no kind", []string{"-i", "eth0", "-listen"}, true},
		{"listen hex", []string{"-i", "eth0", "-listen", "-kind", "ra", "-hex", "ff"}, true},
		{"listen zero timeout", []string{"-i", "eth0", "-listen", "-kind", "ra", "-timeout", "0s"}, true},
		{"stray", []string{"-i", "eth0", "-kind", "ra", "x"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseArgs(tt.args, &bytes.Buffer{})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestFrameForBadPrefix(t *testing.T) {
	ifi := &net.Interface{Name: "x", HardwareAddr: testMAC}
	if _, err := frameFor(config{kind: "ra", prefix: "nonsense"}, ifi); err == nil {
		t.Error("bad prefix accepted")
	}
	if _, err := frameFor(config{kind: "ra"}, &net.Interface{Name: "x"}); err == nil {
		t.Error("interface without MAC accepted")
	}
	b, err := frameFor(config{kind: "ra"}, ifi)
	if err != nil {
		t.Fatal(err)
	}
	if src, _, err := parseRA(b); err != nil || src != linkLocalFromMAC(testMAC) {
		t.Fatalf("RA without prefix: %v, %v", src, err)
	}
}

func TestRunUsageAndMissingInterface(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"-kind", "ra"}, &out, &errb); code != 2 {
		t.Errorf("usage exit %d", code)
	}
	errb.Reset()
	if code := run(t.Context(), []string{"-i", "nosuchif0", "-kind", "bcast"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "nosuchif0") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}
