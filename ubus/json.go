package ubus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
)

// ParseJSON converts a JSON object into a Table the way the ubus CLI does
// (blobmsg_add_json_from_string): objects become tables, arrays arrays,
// strings strings, true/false bool (encoded INT8), integers int32 when they
// fit and int64 otherwise, numbers with a fraction or exponent float64
// (DOUBLE), null nil (UNSPEC). Key order is kept.
func ParseJSON(data []byte) (Table, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("ubus: json: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("ubus: json: top level must be an object, got %v", tok)
	}
	t, err := jsonTable(dec, 0)
	if err != nil {
		return nil, fmt.Errorf("ubus: json: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("ubus: json: trailing data after the object")
	}
	return t, nil
}

func jsonTable(dec *json.Decoder, depth int) (Table, error) {
	t := Table{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		v, err := jsonValue(dec, depth)
		if err != nil {
			return nil, err
		}
		t = append(t, Field{Name: key, Value: v})
	}
	_, err := dec.Token() // '}'
	return t, err
}

func jsonValue(dec *json.Decoder, depth int) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch x := tok.(type) {
	case json.Delim:
		if depth >= MaxDepth {
			return nil, ErrTooDeep
		}
		if x == '{' {
			return jsonTable(dec, depth+1)
		}
		arr := Array{}
		for dec.More() {
			v, err := jsonValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err := dec.Token() // ']'
		return arr, err
	case json.Number:
		return jsonNumber(x)
	}
	return tok, nil // string, bool or nil
}

// jsonNumber applies the int32 / int64 / double rule of blobmsg_json.
func jsonNumber(n json.Number) (any, error) {
	_, b, err := appendNumber(nil, n)
	if err != nil {
		return nil, err
	}
	switch len(b) {
	case 4:
		i, _ := strconv.ParseInt(string(n), 10, 32)
		return int32(i), nil
	default:
		if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
			return i, nil
		}
		return n.Float64()
	}
}

// JSON formats the table as a JSON object in wire order, following
// blobmsg_format_json: INT8 as true/false, other integers as integers,
// UNSPEC as null. Doubles are printed with the shortest exact form and
// always with a '.' or exponent (C prints "%lf", losing digits); NaN and
// infinities, which JSON cannot hold, become null. Raw attributes are left
// out.
func (t Table) JSON() []byte {
	return appendJSONTable(nil, t)
}

func appendJSONTable(dst []byte, t Table) []byte {
	dst = append(dst, '{')
	first := true
	for _, f := range t {
		if _, raw := f.Value.(Raw); raw {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendJSONValue(dst, f.Name)
		dst = append(dst, ':')
		dst = appendJSONValue(dst, f.Value)
	}
	return append(dst, '}')
}

func appendJSONValue(dst []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case bool:
		return strconv.AppendBool(dst, x)
	case int8:
		return strconv.AppendBool(dst, x != 0)
	case string:
		b, _ := json.Marshal(x) // json.Marshal of a string cannot fail
		return append(dst, b...)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(dst, "null"...)
		}
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if !bytes.ContainsAny([]byte(s), ".eE") {
			s += ".0"
		}
		return append(dst, s...)
	case Table:
		return appendJSONTable(dst, x)
	case Array:
		dst = append(dst, '[')
		first := true
		for _, e := range x {
			if _, raw := e.(Raw); raw {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendJSONValue(dst, e)
		}
		return append(dst, ']')
	}
	if n, ok := AsInt(v); ok {
		return strconv.AppendInt(dst, n, 10)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return append(dst, "null"...)
	}
	return append(dst, b...)
}
