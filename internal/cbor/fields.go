package cbor

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// field is one encoded field of a struct.
type field struct {
	index     int    // in the struct
	name      string // Go name, for errors
	key       uint64 // map key; unused in array form
	omitEmpty bool
}

// structInfo says how a struct type is encoded.
type structInfo struct {
	toArray bool    // an array of fields in order, not a map
	fields  []field // map form: ascending key, which is the order of their shortest encodings
}

// structCache maps reflect.Type to *structInfo; types are few and fixed,
// so it only grows to the number of message types.
var structCache sync.Map

// structOf returns the encoding of struct type t, reading its tags once.
func structOf(t reflect.Type) (*structInfo, error) {
	if si, ok := structCache.Load(t); ok {
		return si.(*structInfo), nil
	}
	si, err := parseStruct(t)
	if err != nil {
		return nil, err
	}
	structCache.Store(t, si)
	return si, nil
}

func parseStruct(t reflect.Type) (*structInfo, error) {
	si := &structInfo{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Name == "_" && hasOption(f.Tag.Get("cbor"), "toarray") {
			si.toArray = true
		}
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("cbor")
		if f.Anonymous && tag != "-" {
			return nil, fmt.Errorf("%w: embedded field %s.%s", ErrUnsupported, t, f.Name)
		}
		if !f.IsExported() || tag == "-" {
			continue
		}
		fl := field{index: i, name: f.Name}
		name, opts, _ := strings.Cut(tag, ",")
		keyAsInt := false
		for o := range strings.SplitSeq(opts, ",") {
			switch o {
			case "", "toarray":
			case "keyasint":
				keyAsInt = true
			case "omitempty":
				fl.omitEmpty = true
			default:
				return nil, fmt.Errorf("%w: field %s.%s: tag option %q", ErrUnsupported, t, f.Name, o)
			}
		}
		switch f.Type.Kind() {
		case reflect.Struct:
			if fl.omitEmpty {
				return nil, fmt.Errorf("%w: field %s.%s: omitempty on a struct", ErrUnsupported, t, f.Name)
			}
		case reflect.Array:
			// A non-empty array is never left out, so the field is
			// always encoded, and the decoder must require it.
			fl.omitEmpty = fl.omitEmpty && f.Type.Len() == 0
		}
		if si.toArray {
			if fl.omitEmpty || keyAsInt {
				return nil, fmt.Errorf("%w: field %s.%s of an array struct has keyasint or omitempty", ErrUnsupported, t, f.Name)
			}
		} else {
			k, err := strconv.ParseUint(name, 10, 64)
			if !keyAsInt || err != nil {
				return nil, fmt.Errorf("%w: field %s.%s needs a tag `cbor:\"N,keyasint\"` with N an unsigned integer", ErrUnsupported, t, f.Name)
			}
			fl.key = k
		}
		si.fields = append(si.fields, fl)
	}
	if !si.toArray {
		// Insertion sort: a struct has a handful of fields, and
		// slices.SortFunc would add ~12 KB of generic code to the binary.
		for i := 1; i < len(si.fields); i++ {
			for j := i; j > 0 && si.fields[j].key < si.fields[j-1].key; j-- {
				si.fields[j], si.fields[j-1] = si.fields[j-1], si.fields[j]
			}
		}
		for i := 1; i < len(si.fields); i++ {
			if si.fields[i].key == si.fields[i-1].key {
				return nil, fmt.Errorf("%w: %s has two fields with key %d", ErrUnsupported, t, si.fields[i].key)
			}
		}
	}
	return si, nil
}

func hasOption(tag, opt string) bool {
	_, opts, _ := strings.Cut(tag, ",")
	for o := range strings.SplitSeq(opts, ",") {
		if o == opt {
			return true
		}
	}
	return false
}

// isEmpty reports whether omitempty leaves v out: false, 0, "", an empty
// or nil slice, an empty array, a nil pointer. A struct is never empty.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint() == 0
	case reflect.String, reflect.Slice, reflect.Array:
		return v.Len() == 0
	case reflect.Pointer:
		return v.IsNil()
	}
	return false
}
