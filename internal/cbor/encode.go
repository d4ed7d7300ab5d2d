package cbor

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"unicode/utf8"
)

// CBOR major types (RFC 8949 section 3.1).
const (
	majorUint   = 0
	majorNeg    = 1
	majorBytes  = 2
	majorText   = 3
	majorArray  = 4
	majorMap    = 5
	majorTag    = 6
	majorSimple = 7
)

// Simple values (RFC 8949 section 3.3) this package uses.
const (
	simpleFalse = 20
	simpleTrue  = 21
	simpleNull  = 22
	nullByte    = majorSimple<<5 | simpleNull
)

// maxEncodeDepth stops Marshal on a value that refers to itself through
// pointers instead of recursing until the stack runs out.
const maxEncodeDepth = 32

// Marshal returns the core deterministic CBOR encoding of v (see the
// package documentation for the Go types it takes).
func Marshal(v any) ([]byte, error) {
	b, err := appendValue(nil, reflect.ValueOf(v), 0)
	if err != nil {
		return nil, fmt.Errorf("cbor: encode %T: %w", v, err)
	}
	return b, nil
}

// appendHead appends an item head with argument n in its shortest form.
func appendHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= 0xff:
		return append(b, m|24, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, m|25), uint16(n))
	case n <= 0xffffffff:
		return binary.BigEndian.AppendUint32(append(b, m|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, m|27), n)
}

func appendValue(b []byte, v reflect.Value, depth int) ([]byte, error) {
	if depth > maxEncodeDepth {
		return nil, fmt.Errorf("%w: nested more than %d deep", ErrUnsupported, maxEncodeDepth)
	}
	switch v.Kind() {
	case reflect.Bool:
		if v.Bool() {
			return append(b, majorSimple<<5|simpleTrue), nil
		}
		return append(b, majorSimple<<5|simpleFalse), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return appendHead(b, majorUint, v.Uint()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n := v.Int(); n < 0 {
			return appendHead(b, majorNeg, uint64(^n)), nil // -1-n
		}
		return appendHead(b, majorUint, uint64(v.Int())), nil
	case reflect.String:
		s := v.String()
		if !utf8.ValidString(s) {
			return nil, ErrUTF8
		}
		return append(appendHead(b, majorText, uint64(len(s))), s...), nil
	case reflect.Pointer:
		if v.IsNil() {
			return append(b, nullByte), nil
		}
		return appendValue(b, v.Elem(), depth+1)
	case reflect.Slice:
		if v.IsNil() {
			return append(b, nullByte), nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return append(appendHead(b, majorBytes, uint64(v.Len())), v.Bytes()...), nil
		}
		return appendArray(b, v, depth)
	case reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			b = appendHead(b, majorBytes, uint64(v.Len()))
			for i := range v.Len() { // v need not be addressable, so no v.Bytes()
				b = append(b, byte(v.Index(i).Uint()))
			}
			return b, nil
		}
		return appendArray(b, v, depth)
	case reflect.Struct:
		return appendStruct(b, v, depth)
	case reflect.Invalid:
		return nil, fmt.Errorf("%w: nil", ErrUnsupported)
	}
	return nil, fmt.Errorf("%w: %s", ErrUnsupported, v.Type())
}

func appendArray(b []byte, v reflect.Value, depth int) ([]byte, error) {
	b = appendHead(b, majorArray, uint64(v.Len()))
	for i := range v.Len() {
		var err error
		if b, err = appendValue(b, v.Index(i), depth+1); err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
	}
	return b, nil
}

func appendStruct(b []byte, v reflect.Value, depth int) ([]byte, error) {
	si, err := structOf(v.Type())
	if err != nil {
		return nil, err
	}
	if si.toArray {
		b = appendHead(b, majorArray, uint64(len(si.fields)))
	} else {
		n := 0
		for _, f := range si.fields {
			if !f.omitEmpty || !isEmpty(v.Field(f.index)) {
				n++
			}
		}
		b = appendHead(b, majorMap, uint64(n))
	}
	for _, f := range si.fields {
		fv := v.Field(f.index)
		if !si.toArray {
			if f.omitEmpty && isEmpty(fv) {
				continue
			}
			// Fields are sorted by key, and shortest-form unsigned
			// integers sort by value exactly as by encoded bytes.
			b = appendHead(b, majorUint, f.key)
		}
		if b, err = appendValue(b, fv, depth+1); err != nil {
			return nil, fmt.Errorf("field %s: %w", f.name, err)
		}
	}
	return b, nil
}
