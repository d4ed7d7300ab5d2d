package ubus

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestBlobmsgEncodeExamples(t *testing.T) {
	tests := []struct {
		name string
		in   Table
		hex  string
	}{
		{"string (PROTOCOL.md example)", Table{{"name", "wire"}}, "83000011" + "00046e616d650000" + "776972650000" + "0000"},
		{"int32", Table{{"i", int32(-42)}}, "8500000c00016900ffffffd6"},
		{"bool", Table{{"b", true}}, "8700000900016200" + "01000000"},
		{"int8 false", Table{{"b", int8(0)}}, "8700000900016200" + "00000000"},
		{"int16", Table{{"h", int16(-2)}}, "8600000a00016800fffe0000"},
		{"int64", Table{{"l", int64(1) << 32}}, "8400001000016c000000000100000000"},
		{"double", Table{{"d", 2.5}}, "88000010000164004004000000000000"},
		{"null", Table{{"n", nil}}, "8000000800016e00"},
		{"empty table", Table{{"e", Table{}}}, "8200000800016500"},
		{"array", Table{{"a", Array{int32(1), "x"}}}, "8100002000016100" + "8500000c0000000000000001" + "8300000a0000000078000000"},
		{"empty name", Table{{"", "x"}}, "8300000a0000000078000000"},
		{"raw", Table{{"", Raw{ID: 3, Data: []byte{0, 0, 0, 3}}}}, "0300000800000003"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EncodeTable(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			want := strings.ReplaceAll(tc.hex, " ", "")
			if hex.EncodeToString(got) != want {
				t.Fatalf("encode\n got %x\nwant %s", got, want)
			}
			back, err := DecodeTable(got)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := EncodeTable(back)
			if !bytes.Equal(again, got) {
				t.Fatalf("round trip %x != %x", again, got)
			}
		})
	}
}

func TestEncodeIntRule(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want BlobType
	}{
		{5, TypeInt32}, {math.MaxInt32, TypeInt32}, {math.MinInt32, TypeInt32}, {math.MaxInt32 + 1, TypeInt64},
		{uint64(1) << 40, TypeInt64}, {uint8(200), TypeInt32}, {int64(5), TypeInt64}, {int16(5), TypeInt16},
		{float32(1.5), TypeDouble}, {true, TypeInt8}, {nil, TypeUnspec}, {[]string{"a"}, TypeArray},
		{[]map[string]any{{}}, TypeArray}, {map[string]any{}, TypeTable},
	} {
		b, err := EncodeTable(Table{{"x", tc.v}})
		if err != nil {
			t.Errorf("%T %v: %v", tc.v, tc.v, err)
			continue
		}
		if got := BlobType(b[0] & 0x7f); got != tc.want {
			t.Errorf("%T %v: type %s, want %s", tc.v, tc.v, got, tc.want)
		}
	}
	for _, bad := range []any{uint64(math.MaxUint64), struct{}{}, make(chan int), map[string]int{}} {
		if _, err := EncodeTable(Table{{"x", bad}}); !errors.Is(err, ErrUnsupportedType) {
			t.Errorf("%T: got %v, want ErrUnsupportedType", bad, err)
		}
	}
}

func TestDecodeGarbage(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		want error
	}{
		{"short header", "8300", ErrMalformed},
		{"length below 4", "83000002", ErrMalformed},
		{"overrun", "830000ff00000000", ErrMalformed},
		{"no name header", "8300000500000000", ErrMalformed},
		{"name overruns", "8300000800ff0000", ErrMalformed},
		{"name without NUL", "8300000800016161", ErrMalformed},
		{"string without NUL", "8300000900016100" + "61000000", ErrMalformed},
		{"empty string payload", "8300000800016100", ErrMalformed},
		{"int32 too short", "8500000a00016900" + "00000000", ErrMalformed},
		{"int8 too long", "8700000a00016900" + "00000000", ErrMalformed},
		{"int16 wrong", "8600000900016900" + "00000000", ErrMalformed},
		{"int64 wrong", "8400000c00016900" + "00000000", ErrMalformed},
		{"double short", "8800000c0001640000000000", ErrMalformed},
		{"unspec with payload", "8000000c0001640000000000", ErrMalformed},
		{"unknown type", "8900000800016400", ErrMalformed},
		{"bad nested", "8200000c000174008300", ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := hex.DecodeString(tc.hex)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := DecodeTable(b); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDepthLimit(t *testing.T) {
	var v any = "leaf"
	for range MaxDepth + 1 {
		v = Array{v}
	}
	if _, err := EncodeTable(Table{{"deep", v}}); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("encode: %v", err)
	}
	// Build the bytes by hand: nested empty-named arrays.
	inner := []byte{}
	for range MaxDepth + 1 {
		hdr := []byte{0x81, 0, 0, 0, 0, 0, 0, 0}
		n := len(hdr) + len(inner)
		hdr[1], hdr[2], hdr[3] = byte(n>>16), byte(n>>8), byte(n)
		inner = append(hdr, inner...)
	}
	if _, err := DecodeTable(inner); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("decode: %v", err)
	}
}

func TestFieldErrorPath(t *testing.T) {
	b, _ := EncodeTable(Table{{"outer", Table{{"inner", int32(1)}}}})
	b[len(b)-16] = 0x86 // corrupt the inner type: int16 with 4 bytes
	_, err := DecodeTable(b)
	if err == nil || !strings.Contains(err.Error(), `"outer"/"inner"`) {
		t.Fatalf("error %v does not name the field path", err)
	}
}

func TestMessageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		hex  string
	}{
		{"short", "00000000"},
		{"version", "010000000000000000000004"},
		{"blob id set", "000000000000000001000004"},
		{"unpadded", "000000000000000000000005"},
		{"too large", "000000000000000000100004"},
		{"length mismatch", "00000000000000000000000800"},
		{"bad attr", "0000000000000000000000080100000c"},
	} {
		b, _ := hex.DecodeString(tc.hex)
		if _, err := ParseMessage(b); err == nil {
			t.Errorf("%s: parsed", tc.name)
		}
	}
	big := &Message{Header: Header{Type: MsgInvoke}, Attrs: []Attr{{ID: AttrData, Data: make([]byte, MaxMessageLen)}}}
	if _, err := big.Marshal(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized marshal: %v", err)
	}
}

func TestStatusNames(t *testing.T) {
	if StatusPermissionDenied.String() != "PERMISSION_DENIED" || Status(99).String() != "STATUS_99" {
		t.Error("status names")
	}
	if MsgNotify.String() != "NOTIFY" || TypeDouble.String() != "double" {
		t.Error("type names")
	}
	if StatusOf(nil) != StatusOK || StatusOf(errors.New("x")) != StatusUnknownError {
		t.Error("StatusOf")
	}
}
