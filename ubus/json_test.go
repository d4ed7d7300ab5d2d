package ubus

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"
)

// TestJSONRoundTrip: JSON -> blobmsg -> JSON gives the same text for every
// type, and the blobmsg types follow the ubus CLI's rules.
func TestJSONRoundTrip(t *testing.T) {
	tests := []struct {
		json string
		typ  BlobType // of the first field
	}{
		{`{"s":"hello"}`, TypeString},
		{`{"s":""}`, TypeString},
		{`{"s":"ü€😀\n\"q\""}`, TypeString},
		{`{"i":5}`, TypeInt32},
		{`{"i":-2147483648}`, TypeInt32},
		{`{"i":2147483648}`, TypeInt64},
		{`{"i":-9223372036854775808}`, TypeInt64},
		{`{"b":true}`, TypeInt8},
		{`{"b":false}`, TypeInt8},
		{`{"d":2.5}`, TypeDouble},
		{`{"d":-0.125}`, TypeDouble},
		{`{"d":1.0}`, TypeDouble},
		{`{"d":1e+300}`, TypeDouble},
		{`{"n":null}`, TypeUnspec},
		{`{"a":[1,"two",false,-0.125,{"k":"v"},[],2147483648]}`, TypeArray},
		{`{"t":{"x":1,"inner":{"y":"z"}},"e":{}}`, TypeTable},
	}
	for _, tc := range tests {
		t.Run(tc.json, func(t *testing.T) {
			tbl, err := ParseJSON([]byte(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			enc, err := EncodeTable(tbl)
			if err != nil {
				t.Fatal(err)
			}
			if got := BlobType(enc[0] & 0x7f); got != tc.typ {
				t.Errorf("type %s, want %s", got, tc.typ)
			}
			dec, err := DecodeTable(enc)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(dec.JSON()); got != tc.json {
				t.Errorf("JSON\n got %s\nwant %s", got, tc.json)
			}
			// The map form marshals to equivalent JSON as well.
			m, err := json.Marshal(dec.Map())
			if err != nil {
				t.Fatal(err)
			}
			var a, b any
			_ = json.Unmarshal(m, &a)
			_ = json.Unmarshal([]byte(tc.json), &b)
			if !reflect.DeepEqual(a, b) {
				t.Errorf("Map JSON %s != %s", m, tc.json)
			}
		})
	}
}

func TestParseJSONErrors(t *testing.T) {
	for _, in := range []string{``, `[]`, `"x"`, `{"a":}`, `{"a":1} {}`, `{"a":1`} {
		if _, err := ParseJSON([]byte(in)); err == nil {
			t.Errorf("%q parsed", in)
		}
	}
	deep := ""
	for range MaxDepth + 2 {
		deep += "["
	}
	if _, err := ParseJSON([]byte(`{"x":` + deep)); !errors.Is(err, ErrTooDeep) {
		t.Errorf("deep: %v", err)
	}
}

func TestJSONSpecialDoubles(t *testing.T) {
	tbl := Table{{"nan", math.NaN()}, {"inf", math.Inf(1)}, {"r", Raw{ID: 1}}, {"a", Array{Raw{ID: 1}, int8(2)}}}
	if got := string(tbl.JSON()); got != `{"nan":null,"inf":null,"a":[true]}` {
		t.Errorf("got %s", got)
	}
}

func TestCoerceArg(t *testing.T) {
	tests := []struct {
		want BlobType
		in   any
		out  any
		ok   bool
	}{
		{TypeString, "x", "x", true},
		{TypeString, int32(1), nil, false},
		{TypeInt32, int64(7), int32(7), true},
		{TypeInt32, " 12 ", int32(12), true},
		{TypeInt32, int64(math.MaxInt32) + 1, nil, false},
		{TypeInt16, int32(70000), nil, false},
		{TypeInt16, int32(-7), int16(-7), true},
		{TypeInt64, "-9", int64(-9), true},
		{TypeInt64, 1.5, nil, false},
		{TypeBool, true, true, true},
		{TypeBool, int32(0), false, true},
		{TypeBool, "TRUE", true, true},
		{TypeBool, int32(2), nil, false},
		{TypeDouble, int32(2), 2.0, true},
		{TypeDouble, "2.5", 2.5, true},
		{TypeDouble, "x", nil, false},
		{TypeArray, []any{}, []any{}, true},
		{TypeArray, map[string]any{}, nil, false},
		{TypeTable, map[string]any{}, map[string]any{}, true},
		{TypeUnspec, "anything", "anything", true},
	}
	for _, tc := range tests {
		got, err := coerceArg(tc.want, tc.in)
		if (err == nil) != tc.ok || (tc.ok && !reflect.DeepEqual(got, tc.out)) {
			t.Errorf("coerce %v to %s: got %#v, %v", tc.in, tc.want, got, err)
		}
	}
}
