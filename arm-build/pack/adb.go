package pack

import (
	"encoding/binary"
	"fmt"
)

// ADB value types: the high 4 bits of a u32 value (FORMATS.md apk 4).
const (
	adbSpecial = 0x0 // 0 NULL, 1 TRUE, 2 FALSE
	adbInt     = 0x1 // value itself, < 0x10000000
	adbInt32   = 0x2 // offset to u32
	adbInt64   = 0x3 // offset to u64
	adbBlob8   = 0x8 // offset to u8 length + bytes
	adbBlob16  = 0x9 // offset to u16 length + bytes
	adbBlob32  = 0xa // offset to u32 length + bytes
	adbArray   = 0xd // offset to u32 slots
	adbObject  = 0xe // offset to u32 slots
)

// ADB file magics and schemas (FORMATS.md apk 1, 2).
const (
	adbMagic       = "ADB."
	adbMagicDeflat = "ADBd"
	adbMagicComp   = "ADBc"
	schemaPackage  = "pckg"
	schemaIndex    = "indx"
)

// Block types (FORMATS.md apk 3).
const (
	blockADB  = 0
	blockSIG  = 1
	blockDATA = 2
	blockEXT  = 3
)

// adbHeaderSize is adb_hdr {u8 compat_ver, u8 ver, u16 reserved, u32 root}.
const adbHeaderSize = 8

// adbMaxOffset is the largest offset a 28-bit value field holds.
const adbMaxOffset = 1<<28 - 1

// adbBuilder writes an ADB block payload. Values are written before the
// objects that refer to them, so every offset is known when it is used.
type adbBuilder struct {
	b   []byte
	err error
}

func newADBBuilder() *adbBuilder { return &adbBuilder{b: make([]byte, adbHeaderSize)} }

func (a *adbBuilder) align(n int) {
	for len(a.b)%n != 0 {
		a.b = append(a.b, 0)
	}
}

func (a *adbBuilder) ref(typ uint32, off int) uint32 {
	if off > adbMaxOffset && a.err == nil {
		a.err = fmt.Errorf("%w: ADB block over %d bytes", ErrSpec, adbMaxOffset)
	}
	return typ<<28 | uint32(off)&adbMaxOffset
}

// blob writes a byte string; empty is NULL (FORMATS.md apk 4: "empty blob = NULL").
func (a *adbBuilder) blob(p []byte) uint32 {
	switch {
	case len(p) == 0:
		return 0
	case len(p) < 1<<8:
		off := len(a.b)
		a.b = append(append(a.b, byte(len(p))), p...)
		return a.ref(adbBlob8, off)
	case len(p) < 1<<16:
		a.align(2)
		off := len(a.b)
		a.b = append(binary.LittleEndian.AppendUint16(a.b, uint16(len(p))), p...)
		return a.ref(adbBlob16, off)
	default:
		a.align(4)
		off := len(a.b)
		a.b = append(binary.LittleEndian.AppendUint32(a.b, uint32(len(p))), p...)
		return a.ref(adbBlob32, off)
	}
}

func (a *adbBuilder) str(s string) uint32 { return a.blob([]byte(s)) }

// integer writes v directly when it fits 28 bits, else as INT32 or INT64.
// Zero is written as INT 0, which apk reads as absent for sizes: callers
// that mean "absent" pass 0 to the object as NULL instead.
func (a *adbBuilder) integer(v uint64) uint32 {
	switch {
	case v == 0:
		return 0
	case v <= adbMaxOffset:
		return adbInt<<28 | uint32(v)
	case v <= 1<<32-1:
		a.align(4)
		off := len(a.b)
		a.b = binary.LittleEndian.AppendUint32(a.b, uint32(v))
		return a.ref(adbInt32, off)
	default:
		a.align(4)
		off := len(a.b)
		a.b = binary.LittleEndian.AppendUint64(a.b, v)
		return a.ref(adbInt64, off)
	}
}

// slots writes slot[0] = number of slots including itself, then vals with
// trailing NULLs trimmed; nothing left is NULL (FORMATS.md apk 4).
func (a *adbBuilder) slots(typ uint32, vals []uint32) uint32 {
	n := len(vals)
	for n > 0 && vals[n-1] == 0 {
		n--
	}
	if n == 0 {
		return 0
	}
	a.align(4)
	off := len(a.b)
	a.b = binary.LittleEndian.AppendUint32(a.b, uint32(n+1))
	for _, v := range vals[:n] {
		a.b = binary.LittleEndian.AppendUint32(a.b, v)
	}
	return a.ref(typ, off)
}

// object takes field values in field order: fields[0] is field 1.
func (a *adbBuilder) object(fields ...uint32) uint32 { return a.slots(adbObject, fields) }

func (a *adbBuilder) array(items []uint32) uint32 { return a.slots(adbArray, items) }

// finish stores the root value in adb_hdr (compat_ver 0, ver 0) and returns
// the payload.
func (a *adbBuilder) finish(root uint32) ([]byte, error) {
	if a.err != nil {
		return nil, a.err
	}
	binary.LittleEndian.PutUint32(a.b[4:8], root)
	return a.b, nil
}

// appendBlock appends one block and pads it to 8 bytes; padding is not
// counted in the size (FORMATS.md apk 3).
func appendBlock(dst []byte, typ uint32, parts ...[]byte) ([]byte, error) {
	n := 4
	for _, p := range parts {
		n += len(p)
	}
	if n >= 1<<30 {
		return nil, fmt.Errorf("%w: block of %d bytes needs the EXT form, which is not written", ErrSpec, n)
	}
	dst = binary.LittleEndian.AppendUint32(dst, typ<<30|uint32(n))
	for _, p := range parts {
		dst = append(dst, p...)
	}
	for len(dst)%8 != 0 {
		dst = append(dst, 0)
	}
	return dst, nil
}

// adbView reads values of one ADB block payload, checking every offset.
type adbView struct{ p []byte }

func (v adbView) errf(format string, args ...any) error {
	return fmt.Errorf("%w: ADB: "+format, append([]any{ErrFormat}, args...)...)
}

func (v adbView) root() (uint32, error) {
	if len(v.p) < adbHeaderSize {
		return 0, v.errf("block of %d bytes has no header", len(v.p))
	}
	if v.p[0] != 0 || v.p[1] != 0 {
		return 0, v.errf("adb_hdr compat_ver %d ver %d, want 0 0", v.p[0], v.p[1])
	}
	return binary.LittleEndian.Uint32(v.p[4:8]), nil
}

func (v adbView) span(off, n, align int) ([]byte, error) {
	if off%align != 0 {
		return nil, v.errf("offset %d not %d-aligned", off, align)
	}
	if off < adbHeaderSize || n < 0 || off > len(v.p) || n > len(v.p)-off {
		return nil, v.errf("value at %d+%d outside the %d-byte block", off, n, len(v.p))
	}
	return v.p[off : off+n], nil
}

// blob returns a blob value's bytes; NULL is empty.
func (v adbView) blob(val uint32) ([]byte, error) {
	off := int(val & adbMaxOffset)
	var n, hdr, align int
	switch val >> 28 {
	case adbSpecial:
		if val != 0 {
			return nil, v.errf("special value %#x where a blob belongs", val)
		}
		return nil, nil
	case adbBlob8:
		hdr, align = 1, 1
	case adbBlob16:
		hdr, align = 2, 2
	case adbBlob32:
		hdr, align = 4, 4
	default:
		return nil, v.errf("value %#x is not a blob", val)
	}
	h, err := v.span(off, hdr, align)
	if err != nil {
		return nil, err
	}
	switch hdr {
	case 1:
		n = int(h[0])
	case 2:
		n = int(binary.LittleEndian.Uint16(h))
	default:
		n = int(binary.LittleEndian.Uint32(h))
	}
	return v.span(off+hdr, n, 1)
}

func (v adbView) str(val uint32) (string, error) {
	b, err := v.blob(val)
	return string(b), err
}

// integer reads an integer value; NULL is 0.
func (v adbView) integer(val uint32) (uint64, error) {
	off := int(val & adbMaxOffset)
	switch val >> 28 {
	case adbSpecial:
		if val != 0 {
			return 0, v.errf("special value %#x where an integer belongs", val)
		}
		return 0, nil
	case adbInt:
		return uint64(val & adbMaxOffset), nil
	case adbInt32:
		b, err := v.span(off, 4, 4)
		if err != nil {
			return 0, err
		}
		return uint64(binary.LittleEndian.Uint32(b)), nil
	case adbInt64:
		b, err := v.span(off, 8, 4)
		if err != nil {
			return 0, err
		}
		return binary.LittleEndian.Uint64(b), nil
	}
	return 0, v.errf("value %#x is not an integer", val)
}

// slots reads an array or object: out[i] is field i (out[0] unused). NULL
// gives an empty result.
func (v adbView) slots(val, typ uint32) ([]uint32, error) {
	if val == 0 {
		return nil, nil
	}
	if val>>28 != typ {
		return nil, v.errf("value %#x is not a %s", val, map[uint32]string{adbArray: "array", adbObject: "object"}[typ])
	}
	off := int(val & adbMaxOffset)
	h, err := v.span(off, 4, 4)
	if err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(h)
	if n == 0 || n > uint32(len(v.p)/4) {
		return nil, v.errf("slot count %d at %d", n, off)
	}
	b, err := v.span(off, int(n)*4, 4)
	if err != nil {
		return nil, err
	}
	out := make([]uint32, n)
	for i := 1; i < int(n); i++ {
		out[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return out, nil
}

// field returns field i of an object's slots, NULL when absent.
func field(s []uint32, i int) uint32 {
	if i < len(s) {
		return s[i]
	}
	return 0
}
