package cbor

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"unicode/utf8"
)

// Defaults for the zero fields of DecOptions.
const (
	DefaultMaxDepth    = 16
	DefaultMaxArrayLen = 1024
	DefaultMaxMapPairs = 64
)

// DecOptions are the limits of a decoder. A zero field takes its default;
// string lengths are bounded by the input in any case.
type DecOptions struct {
	// MaxDepth bounds the nesting of arrays and maps; a top-level map is
	// at depth 1.
	MaxDepth int
	// MaxArrayLen bounds the elements of one array.
	MaxArrayLen int
	// MaxMapPairs bounds the pairs of one map.
	MaxMapPairs int
	// MaxStringLen bounds one byte or text string; 0 is no limit but the
	// input's length.
	MaxStringLen int
	// AllowUnknownKeys skips map keys a struct has no field for (they
	// must still be well-formed, in shortest form and within the limits) instead
	// of failing with ErrUnknownKey. A value decoded this way may not
	// encode back to the same bytes.
	AllowUnknownKeys bool
}

// Unmarshal decodes data with the default limits.
func Unmarshal(data []byte, v any) error { return DecOptions{}.Unmarshal(data, v) }

// Unmarshal decodes data, one complete CBOR item, into the value v points
// to. v is replaced as a whole and only when the whole input decodes;
// every error wraps one of the package's sentinels.
func (o DecOptions) Unmarshal(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("cbor: decode into %T: %w: need a non-nil pointer", v, ErrUnsupported)
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	if o.MaxArrayLen <= 0 {
		o.MaxArrayLen = DefaultMaxArrayLen
	}
	if o.MaxMapPairs <= 0 {
		o.MaxMapPairs = DefaultMaxMapPairs
	}
	d := decoder{data: data, opts: &o}
	out := reflect.New(rv.Type().Elem()).Elem()
	if err := d.value(out, 0); err != nil {
		return fmt.Errorf("cbor: decode %s: %w", out.Type(), err)
	}
	if d.off != len(data) {
		return fmt.Errorf("cbor: decode %s: %w: %d bytes after the item", out.Type(), ErrSyntax, len(data)-d.off)
	}
	rv.Elem().Set(out)
	return nil
}

type decoder struct {
	data []byte
	off  int
	opts *DecOptions
}

var majorNames = [8]string{"unsigned integer", "negative integer", "byte string", "text string", "array", "map", "tag", "simple value"}

// head reads an item head: its major type and argument. It refuses
// what deterministic CBOR never has (non-shortest arguments, indefinite
// lengths, two-byte simple values) and what no message has (tags,
// floats).
func (d *decoder) head() (major byte, arg uint64, err error) {
	if d.off >= len(d.data) {
		return 0, 0, fmt.Errorf("%w: unexpected end of input", ErrSyntax)
	}
	ib := d.data[d.off]
	d.off++
	major, ai := ib>>5, ib&0x1f
	switch {
	case major == majorTag:
		return 0, 0, ErrTag
	case ai < 24:
		return major, uint64(ai), nil
	case ai == 31:
		if major == majorSimple {
			return 0, 0, fmt.Errorf("%w: break outside an indefinite-length item", ErrSyntax)
		}
		if major == majorUint || major == majorNeg {
			return 0, 0, fmt.Errorf("%w: reserved header byte %#02x", ErrSyntax, ib)
		}
		return 0, 0, fmt.Errorf("%w %s", ErrIndefinite, majorNames[major])
	case ai > 27:
		return 0, 0, fmt.Errorf("%w: reserved header byte %#02x", ErrSyntax, ib)
	}
	n := 1 << (ai - 24)
	if len(d.data)-d.off < n {
		return 0, 0, fmt.Errorf("%w: unexpected end of input", ErrSyntax)
	}
	p := d.data[d.off : d.off+n]
	d.off += n
	var min uint64
	switch n {
	case 1:
		arg, min = uint64(p[0]), 24
	case 2:
		arg, min = uint64(binary.BigEndian.Uint16(p)), 0x100
	case 4:
		arg, min = uint64(binary.BigEndian.Uint32(p)), 0x10000
	default:
		arg, min = binary.BigEndian.Uint64(p), 0x100000000
	}
	if major == majorSimple {
		if n == 1 && arg < 32 {
			return 0, 0, fmt.Errorf("%w: simple value %d in two bytes", ErrSyntax, arg)
		}
		return 0, 0, fmt.Errorf("%w: float or simple value %#02x where none is expected", ErrType, ib)
	}
	if arg < min {
		return 0, 0, fmt.Errorf("%w: %s argument %d not in its shortest form", ErrNotCanonical, majorNames[major], arg)
	}
	return major, arg, nil
}

// count reads the head of an array or map, checks its length against the
// limits and the input left (every item takes at least one byte, so no
// allocation is larger than the input could fill), and the nesting depth.
func (d *decoder) count(major byte, arg uint64, depth int) (int, error) {
	if depth+1 > d.opts.MaxDepth {
		return 0, fmt.Errorf("%w: nested deeper than %d", ErrLimit, d.opts.MaxDepth)
	}
	limit, per := d.opts.MaxArrayLen, uint64(1)
	if major == majorMap {
		limit, per = d.opts.MaxMapPairs, 2
	}
	if arg > uint64(limit) {
		return 0, fmt.Errorf("%w: %s of %d entries; the limit is %d", ErrLimit, majorNames[major], arg, limit)
	}
	if arg*per > uint64(len(d.data)-d.off) {
		return 0, fmt.Errorf("%w: unexpected end of input in a %s of %d entries", ErrSyntax, majorNames[major], arg)
	}
	return int(arg), nil
}

// str reads the payload of a byte or text string of length arg.
func (d *decoder) str(major byte, arg uint64) ([]byte, error) {
	if d.opts.MaxStringLen > 0 && arg > uint64(d.opts.MaxStringLen) {
		return nil, fmt.Errorf("%w: %s of %d bytes; the limit is %d", ErrLimit, majorNames[major], arg, d.opts.MaxStringLen)
	}
	if arg > uint64(len(d.data)-d.off) {
		return nil, fmt.Errorf("%w: unexpected end of input in a %s of %d bytes", ErrSyntax, majorNames[major], arg)
	}
	b := d.data[d.off : d.off+int(arg)]
	d.off += int(arg)
	if major == majorText && !utf8.Valid(b) {
		return nil, ErrUTF8
	}
	return b, nil
}

// expect reads a head and checks its major type.
func (d *decoder) expect(want byte, t reflect.Type) (uint64, error) {
	major, arg, err := d.head()
	if err != nil {
		return 0, err
	}
	if major != want {
		return 0, mismatch(major, arg, t)
	}
	return arg, nil
}

func mismatch(major byte, arg uint64, t reflect.Type) error {
	what := majorNames[major]
	if major == majorSimple {
		switch arg {
		case simpleFalse, simpleTrue:
			what = "bool"
		case simpleNull:
			what = "null"
		default:
			what = fmt.Sprintf("simple value %d", arg)
		}
	}
	return fmt.Errorf("%w: %s where %s is expected", ErrType, what, t)
}

// value decodes one item into v, a settable zero value; depth is the
// nesting of v's container.
func (d *decoder) value(v reflect.Value, depth int) error {
	t := v.Type()
	k := t.Kind()
	if d.off < len(d.data) && d.data[d.off] == nullByte && (k == reflect.Slice || k == reflect.Pointer) {
		d.off++ // v is already nil
		return nil
	}
	switch k {
	case reflect.Pointer:
		p := reflect.New(t.Elem())
		if err := d.value(p.Elem(), depth); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case reflect.Bool:
		major, arg, err := d.head()
		if err != nil {
			return err
		}
		if major != majorSimple || (arg != simpleFalse && arg != simpleTrue) {
			return mismatch(major, arg, t)
		}
		v.SetBool(arg == simpleTrue)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		arg, err := d.expect(majorUint, t)
		if err != nil {
			return err
		}
		if v.OverflowUint(arg) {
			return fmt.Errorf("%w: %d overflows %s", ErrType, arg, t)
		}
		v.SetUint(arg)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return d.intValue(v)
	case reflect.String:
		arg, err := d.expect(majorText, t)
		if err != nil {
			return err
		}
		b, err := d.str(majorText, arg)
		if err != nil {
			return err
		}
		v.SetString(string(b))
		return nil
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return d.bytesValue(v)
		}
		return d.arrayValue(v, depth)
	case reflect.Struct:
		si, err := structOf(t)
		if err != nil {
			return err
		}
		if si.toArray {
			return d.tupleValue(v, si, depth)
		}
		return d.mapValue(v, si, depth)
	}
	return fmt.Errorf("%w: %s", ErrUnsupported, t)
}

func (d *decoder) intValue(v reflect.Value) error {
	major, arg, err := d.head()
	if err != nil {
		return err
	}
	var n int64
	switch {
	case major != majorUint && major != majorNeg:
		return mismatch(major, arg, v.Type())
	case arg > math.MaxInt64:
		return fmt.Errorf("%w: integer overflows %s", ErrType, v.Type())
	case major == majorUint:
		n = int64(arg)
	default:
		n = -1 - int64(arg)
	}
	if v.OverflowInt(n) {
		return fmt.Errorf("%w: %d overflows %s", ErrType, n, v.Type())
	}
	v.SetInt(n)
	return nil
}

// bytesValue decodes a byte string into a []byte (a copy: the input may
// be reused) or a byte array of exactly its length.
func (d *decoder) bytesValue(v reflect.Value) error {
	arg, err := d.expect(majorBytes, v.Type())
	if err != nil {
		return err
	}
	b, err := d.str(majorBytes, arg)
	if err != nil {
		return err
	}
	if v.Kind() == reflect.Array {
		if len(b) != v.Len() {
			return fmt.Errorf("%w: byte string of %d bytes where %s is expected", ErrType, len(b), v.Type())
		}
		for i, c := range b { // element by element: the type may be [N]namedByte
			v.Index(i).SetUint(uint64(c))
		}
		return nil
	}
	v.SetBytes(append(make([]byte, 0, len(b)), b...))
	return nil
}

func (d *decoder) arrayValue(v reflect.Value, depth int) error {
	arg, err := d.expect(majorArray, v.Type())
	if err != nil {
		return err
	}
	n, err := d.count(majorArray, arg, depth)
	if err != nil {
		return err
	}
	if v.Kind() == reflect.Array {
		if n != v.Len() {
			return fmt.Errorf("%w: array of %d elements where %s is expected", ErrType, n, v.Type())
		}
	} else {
		v.Set(reflect.MakeSlice(v.Type(), n, n))
	}
	for i := range n {
		if err := d.value(v.Index(i), depth+1); err != nil {
			return fmt.Errorf("element %d: %w", i, err)
		}
	}
	return nil
}

// tupleValue decodes an array into a toarray struct.
func (d *decoder) tupleValue(v reflect.Value, si *structInfo, depth int) error {
	arg, err := d.expect(majorArray, v.Type())
	if err != nil {
		return err
	}
	n, err := d.count(majorArray, arg, depth)
	if err != nil {
		return err
	}
	if n != len(si.fields) {
		return fmt.Errorf("%w: array of %d elements where %s of %d fields is expected", ErrType, n, v.Type(), len(si.fields))
	}
	for _, f := range si.fields {
		if err := d.value(v.Field(f.index), depth+1); err != nil {
			return fmt.Errorf("field %s: %w", f.name, err)
		}
	}
	return nil
}

// mapValue decodes a map with unsigned integer keys into a struct. Keys
// must come in ascending order (the order of their shortest encodings),
// so one pass over the fields, also sorted, finds both unknown keys and
// missing ones.
func (d *decoder) mapValue(v reflect.Value, si *structInfo, depth int) error {
	arg, err := d.expect(majorMap, v.Type())
	if err != nil {
		return err
	}
	n, err := d.count(majorMap, arg, depth)
	if err != nil {
		return err
	}
	next := 0 // the first field whose key has not been passed
	var prev uint64
	for i := range n {
		kmajor, key, err := d.head()
		if err != nil {
			return fmt.Errorf("key %d: %w", i+1, err)
		}
		if kmajor != majorUint {
			return fmt.Errorf("key %d: %w: %s where an unsigned integer key is expected", i+1, ErrType, majorNames[kmajor])
		}
		if i > 0 && key == prev {
			return fmt.Errorf("%w %d", ErrDuplicateKey, key)
		}
		if i > 0 && key < prev {
			return fmt.Errorf("%w: key %d after key %d", ErrNotCanonical, key, prev)
		}
		prev = key
		for ; next < len(si.fields) && si.fields[next].key < key; next++ {
			if f := si.fields[next]; !f.omitEmpty {
				return fmt.Errorf("%w %d (%s)", ErrMissingKey, f.key, f.name)
			}
		}
		if next == len(si.fields) || si.fields[next].key != key {
			if !d.opts.AllowUnknownKeys {
				return fmt.Errorf("%w %d in %s", ErrUnknownKey, key, v.Type())
			}
			if err := d.skip(depth + 1); err != nil {
				return fmt.Errorf("key %d: %w", key, err)
			}
			continue
		}
		f := si.fields[next]
		next++
		fv := v.Field(f.index)
		if err := d.value(fv, depth+1); err != nil {
			return fmt.Errorf("field %d (%s): %w", f.key, f.name, err)
		}
		if f.omitEmpty && isEmpty(fv) {
			return fmt.Errorf("field %d (%s): %w: an empty value is left out, not encoded", f.key, f.name, ErrNotCanonical)
		}
	}
	for ; next < len(si.fields); next++ {
		if f := si.fields[next]; !f.omitEmpty {
			return fmt.Errorf("%w %d (%s)", ErrMissingKey, f.key, f.name)
		}
	}
	return nil
}

// skip checks and passes over one item of any type (for unknown keys).
func (d *decoder) skip(depth int) error {
	major, arg, err := d.head()
	if err != nil {
		return err
	}
	switch major {
	case majorBytes, majorText:
		_, err = d.str(major, arg)
		return err
	case majorArray, majorMap:
		n, err := d.count(major, arg, depth)
		if err != nil {
			return err
		}
		if major == majorMap {
			n *= 2
		}
		for range n {
			if err := d.skip(depth + 1); err != nil {
				return err
			}
		}
	}
	return nil
}
