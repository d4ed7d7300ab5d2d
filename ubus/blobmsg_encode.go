package ubus

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Encoding rules from Go values to blobmsg:
//
//	nil                          UNSPEC
//	bool                         INT8 (0 or 1), the blobmsg bool
//	int8, int16, int32, int64    INT8, INT16, INT32, INT64: a sized type is kept
//	int, uint, uint8 ... uint64, INT32 when the value fits in int32, else INT64:
//	json.Number (integer)        the rule of blobmsg_json and the ubus CLI
//	float32, float64,            DOUBLE
//	json.Number (fraction)
//	string                       STRING
//	Table, map[string]any        TABLE (map keys in sorted order)
//	Array, []any, []string,      ARRAY
//	[]map[string]any
//	Raw                          the plain attribute, unchanged
//
// A sized int64 stays INT64 even when small so that a counter keeps its
// type as it grows; use int for "whatever fits", as JSON does.

// EncodeTable encodes the contents of a table (no table header of its own),
// which is what the ubus DATA attribute holds.
func EncodeTable(t Table) ([]byte, error) {
	return appendTable(nil, t, 0)
}

// EncodeMap encodes a map as table contents, keys in sorted order.
func EncodeMap(m map[string]any) ([]byte, error) {
	return appendMap(nil, m, 0)
}

// EncodeArray encodes the contents of an array.
func EncodeArray(a Array) ([]byte, error) {
	return appendArray(nil, a, 0)
}

func appendTable(dst []byte, t Table, depth int) ([]byte, error) {
	var err error
	for _, f := range t {
		if dst, err = appendField(dst, f.Name, f.Value, depth); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

func appendMap(dst []byte, m map[string]any, depth int) ([]byte, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var err error
	for _, k := range keys {
		if dst, err = appendField(dst, k, m[k], depth); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

func appendArray(dst []byte, a []any, depth int) ([]byte, error) {
	var err error
	for _, v := range a {
		if dst, err = appendField(dst, "", v, depth); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// appendField appends one blobmsg attribute: header, name header, value.
func appendField(dst []byte, name string, v any, depth int) ([]byte, error) {
	if r, ok := v.(Raw); ok {
		return AppendAttr(dst, Attr{ID: r.ID, Data: r.Data})
	}
	if len(name) > math.MaxUint16 {
		return dst, fmt.Errorf("%w: blobmsg name of %d bytes", ErrTooLarge, len(name))
	}
	start, dst := beginAttr(dst)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(name)))
	dst = append(dst, name...)
	dst = append(dst, 0)
	for (len(dst)-start-blobHdrLen)%4 != 0 {
		dst = append(dst, 0)
	}
	t, dst, err := appendValue(dst, v, depth)
	if err != nil {
		if name != "" {
			err = fmt.Errorf("field %q: %w", name, err)
		}
		return dst, err
	}
	if len(dst) > MaxMessageLen {
		return dst, fmt.Errorf("%w: blobmsg data exceeds %d bytes", ErrTooLarge, MaxMessageLen)
	}
	return endAttr(dst, start, uint8(t), true)
}

// appendValue appends the value bytes of v and returns its blobmsg type.
func appendValue(dst []byte, v any, depth int) (BlobType, []byte, error) {
	switch x := v.(type) {
	case nil:
		return TypeUnspec, dst, nil
	case bool:
		if x {
			return TypeInt8, append(dst, 1), nil
		}
		return TypeInt8, append(dst, 0), nil
	case int8:
		return TypeInt8, append(dst, byte(x)), nil
	case int16:
		return TypeInt16, binary.BigEndian.AppendUint16(dst, uint16(x)), nil
	case int32:
		return TypeInt32, binary.BigEndian.AppendUint32(dst, uint32(x)), nil
	case int64:
		return TypeInt64, binary.BigEndian.AppendUint64(dst, uint64(x)), nil
	case int:
		return appendInt(dst, int64(x))
	case uint:
		return appendUint(dst, uint64(x))
	case uint8:
		return appendInt(dst, int64(x))
	case uint16:
		return appendInt(dst, int64(x))
	case uint32:
		return appendInt(dst, int64(x))
	case uint64:
		return appendUint(dst, x)
	case float32:
		return appendDouble(dst, float64(x))
	case float64:
		return appendDouble(dst, x)
	case json.Number:
		return appendNumber(dst, x)
	case string:
		return TypeString, append(append(dst, x...), 0), nil
	}
	if depth >= MaxDepth {
		return 0, dst, ErrTooDeep
	}
	var err error
	switch x := v.(type) {
	case Table:
		dst, err = appendTable(dst, x, depth+1)
		return TypeTable, dst, err
	case map[string]any:
		dst, err = appendMap(dst, x, depth+1)
		return TypeTable, dst, err
	case Array:
		dst, err = appendArray(dst, x, depth+1)
		return TypeArray, dst, err
	case []any:
		dst, err = appendArray(dst, x, depth+1)
		return TypeArray, dst, err
	case []string:
		for _, s := range x {
			if dst, err = appendField(dst, "", s, depth+1); err != nil {
				break
			}
		}
		return TypeArray, dst, err
	case []map[string]any:
		for _, m := range x {
			if dst, err = appendField(dst, "", m, depth+1); err != nil {
				break
			}
		}
		return TypeArray, dst, err
	}
	return 0, dst, fmt.Errorf("%w: %T", ErrUnsupportedType, v)
}

func appendInt(dst []byte, n int64) (BlobType, []byte, error) {
	if n >= math.MinInt32 && n <= math.MaxInt32 {
		return TypeInt32, binary.BigEndian.AppendUint32(dst, uint32(int32(n))), nil
	}
	return TypeInt64, binary.BigEndian.AppendUint64(dst, uint64(n)), nil
}

func appendUint(dst []byte, n uint64) (BlobType, []byte, error) {
	if n > math.MaxInt64 {
		return 0, dst, fmt.Errorf("%w: %d does not fit in int64", ErrUnsupportedType, n)
	}
	return appendInt(dst, int64(n))
}

func appendDouble(dst []byte, f float64) (BlobType, []byte, error) {
	return TypeDouble, binary.BigEndian.AppendUint64(dst, math.Float64bits(f)), nil
}

// appendNumber applies the blobmsg_json rule to a JSON number literal: an
// integer literal becomes INT32 or INT64, anything with a fraction or an
// exponent becomes DOUBLE.
func appendNumber(dst []byte, n json.Number) (BlobType, []byte, error) {
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return appendInt(dst, i)
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, dst, fmt.Errorf("%w: number %q", ErrUnsupportedType, s)
	}
	return appendDouble(dst, f)
}
