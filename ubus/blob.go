package ubus

import (
	"encoding/binary"
	"fmt"
)

// Blob attribute header bits (libubox blob.h).
const (
	blobExtended = 0x80000000 // set for blobmsg attributes
	blobIDShift  = 24
	blobIDMask   = 0x7f // 7-bit id
	blobLenMask  = 0x00ffffff
	blobHdrLen   = 4
	maxAttrLen   = blobLenMask    // a 24-bit length field
	maxAttrID    = blobIDMask     // largest attribute id
	padMask      = blobHdrLen - 1 // attributes are padded to 4 bytes
)

// MaxMessageLen is UBUS_MAX_MSGLEN: the largest message blob (padded) that
// ubusd accepts; it drops a client that announces more.
const MaxMessageLen = 1048576

// Attr is one blob attribute as it is on the wire: its 7-bit id, whether the
// EXTENDED bit is set (blobmsg attributes) and its payload without padding.
// Data aliases the buffer it was parsed from.
type Attr struct {
	ID       uint8
	Extended bool
	Data     []byte
}

// pad4 rounds n up to a multiple of 4.
func pad4(n int) int { return (n + padMask) &^ padMask }

// ParseAttrs splits the payload of a blob container into its attributes.
// Every attribute must fit, padding included, in what is left of b: libubox
// iterates the same way (blob_for_each_attr), so a shorter tail is garbage.
// Padding bytes are not checked, because libubox does not check them either.
func ParseAttrs(b []byte) ([]Attr, error) {
	var attrs []Attr
	for off := 0; off < len(b); {
		a, next, err := parseAttr(b, off)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, a)
		off = next
	}
	return attrs, nil
}

// parseAttr reads the attribute at b[off:] and returns it with the offset of
// the next one.
func parseAttr(b []byte, off int) (Attr, int, error) {
	if len(b)-off < blobHdrLen {
		return Attr{}, 0, malformed("%d trailing bytes at offset %d, need a 4-byte attribute header", len(b)-off, off)
	}
	h := binary.BigEndian.Uint32(b[off:])
	n := int(h & blobLenMask)
	if n < blobHdrLen {
		return Attr{}, 0, malformed("attribute at offset %d has length %d < 4", off, n)
	}
	if pad4(n) > len(b)-off {
		return Attr{}, 0, malformed("attribute at offset %d has length %d, only %d bytes left", off, n, len(b)-off)
	}
	a := Attr{
		ID:       uint8(h >> blobIDShift & blobIDMask),
		Extended: h&blobExtended != 0,
		Data:     b[off+blobHdrLen : off+n : off+n],
	}
	return a, off + pad4(n), nil
}

// AppendAttr appends one attribute with its header and zero padding.
func AppendAttr(dst []byte, a Attr) ([]byte, error) {
	start, dst := beginAttr(dst)
	dst = append(dst, a.Data...)
	return endAttr(dst, start, a.ID, a.Extended)
}

// beginAttr reserves room for an attribute header; endAttr fills it in once
// the payload (possibly nested attributes) has been appended.
func beginAttr(dst []byte) (int, []byte) {
	return len(dst), append(dst, 0, 0, 0, 0)
}

// endAttr writes the header of the attribute started at start and pads it.
// The length excludes the attribute's own padding, but includes the padding
// of nested children, which they appended themselves.
func endAttr(dst []byte, start int, id uint8, ext bool) ([]byte, error) {
	n := len(dst) - start
	if n > maxAttrLen {
		return dst, fmt.Errorf("%w: attribute of %d bytes exceeds the 24-bit length field", ErrTooLarge, n)
	}
	if id > maxAttrID {
		return dst, fmt.Errorf("%w: attribute id %d does not fit in 7 bits", ErrUnsupportedType, id)
	}
	h := uint32(n) | uint32(id)<<blobIDShift
	if ext {
		h |= blobExtended
	}
	binary.BigEndian.PutUint32(dst[start:], h)
	for len(dst)%4 != 0 {
		dst = append(dst, 0)
	}
	return dst, nil
}
