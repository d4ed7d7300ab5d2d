package cbor

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUnmarshalErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		into any
		in   string
		want error
		frag string
	}{
		{"empty", &inner{}, "", ErrSyntax, "end of input"},
		{"truncated head", &required{}, "a8 01 19 01", ErrSyntax, "end of input"},
		{"truncated string", &inner{}, "a1 01 63 61 62", ErrSyntax, "text string of 3 bytes"},
		{"huge string length", &inner{}, "a1 01 7b ffffffffffffffff", ErrSyntax, "end of input"},
		{"huge array length", &inner{}, "a2 01 61 61 02 9a ffffffff", ErrLimit, "array of 4294967295"},
		{"array longer than input", &inner{}, "a2 01 61 61 02 98 20", ErrSyntax, "array of 32"},
		{"trailing", &inner{}, "a1 01 60 00", ErrSyntax, "1 bytes after"},
		{"reserved ai", &inner{}, "a1 01 7c", ErrSyntax, "reserved"},
		{"break", &inner{}, "ff", ErrSyntax, "break"},
		{"indefinite map", &inner{}, "bf 01 60 ff", ErrIndefinite, "map"},
		{"indefinite string", &inner{}, "a1 01 7f 61 61 ff", ErrIndefinite, "text string"},
		{"indefinite bytes", &allKinds{}, "a1 0b 5f ff", ErrIndefinite, "byte string"},
		{"reserved int", &inner{}, "1f", ErrSyntax, "reserved"},
		{"tag", &inner{}, "c0 a1 01 60", ErrTag, ""},
		{"tagged field", &inner{}, "a1 01 d8 20 60", ErrTag, ""},
		{"float", &allKinds{}, "a1 01 f9 3c00", ErrType, "float"},
		{"two-byte simple", &allKinds{}, "a1 09 f8 15", ErrSyntax, "simple value 21"},
		{"undefined for bool", &allKinds{}, "a1 09 f7", ErrType, "simple value 23"},
		{"null for string", &inner{}, "a1 01 f6", ErrType, "null where string"},
		{"null for array", &required{}, "a8 01 00 02 00 03 60 04 f6 05 f6 06 f4 07 f6 08 f6", ErrType, "null where [2]uint8"},
		{"long int form", &allKinds{}, "a1 01 18 05", ErrNotCanonical, "shortest"},
		{"long key form", &allKinds{}, "a1 18 01 05", ErrNotCanonical, "shortest"},
		{"long map length", &inner{}, "b8 01 01 60", ErrNotCanonical, "map argument 1"},
		{"long string length", &inner{}, "a1 01 78 01 61", ErrNotCanonical, "text string argument 1"},
		{"8-byte small", &allKinds{}, "a1 04 1b 00000000ffffffff", ErrNotCanonical, "shortest"},
		{"keys out of order", &allKinds{}, "a2 02 01 01 01", ErrNotCanonical, "key 1 after key 2"},
		{"duplicate key", &allKinds{}, "a2 01 01 01 02", ErrDuplicateKey, "1"},
		{"unknown key", &inner{}, "a2 01 60 03 00", ErrUnknownKey, "3"},
		{"text key", &inner{}, "a1 61 41 60", ErrType, "text string where an unsigned"},
		{"negative key", &inner{}, "a1 20 60", ErrType, "negative integer where an unsigned"},
		{"missing key", &inner{}, "a0", ErrMissingKey, "1 (A)"},
		{"missing key after", &inner{}, "a1 02 81 60", ErrMissingKey, "1 (A)"},
		{"missing array field", &allKinds{}, "a0", ErrMissingKey, "12 (Arr)"},
		{"empty omitempty string", &allKinds{}, "a2 0a 60 0c 44 00000000", ErrNotCanonical, "field 10 (Str)"},
		{"zero omitempty int", &allKinds{}, "a2 01 00 0c 44 00000000", ErrNotCanonical, "field 1 (U8)"},
		{"false omitempty bool", &allKinds{}, "a2 09 f4 0c 44 00000000", ErrNotCanonical, "field 9 (Bool)"},
		{"null omitempty slice", &inner{}, "a2 01 60 02 f6", ErrNotCanonical, "field 2 (B)"},
		{"empty omitempty slice", &inner{}, "a2 01 60 02 80", ErrNotCanonical, "field 2 (B)"},
		{"overflow uint8", &allKinds{}, "a2 01 19 0100 0c 44 00000000", ErrType, "256 overflows uint8"},
		{"overflow int8", &allKinds{}, "a2 05 38 80 0c 44 00000000", ErrType, "-129 overflows int8"},
		{"overflow int64", &allKinds{}, "a2 08 1b 8000000000000000 0c 44 00000000", ErrType, "overflows int64"},
		{"negative overflow int64", &allKinds{}, "a2 08 3b 8000000000000000 0c 44 00000000", ErrType, "overflows int64"},
		{"negative into uint", &allKinds{}, "a2 01 20 0c 44 00000000", ErrType, "negative integer where uint8"},
		{"bytes into string", &inner{}, "a1 01 41 61", ErrType, "byte string where string"},
		{"string into bytes", &allKinds{}, "a1 0b 61 61", ErrType, "text string where []uint8"},
		{"short byte array", &allKinds{}, "a1 0c 43 000000", ErrType, "3 bytes where [4]uint8"},
		{"long byte array", &allKinds{}, "a1 0c 45 0000000000", ErrType, "5 bytes where [4]uint8"},
		{"array into struct", &inner{}, "81 60", ErrType, "array where cbor.inner"},
		{"map into tuple", &tuple{}, "a0", ErrType, "map where cbor.tuple"},
		{"short tuple", &tuple{}, "83 60 f6 00", ErrType, "3 elements"},
		{"invalid UTF-8", &inner{}, "a1 01 61 ff", ErrUTF8, "field 1 (A)"},
		{"overlong UTF-8", &inner{}, "a1 01 62 c0 80", ErrUTF8, ""},
		{"element error", &inner{}, "a2 01 60 02 82 61 61 01", ErrType, "element 1"},
		{"not a pointer", inner{}, "a1 01 60", ErrUnsupported, "non-nil pointer"},
		{"nil pointer", (*inner)(nil), "a1 01 60", ErrUnsupported, "non-nil pointer"},
		{"unsupported type", new(float64), "00", ErrUnsupported, "float64"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Unmarshal(mustHex(t, tt.in), tt.into)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.frag) || !strings.HasPrefix(err.Error(), "cbor: ") {
				t.Fatalf("err = %q, want it to start with \"cbor: \" and contain %q", err, tt.frag)
			}
		})
	}
}

func TestUnmarshalLimits(t *testing.T) {
	type deep struct {
		L [][][]string `cbor:"1,keyasint"`
	}
	in := mustHex(t, "a1 01 81 81 81 61 61") // map, array, array, array: depth 4
	var d deep
	if err := (DecOptions{MaxDepth: 4}).Unmarshal(in, &d); err != nil || d.L[0][0][0] != "a" {
		t.Fatalf("depth 4 within a limit of 4: %v %v", d, err)
	}
	if err := (DecOptions{MaxDepth: 3}).Unmarshal(in, &d); !errors.Is(err, ErrLimit) {
		t.Fatalf("depth 4 over a limit of 3: %v", err)
	}
	arr := mustHex(t, "a2 01 60 02 83 60 60 60")
	var in3 inner
	if err := (DecOptions{MaxArrayLen: 3}).Unmarshal(arr, &in3); err != nil {
		t.Fatalf("3 elements within 3: %v", err)
	}
	if err := (DecOptions{MaxArrayLen: 2}).Unmarshal(arr, &in3); !errors.Is(err, ErrLimit) {
		t.Fatalf("3 elements over 2: %v", err)
	}
	if err := (DecOptions{MaxMapPairs: 1}).Unmarshal(arr, &in3); !errors.Is(err, ErrLimit) {
		t.Fatalf("2 pairs over 1: %v", err)
	}
	str := mustHex(t, "a1 01 64 61626364")
	if err := (DecOptions{MaxStringLen: 4}).Unmarshal(str, &in3); err != nil {
		t.Fatalf("4 bytes within 4: %v", err)
	}
	if err := (DecOptions{MaxStringLen: 3}).Unmarshal(str, &in3); !errors.Is(err, ErrLimit) {
		t.Fatalf("4 bytes over 3: %v", err)
	}
}

func TestUnmarshalUnknownKeys(t *testing.T) {
	opts := DecOptions{AllowUnknownKeys: true}
	var v inner
	// Keys 0, 3 and 24 are unknown and skipped; their values are checked.
	in := mustHex(t, "a4 00 a1 61 6b 82 f6 f7 01 61 61 03 5f ff 18 18 00")
	if err := opts.Unmarshal(in, &v); !errors.Is(err, ErrIndefinite) {
		t.Fatalf("indefinite unknown value: %v", err)
	}
	in = mustHex(t, "a4 00 a1 61 6b 82 f6 f7 01 61 61 03 42 0102 18 18 c1 00")
	if err := opts.Unmarshal(in, &v); !errors.Is(err, ErrTag) {
		t.Fatalf("tagged unknown value: %v", err)
	}
	in = mustHex(t, "a4 00 a1 61 6b 82 f6 f7 01 61 61 03 42 0102 18 18 00")
	if err := opts.Unmarshal(in, &v); err != nil || v.A != "a" {
		t.Fatalf("unknown keys: %+v, %v", v, err)
	}
	if err := (DecOptions{MaxDepth: 4, AllowUnknownKeys: true}).Unmarshal(mustHex(t, "a2 01 61 61 03 81 81 81 81 00"), &v); !errors.Is(err, ErrLimit) {
		t.Fatalf("deep unknown value: %v", err)
	}
	if err := Unmarshal(in, &v); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("without AllowUnknownKeys: %v", err)
	}
}

func TestUnmarshalKeepsValueOnError(t *testing.T) {
	v := inner{A: "keep"}
	if err := Unmarshal(mustHex(t, "a2 01 61 61 02 81 01"), &v); err == nil {
		t.Fatal("bad input accepted")
	}
	if v.A != "keep" {
		t.Fatalf("value changed on error: %+v", v)
	}
	// A successful decode replaces the whole value.
	v.B = []string{"old"}
	if err := Unmarshal(mustHex(t, "a1 01 61 61"), &v); err != nil || v.A != "a" || v.B != nil {
		t.Fatalf("%+v, %v", v, err)
	}
}

func TestUnmarshalCopiesBytes(t *testing.T) {
	in := mustHex(t, "a8 01 00 02 00 03 60 04 41 07 05 f6 06 f4 07 f6 08 42 0000")
	var v required
	if err := Unmarshal(in, &v); err != nil {
		t.Fatal(err)
	}
	in[8] = 0xee
	if v.B[0] != 7 {
		t.Fatal("decoded []byte shares the input")
	}
}

func TestNamedByteTypes(t *testing.T) {
	type octet uint8
	type named struct {
		A [2]octet `cbor:"1,keyasint"`
		S []octet  `cbor:"2,keyasint"`
	}
	v := named{A: [2]octet{1, 2}, S: []octet{3}}
	b, err := Marshal(v)
	if err != nil || hex.EncodeToString(b) != "a2014201020241"+"03" {
		t.Fatalf("Marshal = %x, %v", b, err)
	}
	var back named
	if err := Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, v) {
		t.Fatalf("Unmarshal = %+v, %v", back, err)
	}
}

// fuzzTargets are the types FuzzUnmarshal decodes into: together they
// take every kind the package handles.
var fuzzTargets = []func() any{
	func() any { return new(allKinds) },
	func() any { return new(required) },
	func() any { return new(tuple) },
	func() any { return new([]inner) },
}

// FuzzUnmarshal: no input panics, and whatever decodes (with the strict
// options) encodes back to exactly the input: one value, one encoding.
// With AllowUnknownKeys it must not panic either.
func FuzzUnmarshal(f *testing.F) {
	for _, tc := range goldenCases {
		b, err := Marshal(tc.v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	opts := DecOptions{MaxDepth: 4, MaxArrayLen: 64, MaxMapPairs: 32}
	loose := opts
	loose.AllowUnknownKeys = true
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, mk := range fuzzTargets {
			v := mk()
			if err := opts.Unmarshal(b, v); err != nil {
				if err := loose.Unmarshal(b, mk()); errors.Is(err, ErrUnknownKey) {
					t.Fatalf("AllowUnknownKeys still reports %v", err)
				}
				continue
			}
			again, err := Marshal(v)
			if err != nil {
				t.Fatalf("%T decoded from %x does not encode: %v", v, b, err)
			}
			if !bytes.Equal(again, b) {
				t.Fatalf("%T: %x decodes but encodes to %x", v, b, again)
			}
			if err := loose.Unmarshal(b, mk()); err != nil {
				t.Fatalf("%T: %x decodes strictly but not with AllowUnknownKeys: %v", v, b, err)
			}
		}
	})
}
