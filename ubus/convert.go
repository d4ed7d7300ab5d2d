package ubus

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Map converts the table into plain Go values the way blobmsg_format_json
// reads blobmsg: INT8 becomes bool, INT16/INT32/INT64 keep their sized Go
// integer type (int16, int32, int64), DOUBLE float64, UNSPEC nil, tables
// map[string]any and arrays []any. The first field of a name wins, as in
// blobmsg_parse; Raw attributes are skipped. Use AsInt to read an integer
// of any width.
func (t Table) Map() map[string]any {
	m := make(map[string]any, len(t))
	for _, f := range t {
		if _, raw := f.Value.(Raw); raw {
			continue
		}
		if _, dup := m[f.Name]; dup {
			continue
		}
		m[f.Name] = plain(f.Value)
	}
	return m
}

// Slice converts the array into plain Go values (see Table.Map).
func (a Array) Slice() []any {
	s := make([]any, 0, len(a))
	for _, v := range a {
		if _, raw := v.(Raw); raw {
			continue
		}
		s = append(s, plain(v))
	}
	return s
}

func plain(v any) any {
	switch x := v.(type) {
	case int8:
		return x != 0
	case Table:
		return x.Map()
	case Array:
		return x.Slice()
	}
	return v
}

// AsInt returns v as int64 if it is any Go integer type (a decoded INT16,
// INT32 or INT64, or an int from a JSON-built map) that fits in int64.
func AsInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case int:
		return int64(x), true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint:
		if uint64(x) <= math.MaxInt64 {
			return int64(x), true
		}
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	}
	return 0, false
}

// coerceArg converts an argument received in an INVOKE into the type its
// method signature declares, leniently: integers of any width, and numeric
// strings (LuCI sends form values as strings) where a number is expected;
// 0/1 and "true"/"false" where a bool is expected. The result has the Go
// type a handler can rely on: TypeInt8 -> bool, TypeInt16 -> int16,
// TypeInt32 -> int32, TypeInt64 -> int64, TypeDouble -> float64, TypeString
// -> string, TypeArray -> []any, TypeTable -> map[string]any.
func coerceArg(want BlobType, v any) (any, error) {
	switch want {
	case TypeUnspec:
		return v, nil
	case TypeString:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case TypeBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			switch strings.ToLower(x) {
			case "1", "true":
				return true, nil
			case "0", "false":
				return false, nil
			}
		default:
			if n, ok := AsInt(v); ok && (n == 0 || n == 1) {
				return n == 1, nil
			}
		}
	case TypeInt16, TypeInt32, TypeInt64:
		n, ok := AsInt(v)
		if s, isStr := v.(string); isStr {
			var err error
			n, err = strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			ok = err == nil
		}
		if ok {
			return sizedInt(want, n)
		}
	case TypeDouble:
		switch x := v.(type) {
		case float64:
			return x, nil
		case string:
			if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
				return f, nil
			}
		default:
			if n, ok := AsInt(v); ok {
				return float64(n), nil
			}
		}
	case TypeArray:
		if a, ok := v.([]any); ok {
			return a, nil
		}
	case TypeTable:
		if m, ok := v.(map[string]any); ok {
			return m, nil
		}
	}
	return nil, fmt.Errorf("want %s, got %s", want, describe(v))
}

func sizedInt(want BlobType, n int64) (any, error) {
	switch want {
	case TypeInt16:
		if n >= math.MinInt16 && n <= math.MaxInt16 {
			return int16(n), nil
		}
	case TypeInt32:
		if n >= math.MinInt32 && n <= math.MaxInt32 {
			return int32(n), nil
		}
	default:
		return n, nil
	}
	return nil, fmt.Errorf("%d out of range for %s", n, want)
}

// describe names the blobmsg type a plain Go value came from, for errors.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case string:
		return "string"
	case float64:
		return "double"
	case []any:
		return "array"
	case map[string]any:
		return "table"
	}
	if _, ok := AsInt(v); ok {
		return "integer"
	}
	return fmt.Sprintf("%T", v)
}
