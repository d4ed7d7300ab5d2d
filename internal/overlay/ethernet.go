package overlay

import "encoding/binary"

// HeaderLen is the length of an untagged Ethernet II header: destination MAC,
// source MAC and EtherType.
const HeaderLen = 14

// EtherTypes the switch and the guards look at.
const (
	EtherTypeIPv4  = 0x0800
	EtherTypeIPv6  = 0x86DD
	EtherTypeVLAN  = 0x8100 // IEEE 802.1Q customer tag
	EtherTypeQinQ  = 0x88A8 // IEEE 802.1ad service tag
	EtherTypeQinQ9 = 0x9100 // pre-standard service tag, still sent by some switches
)

// broadcastMAC is ff:ff:ff:ff:ff:ff. It is unexported because a [6]byte
// variable could be changed by any importer; use IsBroadcast.
var broadcastMAC = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// ValidFrame reports whether frame is long enough to carry an Ethernet
// header. Every other helper here tolerates short input, but a frame that
// fails this check should be dropped before it reaches the switch.
func ValidFrame(frame []byte) bool {
	return len(frame) >= HeaderLen
}

// Dst returns the destination MAC of frame, or the zero MAC when frame is
// shorter than six bytes.
func Dst(frame []byte) [6]byte {
	if len(frame) < 6 {
		return [6]byte{}
	}
	return [6]byte(frame[0:6])
}

// Src returns the source MAC of frame, or the zero MAC when frame is shorter
// than twelve bytes. The zero MAC is never learned.
func Src(frame []byte) [6]byte {
	if len(frame) < 12 {
		return [6]byte{}
	}
	return [6]byte(frame[6:12])
}

// EtherType returns the outer EtherType (or TPID of the first VLAN tag) of
// frame, or 0 when frame is shorter than an Ethernet header.
func EtherType(frame []byte) uint16 {
	if len(frame) < HeaderLen {
		return 0
	}
	return binary.BigEndian.Uint16(frame[12:14])
}

// IsMulticast reports whether mac is a group address (the I/G bit is set).
// Broadcast is a group address too, so this is the flood test for a
// destination and the never-learn test for a source.
func IsMulticast(mac [6]byte) bool {
	return mac[0]&0x01 != 0
}

// IsBroadcast reports whether mac is ff:ff:ff:ff:ff:ff.
func IsBroadcast(mac [6]byte) bool {
	return mac == broadcastMAC
}

// isVLANTPID reports whether et is a VLAN tag protocol identifier that the
// guards step over.
func isVLANTPID(et uint16) bool {
	return et == EtherTypeVLAN || et == EtherTypeQinQ || et == EtherTypeQinQ9
}

// l3 steps over up to maxVLANTags VLAN tags (a tag is its TPID, read
// as the EtherType, and a TCI, then the next type) and returns the inner
// EtherType and the bytes after it; ok is false for a short frame.
func l3(frame []byte) (et uint16, p []byte, ok bool) {
	if len(frame) < HeaderLen {
		return 0, nil, false
	}
	et = binary.BigEndian.Uint16(frame[12:14])
	off := HeaderLen
	for tags := 0; isVLANTPID(et); tags++ {
		if tags == maxVLANTags || len(frame) < off+4 {
			return 0, nil, false
		}
		et = binary.BigEndian.Uint16(frame[off+2 : off+4])
		off += 4
	}
	return et, frame[off:], true
}
