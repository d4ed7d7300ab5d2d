package nat

import (
	"errors"
	"net"
	"net/netip"

	"github.com/pion/stun/v3"
)

// BindingResponse answers a STUN binding request (RFC 5389) from the
// address from with a success response carrying XOR-MAPPED-ADDRESS. ok is
// false for anything that is not a well-formed binding request, which the
// caller drops: it costs one header parse, nothing is kept.
func BindingResponse(req []byte, from netip.AddrPort) (resp []byte, ok bool) {
	if !stun.IsMessage(req) {
		return nil, false
	}
	m := &stun.Message{Raw: append([]byte(nil), req...)}
	if err := m.Decode(); err != nil || m.Type != stun.BindingRequest {
		return nil, false
	}
	out, err := stun.Build(
		stun.NewTransactionIDSetter(m.TransactionID),
		stun.BindingSuccess,
		&stun.XORMappedAddress{IP: net.IP(from.Addr().Unmap().AsSlice()), Port: int(from.Port())},
		stun.Fingerprint,
	)
	if err != nil {
		return nil, false
	}
	return out.Raw, true
}

// BindingRequest makes a STUN binding request; id is its transaction id.
func BindingRequest() (req []byte, id [stun.TransactionIDSize]byte) {
	m := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	return m.Raw, m.TransactionID
}

// ErrNotResponse is returned for a datagram that is not the awaited response.
var ErrNotResponse = errors.New("nat: not a STUN binding response for this request")

// MappedAddress reads the mapped address from a binding response to the
// request with transaction id id.
func MappedAddress(resp []byte, id [stun.TransactionIDSize]byte) (netip.AddrPort, error) {
	if !stun.IsMessage(resp) {
		return netip.AddrPort{}, ErrNotResponse
	}
	m := &stun.Message{Raw: append([]byte(nil), resp...)}
	if err := m.Decode(); err != nil || m.Type != stun.BindingSuccess || m.TransactionID != id {
		return netip.AddrPort{}, ErrNotResponse
	}
	var xa stun.XORMappedAddress
	if err := xa.GetFrom(m); err != nil {
		return netip.AddrPort{}, err
	}
	a, ok := netip.AddrFromSlice(xa.IP)
	if !ok {
		return netip.AddrPort{}, ErrNotResponse
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(xa.Port)), nil
}
