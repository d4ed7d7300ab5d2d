package main

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
)

// FuzzParseFrame feeds arbitrary frames to the listener's parsers: they must
// not panic, and what they accept must re-encode to the same content.
func FuzzParseFrame(f *testing.F) {
	ra, _ := buildRA(testMAC, linkLocalFromMAC(testMAC), netip.MustParsePrefix("fd00:5::/64"))
	bc, _ := buildBcast(testMAC, "hello")
	f.Add(ra)
	f.Add(bc)
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 20))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, kind := range []string{"ra", "bcast"} {
			line, ok := describe(kind, b)
			if ok && (strings.Contains(line, "\n") || !strings.HasPrefix(line, kind+" ")) {
				t.Fatalf("describe(%s) = %q", kind, line)
			}
		}
		if msg, mac, err := parseBcast(b); err == nil {
			again, err := buildBcast(mac, msg)
			if err == nil {
				if m2, _, err := parseBcast(again); err != nil || m2 != msg {
					t.Fatalf("bcast %q did not round-trip: %q, %v", msg, m2, err)
				}
			}
		}
		if src, _, err := parseRA(b); err == nil && !src.Is6() {
			t.Fatalf("RA source %v is not IPv6", src)
		}
	})
}

// FuzzParseHex checks the -hex parser never panics and accepts only frames
// of a sendable size.
func FuzzParseHex(f *testing.F) {
	f.Add("ffffffffffff 020000000001 88b5 0000")
	f.Add("0x00:11-22")
	f.Add("zz")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := parseHex(s)
		if err == nil && (len(b) < ethHdrLen || len(b) > maxFrame) {
			t.Fatalf("parseHex accepted %d bytes", len(b))
		}
	})
}
