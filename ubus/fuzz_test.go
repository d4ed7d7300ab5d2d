package ubus

import (
	"bytes"
	"testing"
)

// Seeds live in testdata/fuzz/Fuzz*/ (every captured message, and every
// DATA and SIGNATURE payload of them); f.Add adds a few edge cases.

// FuzzBlobmsg: decoding never panics, and decode -> encode -> decode is
// stable (the second encoding equals the first).
func FuzzBlobmsg(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x83, 0, 0, 0x0a, 0, 1, 'k', 0, 'v', 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		tbl, err := DecodeTable(b)
		if err != nil {
			return
		}
		enc, err := EncodeTable(tbl)
		if err != nil {
			t.Fatalf("encode of decoded table: %v", err)
		}
		tbl2, err := DecodeTable(enc)
		if err != nil {
			t.Fatalf("decode of re-encoded table: %v\n%x", err, enc)
		}
		enc2, err := EncodeTable(tbl2)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("unstable round trip: %v\n%x\n%x", err, enc, enc2)
		}
		_ = tbl2.JSON()
		_ = tbl2.Map()
	})
}

// FuzzMessage: parsing a message (header and attributes) never panics,
// re-encoding a parsed message gives the same bytes, and the typed
// accessors cope with whatever the attributes hold.
func FuzzMessage(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0x16, 0x57, 0x75, 0x19, 0, 0, 0, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ReadMessage(bytes.NewReader(b))
		if err != nil {
			return
		}
		out, err := m.Marshal()
		if err != nil {
			t.Fatalf("marshal of parsed message: %v", err)
		}
		n, _ := messageLen(b)
		if !bytes.Equal(out, b[:n]) {
			// Padding bytes are not checked on input but written as zeros.
			m2, err := ParseMessage(out)
			if err != nil || len(m2.Attrs) != len(m.Attrs) {
				t.Fatalf("re-encoded message differs structurally: %v", err)
			}
		}
		m.Status()
		m.String(AttrMethod)
		m.U8(AttrNoReply)
		if _, _, err := m.Data(); err == nil {
			_, _ = parseObjectInfo(m)
		}
	})
}
