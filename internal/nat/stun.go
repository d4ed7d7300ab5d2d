package nat

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"net/netip"
)

// STUN (RFC 5389), only what a lighthouse and its clients need: binding
// requests, binding success responses with XOR-MAPPED-ADDRESS, and the
// FINGERPRINT attribute. Written here rather than imported to keep the
// router binary small; the tests check it against pion/stun.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|0 0|     STUN Message Type     |         Message Length        |
//	|                         Magic Cookie                          |
//	|                     Transaction ID (96 bits)                  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  attributes: type (16), length (16), value padded to 4 bytes  |

const (
	headerLen       = 20
	magicCookie     = 0x2112A442
	typeBindingReq  = 0x0001
	typeBindingResp = 0x0101
	attrMapped      = 0x0001
	attrXORMapped   = 0x0020
	attrFingerprint = 0x8028
	fingerprintXOR  = 0x5354554e
	// TransactionIDSize is the length of a STUN transaction id.
	TransactionIDSize = 12
)

// ErrNotResponse is returned for a datagram that is not the awaited response.
var ErrNotResponse = errors.New("nat: not a STUN binding response for this request")

// header checks a STUN header and returns the message type and the
// attributes.
func header(b []byte) (typ uint16, attrs []byte, ok bool) {
	if len(b) < headerLen || b[0]&0xc0 != 0 || binary.BigEndian.Uint32(b[4:]) != magicCookie {
		return 0, nil, false
	}
	n := int(binary.BigEndian.Uint16(b[2:]))
	if n%4 != 0 || headerLen+n != len(b) {
		return 0, nil, false
	}
	return binary.BigEndian.Uint16(b), b[headerLen:], true
}

// BindingResponse answers a STUN binding request from the address from
// with a success response carrying XOR-MAPPED-ADDRESS. ok is false for
// anything that is not a well-formed binding request, which the caller
// drops: one header check, nothing allocated for it.
func BindingResponse(req []byte, from netip.AddrPort) (resp []byte, ok bool) {
	typ, _, ok := header(req)
	if !ok || typ != typeBindingReq {
		return nil, false
	}
	addr := from.Addr().Unmap()
	alen := 4
	family := byte(1)
	if addr.Is6() {
		alen, family = 16, 2
	}
	xmaLen := 4 + alen
	out := make([]byte, headerLen, headerLen+4+xmaLen+8)
	binary.BigEndian.PutUint16(out, typeBindingResp)
	binary.BigEndian.PutUint16(out[2:], uint16(4+xmaLen+8))
	copy(out[4:headerLen], req[4:headerLen]) // cookie and transaction id
	out = binary.BigEndian.AppendUint16(out, attrXORMapped)
	out = binary.BigEndian.AppendUint16(out, uint16(xmaLen))
	out = append(out, 0, family)
	out = binary.BigEndian.AppendUint16(out, from.Port()^uint16(magicCookie>>16))
	a := addr.AsSlice()
	for i := range a {
		a[i] ^= out[4+i] // cookie, then the transaction id for IPv6
	}
	out = append(out, a...)
	return appendFingerprint(out), true
}

// appendFingerprint adds FINGERPRINT; the length field already counts it.
func appendFingerprint(m []byte) []byte {
	crc := crc32.ChecksumIEEE(m) ^ fingerprintXOR
	m = binary.BigEndian.AppendUint16(m, attrFingerprint)
	m = binary.BigEndian.AppendUint16(m, 4)
	return binary.BigEndian.AppendUint32(m, crc)
}

// BindingRequest makes a STUN binding request; id is its transaction id.
func BindingRequest() (req []byte, id [TransactionIDSize]byte) {
	if _, err := rand.Read(id[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	m := make([]byte, headerLen, headerLen+8)
	binary.BigEndian.PutUint16(m, typeBindingReq)
	binary.BigEndian.PutUint16(m[2:], 8)
	binary.BigEndian.PutUint32(m[4:], magicCookie)
	copy(m[8:], id[:])
	return appendFingerprint(m), id
}

// MappedAddress reads the mapped address from a binding response to the
// request with transaction id id.
func MappedAddress(resp []byte, id [TransactionIDSize]byte) (netip.AddrPort, error) {
	typ, attrs, ok := header(resp)
	if !ok || typ != typeBindingResp || [TransactionIDSize]byte(resp[8:headerLen]) != id {
		return netip.AddrPort{}, ErrNotResponse
	}
	var plain netip.AddrPort
	for len(attrs) >= 4 {
		t := binary.BigEndian.Uint16(attrs)
		n := int(binary.BigEndian.Uint16(attrs[2:]))
		if 4+n > len(attrs) {
			break
		}
		v := attrs[4 : 4+n]
		switch t {
		case attrXORMapped:
			if ap, ok := decodeAddr(v, resp[4:headerLen]); ok {
				return ap, nil
			}
		case attrMapped:
			if ap, ok := decodeAddr(v, nil); ok {
				plain = ap
			}
		}
		attrs = attrs[min(len(attrs), 4+(n+3)&^3):]
	}
	if plain.IsValid() {
		return plain, nil
	}
	return netip.AddrPort{}, ErrNotResponse
}

// decodeAddr reads a (XOR-)MAPPED-ADDRESS value; xor is the cookie and
// transaction id for the XOR form, nil for the plain one.
func decodeAddr(v, xor []byte) (netip.AddrPort, bool) {
	if len(v) < 4 {
		return netip.AddrPort{}, false
	}
	alen := map[byte]int{1: 4, 2: 16}[v[1]]
	if alen == 0 || len(v) < 4+alen {
		return netip.AddrPort{}, false
	}
	port := binary.BigEndian.Uint16(v[2:])
	a := append([]byte(nil), v[4:4+alen]...)
	if xor != nil {
		port ^= uint16(magicCookie >> 16)
		for i := range a {
			a[i] ^= xor[i]
		}
	}
	addr, _ := netip.AddrFromSlice(a)
	return netip.AddrPortFrom(addr.Unmap(), port), true
}
