package offload

import (
	"encoding/binary"
	"fmt"
)

// HdrLen is the size of struct virtio_net_hdr, which precedes every frame
// read from or written to a TAP opened with IFF_VNET_HDR.
const HdrLen = 10

// Header flags and GSO types (linux/virtio_net.h).
const (
	FlagNeedsCsum = 1 // checksum from CsumStart to the end goes at CsumStart+CsumOffset
	FlagDataValid = 2 // the kernel checked the checksum

	GSONone  = 0
	GSOTCPv4 = 1
	GSOUDP   = 3
	GSOTCPv6 = 4
	GSOUDPL4 = 5
	GSOECN   = 0x80 // TCP with ECN: CWR only on the first segment
)

// Hdr is a virtio-net header. The kernel writes it in the host's byte
// order for a TAP (legacy virtio), so it is read and written in native
// order: the same code is right on little- and big-endian routers.
type Hdr struct {
	Flags      uint8
	GSOType    uint8
	HdrLen     uint16 // bytes of headers (Ethernet to TCP) before the payload
	GSOSize    uint16 // payload bytes per segment
	CsumStart  uint16 // offset of the checksummed part, from the frame's start
	CsumOffset uint16 // offset of the checksum field, from CsumStart
}

// ParseHdr reads a header from b[:HdrLen].
func ParseHdr(b []byte) (Hdr, error) {
	if len(b) < HdrLen {
		return Hdr{}, fmt.Errorf("%w: %d bytes", ErrShortHeader, len(b))
	}
	e := binary.NativeEndian
	return Hdr{
		Flags:      b[0],
		GSOType:    b[1],
		HdrLen:     e.Uint16(b[2:]),
		GSOSize:    e.Uint16(b[4:]),
		CsumStart:  e.Uint16(b[6:]),
		CsumOffset: e.Uint16(b[8:]),
	}, nil
}

// Put writes h into b[:HdrLen].
func (h Hdr) Put(b []byte) {
	e := binary.NativeEndian
	b[0], b[1] = h.Flags, h.GSOType
	e.PutUint16(b[2:], h.HdrLen)
	e.PutUint16(b[4:], h.GSOSize)
	e.PutUint16(b[6:], h.CsumStart)
	e.PutUint16(b[8:], h.CsumOffset)
}

// IsGSO reports whether the frame behind h must be cut before it leaves.
func (h Hdr) IsGSO() bool { return h.GSOType != GSONone }
