package ubus

import (
	"encoding/binary"
	"math"
	"strconv"
)

// BlobType is a blobmsg type id (enum blobmsg_type in blobmsg.h). In a
// method signature it names the type an argument is expected to have.
type BlobType uint8

// blobmsg types. TypeBool is an alias of TypeInt8, as in libubox.
const (
	TypeUnspec BlobType = 0
	TypeArray  BlobType = 1
	TypeTable  BlobType = 2
	TypeString BlobType = 3
	TypeInt64  BlobType = 4
	TypeInt32  BlobType = 5
	TypeInt16  BlobType = 6
	TypeInt8   BlobType = 7
	TypeBool   BlobType = TypeInt8
	TypeDouble BlobType = 8
	typeLast            = TypeDouble
)

var typeNames = [...]string{"unspec", "array", "table", "string", "int64", "int32", "int16", "int8", "double"}

// String returns the libubox name of the type.
func (t BlobType) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "type" + strconv.Itoa(int(t))
}

// MaxDepth bounds the nesting of tables and arrays a decoder accepts. A 1 MiB
// message could otherwise nest ~80,000 levels deep; real ubus data nests a
// handful.
const MaxDepth = 64

// Field is one named blobmsg value inside a Table.
type Field struct {
	Name  string
	Value any
}

// Table is a blobmsg table that keeps the wire order, duplicate names and the
// exact integer widths, so that decoding and encoding it again reproduces the
// bytes. Decoded values have these Go types:
//
//	UNSPEC nil      ARRAY  Array    TABLE Table     STRING string
//	INT64  int64    INT32  int32    INT16 int16     INT8   int8
//	DOUBLE float64  a non-extended attribute inside a table or array: Raw
//
// Use Map for plain JSON-like Go values.
type Table []Field

// Array is a blobmsg array; its elements have the Go types listed at Table.
type Array []any

// Raw is a plain (non-extended) blob attribute found where blobmsg was
// expected. libubus itself puts such attributes into DATA (the `ubus monitor`
// request); blobmsg_parse skips them and so does Map, but they are kept here
// so that such messages re-encode byte for byte.
type Raw struct {
	ID   uint8
	Data []byte
}

// Get returns the value of the first field named name, as blobmsg_parse does.
func (t Table) Get(name string) (any, bool) {
	for _, f := range t {
		if f.Name == name {
			return f.Value, true
		}
	}
	return nil, false
}

// DecodeTable decodes the contents of a blobmsg table (a list of named
// attributes, as in the ubus DATA attribute). It never panics; garbage gives
// an error wrapping ErrMalformed or ErrTooDeep.
func DecodeTable(b []byte) (Table, error) {
	return decodeTable(b, 0)
}

// DecodeArray decodes the contents of a blobmsg array.
func DecodeArray(b []byte) (Array, error) {
	return decodeArray(b, 0)
}

func decodeTable(b []byte, depth int) (Table, error) {
	t := Table{}
	for off := 0; off < len(b); {
		a, next, err := parseAttr(b, off)
		if err != nil {
			return nil, err
		}
		name, v, err := decodeAttr(a, depth)
		if err != nil {
			return nil, err
		}
		t = append(t, Field{Name: name, Value: v})
		off = next
	}
	return t, nil
}

func decodeArray(b []byte, depth int) (Array, error) {
	arr := Array{}
	for off := 0; off < len(b); {
		a, next, err := parseAttr(b, off)
		if err != nil {
			return nil, err
		}
		// Element names are dropped: blobmsg arrays have empty names, and
		// libubox's validator only tolerates others without using them.
		_, v, err := decodeAttr(a, depth)
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
		off = next
	}
	return arr, nil
}

// decodeAttr decodes one blobmsg attribute (name and value) at nesting depth.
func decodeAttr(a Attr, depth int) (string, any, error) {
	if !a.Extended {
		return "", Raw{ID: a.ID, Data: a.Data}, nil
	}
	name, val, err := splitName(a.Data)
	if err != nil {
		return "", nil, err
	}
	v, err := decodeValue(BlobType(a.ID), val, depth)
	if err != nil {
		return "", nil, fmtField(name, err)
	}
	return name, v, nil
}

// splitName parses the blobmsg name header: u16 length, name, NUL, padding
// so that the header is a multiple of 4 bytes.
func splitName(p []byte) (string, []byte, error) {
	if len(p) < 2 {
		return "", nil, malformed("blobmsg attribute of %d bytes has no name header", len(p))
	}
	n := int(binary.BigEndian.Uint16(p))
	hdr := pad4(2 + n + 1)
	if hdr > len(p) {
		return "", nil, malformed("blobmsg name of %d bytes does not fit in a %d-byte attribute", n, len(p))
	}
	if p[2+n] != 0 {
		return "", nil, malformed("blobmsg name is not NUL-terminated")
	}
	return string(p[2 : 2+n]), p[hdr:], nil
}

func decodeValue(t BlobType, v []byte, depth int) (any, error) {
	switch t {
	case TypeUnspec:
		if len(v) != 0 {
			return nil, malformed("unspec value with %d payload bytes", len(v))
		}
		return nil, nil
	case TypeArray, TypeTable:
		if depth >= MaxDepth {
			return nil, ErrTooDeep
		}
		if t == TypeArray {
			return decodeArray(v, depth+1)
		}
		return decodeTable(v, depth+1)
	case TypeString:
		if len(v) == 0 || v[len(v)-1] != 0 {
			return nil, malformed("string is not NUL-terminated")
		}
		return string(v[:len(v)-1]), nil
	case TypeInt64:
		if len(v) != 8 {
			return nil, malformed("int64 with %d bytes", len(v))
		}
		return int64(binary.BigEndian.Uint64(v)), nil
	case TypeInt32:
		if len(v) != 4 {
			return nil, malformed("int32 with %d bytes", len(v))
		}
		return int32(binary.BigEndian.Uint32(v)), nil
	case TypeInt16:
		if len(v) != 2 {
			return nil, malformed("int16 with %d bytes", len(v))
		}
		return int16(binary.BigEndian.Uint16(v)), nil
	case TypeInt8:
		if len(v) != 1 {
			return nil, malformed("int8 with %d bytes", len(v))
		}
		return int8(v[0]), nil
	case TypeDouble:
		if len(v) != 8 {
			return nil, malformed("double with %d bytes", len(v))
		}
		return math.Float64frombits(binary.BigEndian.Uint64(v)), nil
	}
	return nil, malformed("unknown blobmsg type %d", t)
}

func fmtField(name string, err error) error {
	return &fieldError{name: name, err: err}
}

// fieldError adds the path of the offending field to a decoding error.
type fieldError struct {
	name string
	err  error
}

func (e *fieldError) Error() string {
	var path string
	var err error = e
	for {
		fe, ok := err.(*fieldError)
		if !ok {
			break
		}
		path += "/" + strconv.Quote(fe.name)
		err = fe.err
	}
	return "blobmsg " + path + ": " + err.Error()
}

func (e *fieldError) Unwrap() error { return e.err }
