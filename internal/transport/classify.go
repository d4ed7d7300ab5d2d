package transport

// Kind is the kind of a datagram arriving on the socket.
type Kind uint8

// Datagram kinds.
const (
	KindUnknown     Kind = iota
	KindSTUN             // RFC 5389 STUN message
	KindDTLS             // DTLS record(s)
	KindTURNChannel      // TURN ChannelData (RFC 8656)
	KindData             // ipop data record
	KindRelay            // ipop relay envelope
)

func (k Kind) String() string {
	switch k {
	case KindSTUN:
		return "stun"
	case KindDTLS:
		return "dtls"
	case KindTURNChannel:
		return "turn-channel"
	case KindData:
		return "data"
	case KindRelay:
		return "relay"
	}
	return "unknown"
}

// First bytes of our own datagrams.
const (
	markerData  = 0xD0
	markerRelay = 0xD1
)

const (
	stunHeaderLen = 20
	stunCookie    = 0x2112A442
	dtlsHeaderLen = 13
	turnChanLen   = 4
)

// Classify tells the kind of a datagram from its first bytes.
//
// The cases cannot overlap because each owns a disjoint range of the first
// byte (RFC 7983 section 7): STUN 0-3 (and the magic cookie must match),
// DTLS 20-63, TURN ChannelData 64-79, and our two markers 0xD0 and 0xD1,
// which lie in 192-255, a range none of the others uses. A datagram too
// short to hold its kind's fixed header is KindUnknown, so that callers may
// index the header without checking again.
func Classify(b []byte) Kind {
	if len(b) == 0 {
		return KindUnknown
	}
	switch c := b[0]; {
	case c <= 3:
		if len(b) >= stunHeaderLen && uint32(b[4])<<24|uint32(b[5])<<16|uint32(b[6])<<8|uint32(b[7]) == stunCookie {
			return KindSTUN
		}
	case c >= 20 && c <= 63:
		if len(b) >= dtlsHeaderLen {
			return KindDTLS
		}
	case c >= 64 && c <= 79:
		if len(b) >= turnChanLen {
			return KindTURNChannel
		}
	case c == markerData:
		if len(b) >= headerLen+tagLen+1 {
			return KindData
		}
	case c == markerRelay:
		if len(b) >= 2 {
			return KindRelay
		}
	}
	return KindUnknown
}
