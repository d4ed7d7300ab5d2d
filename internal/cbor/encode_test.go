package cbor

import (
	"encoding/hex"
	"errors"
	"math"
	"testing"
)

// TestAppendHead checks integer heads against RFC 8949 Appendix A.
func TestAppendHead(t *testing.T) {
	for _, tt := range []struct {
		v    any
		want string
	}{
		{uint64(0), "00"},
		{uint64(23), "17"},
		{uint64(24), "1818"},
		{uint64(100), "1864"},
		{uint64(1000), "1903e8"},
		{uint64(1000000), "1a000f4240"},
		{uint64(1000000000000), "1b000000e8d4a51000"},
		{uint64(math.MaxUint64), "1bffffffffffffffff"},
		{int64(-1), "20"},
		{int64(-10), "29"},
		{int64(-100), "3863"},
		{int64(-1000), "3903e7"},
		{int64(math.MinInt64), "3b7fffffffffffffff"},
		{false, "f4"},
		{true, "f5"},
		{"", "60"},
		{"a", "6161"},
		{"IETF", "6449455446"},
		{"\u00fc", "62c3bc"},
		{[]byte{}, "40"},
		{[]byte{1, 2, 3, 4}, "4401020304"},
		{[]string{"a", "b"}, "8261616162"},
		{[]uint8(nil), "f6"},
		{[3]uint16{1, 2, 3}, "83010203"},
		{(*inner)(nil), "f6"},
	} {
		got, err := Marshal(tt.v)
		if err != nil {
			t.Errorf("Marshal(%#v): %v", tt.v, err)
			continue
		}
		if hex.EncodeToString(got) != tt.want {
			t.Errorf("Marshal(%#v) = %x, want %s", tt.v, got, tt.want)
		}
	}
}

type badTag struct {
	A int `cbor:"1"`
}

type badOption struct {
	A int `cbor:"1,keyasint,string"`
}

type dupKey struct {
	A int `cbor:"1,keyasint"`
	B int `cbor:"1,keyasint"`
}

type omitStruct struct {
	A inner `cbor:"1,keyasint,omitempty"`
}

type embedded struct {
	inner
	Inner2 inner `cbor:"1,keyasint"`
}

type withMap struct {
	M map[string]int `cbor:"1,keyasint"`
}

type selfRef struct {
	Next *selfRef `cbor:"1,keyasint"`
}

func TestMarshalErrors(t *testing.T) {
	loop := &selfRef{}
	loop.Next = loop
	for _, tt := range []struct {
		name string
		v    any
		want error
	}{
		{"nil", nil, ErrUnsupported},
		{"float", 1.5, ErrUnsupported},
		{"map", map[string]int{}, ErrUnsupported},
		{"map field", &withMap{M: map[string]int{}}, ErrUnsupported},
		{"no keyasint", &badTag{}, ErrUnsupported},
		{"unknown option", &badOption{}, ErrUnsupported},
		{"duplicate key", &dupKey{}, ErrUnsupported},
		{"omitempty struct", &omitStruct{}, ErrUnsupported},
		{"embedded", &embedded{}, ErrUnsupported},
		{"cycle", loop, ErrUnsupported},
		{"invalid UTF-8", "\xff", ErrUTF8},
		{"invalid UTF-8 in field", &inner{A: "a\xc0"}, ErrUTF8},
	} {
		if b, err := Marshal(tt.v); !errors.Is(err, tt.want) {
			t.Errorf("%s: Marshal = %x, %v; want %v", tt.name, b, err, tt.want)
		}
	}
}
