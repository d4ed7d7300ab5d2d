package wire

import (
	"fmt"

	"github.com/ipopd/ipopd/internal/cbor"
)

// MaxMessageSize bounds one control message. Control messages are small;
// the bound keeps a buggy peer from making us buffer much.
const MaxMessageSize = 16 << 10

// Type is the first byte of a control message.
type Type byte

// Message types.
const (
	TypeHello Type = 1 // Hello: sent by both ends once the handshake is done
	TypePing  Type = 2 // Ping: liveness and round-trip time
	TypePong  Type = 3 // Pong: answer to a Ping
	TypeBye   Type = 4 // Bye: the sender is shutting this session down on purpose

	// Joining, on a session whose client has no member certificate yet.
	TypeJoinHello   Type = 10 // joiner -> member: who are you (answer: JoinInfo)
	TypeJoinInfo    Type = 11 // member -> joiner: the group's CA certificate
	TypeJoinRequest Type = 12 // joiner -> member: proof of the invite secret and the public key
	TypeJoinReply   Type = 13 // member -> joiner: the signed certificate, or why not

	// Between members.
	TypeJoinForward Type = 20 // member -> owner: a joiner's request, with its session binding
	TypeJoinResult  Type = 21 // owner -> member: the answer to a JoinForward
	TypeCRL         Type = 22 // a signed revocation list, spread by every member that gets a newer one
	TypeRenew       Type = 23 // member -> owner: renew my certificate
	TypeRenewed     Type = 24 // owner -> member: the renewed certificate, or why not

	// Discovery, with lighthouses.
	// 31 was a whole directory pushed to every member: gone (O(N^2)).
	TypeAnnounce     Type = 30 // member -> lighthouse: my candidate addresses
	TypePunchRequest Type = 32 // member -> lighthouse: help me reach this member directly
	TypePunch        Type = 33 // lighthouse -> both members: probe these candidates now
	TypeQuery        Type = 34 // member -> lighthouse: where is this member?
	TypeQueryReply   Type = 35 // lighthouse -> member: the answer (also sent unasked to the member asked about)
)

func (t Type) String() string {
	switch t {
	case TypeHello:
		return "hello"
	case TypePing:
		return "ping"
	case TypePong:
		return "pong"
	case TypeBye:
		return "bye"
	case TypeJoinHello:
		return "join-hello"
	case TypeJoinInfo:
		return "join-info"
	case TypeJoinRequest:
		return "join-request"
	case TypeJoinReply:
		return "join-reply"
	case TypeJoinForward:
		return "join-forward"
	case TypeJoinResult:
		return "join-result"
	case TypeCRL:
		return "crl"
	case TypeRenew:
		return "renew"
	case TypeRenewed:
		return "renewed"
	case TypeAnnounce:
		return "announce"
	case TypePunchRequest:
		return "punch-request"
	case TypePunch:
		return "punch"
	case TypeQuery:
		return "query"
	case TypeQueryReply:
		return "query-reply"
	}
	return fmt.Sprintf("type(%d)", byte(t))
}

// Hello tells the peer how to address data records to us.
type Hello struct {
	// Index is the receiver index the peer must put in data records it sends
	// on this session.
	Index uint32 `cbor:"1,keyasint"`
	// Instance is random per daemon start; it tells a restarted peer from a
	// second session of the same running peer.
	Instance uint64 `cbor:"2,keyasint"`
	// Name is the sender's node name, for logs (the certificate is
	// authoritative).
	Name string `cbor:"3,keyasint,omitempty"`
	// Version is the sender's software version.
	Version string `cbor:"4,keyasint,omitempty"`
	// MaxFrame is the largest Ethernet frame the sender accepts.
	MaxFrame uint32 `cbor:"5,keyasint,omitempty"`
	// Roles the sender plays for the group (RoleLighthouse, RoleRelay).
	Roles uint8 `cbor:"6,keyasint,omitempty"`
}

// Roles a member can play.
const (
	RoleLighthouse = 1 << 0 // answers queries about members, answers STUN, coordinates punching
	RoleRelay      = 1 << 1 // forwards datagrams between members
	// RoleOwner: the sender holds the group CA key. A claim only, used to
	// send owner requests (join forwarding, renewal) to one peer instead
	// of all; what the owner answers is signed by the CA and checked.
	RoleOwner = 1 << 2
)

// Ping asks for a Pong carrying the same Seq and Time.
type Ping struct {
	Seq  uint64 `cbor:"1,keyasint"`
	Time int64  `cbor:"2,keyasint"` // sender's monotonic clock, echoed back
}

// Pong answers a Ping.
type Pong Ping

// Bye says the sender closes the session on purpose (shutdown, revocation).
type Bye struct {
	Reason string `cbor:"1,keyasint,omitempty"`
}

// JoinHello opens a join: the joiner asks for the group's CA certificate
// before it sends anything secret.
type JoinHello struct {
	Version string `cbor:"1,keyasint,omitempty"`
}

// JoinInfo answers JoinHello.
type JoinInfo struct {
	Group  string `cbor:"1,keyasint"`
	CACert []byte `cbor:"2,keyasint"` // DER
}

// JoinRequest carries a group.JoinRequest (its own encoding).
type JoinRequest struct {
	Request []byte `cbor:"1,keyasint"`
}

// JoinReply answers JoinRequest: Result (a group.JoinResult) or Error.
type JoinReply struct {
	Result []byte `cbor:"1,keyasint,omitempty"`
	Error  string `cbor:"2,keyasint,omitempty"`
}

// JoinForward passes a joiner's request to the owner, with the binding
// (exported keying material) of the joiner's session that the proof covers.
type JoinForward struct {
	ID      uint64 `cbor:"1,keyasint"`
	Request []byte `cbor:"2,keyasint"`
	Binding []byte `cbor:"3,keyasint"`
}

// JoinResult answers JoinForward.
type JoinResult struct {
	ID     uint64 `cbor:"1,keyasint"`
	Result []byte `cbor:"2,keyasint,omitempty"`
	Error  string `cbor:"3,keyasint,omitempty"`
}

// CRL carries the group's current certificate revocation list (DER).
type CRL struct {
	CRL []byte `cbor:"1,keyasint"`
}

// Renew asks the owner for a fresh certificate for the sender's key (the
// owner takes the certificate of the session it arrives on).
type Renew struct {
	ID uint64 `cbor:"1,keyasint"`
}

// Renewed answers Renew.
type Renewed struct {
	ID    uint64 `cbor:"1,keyasint"`
	Cert  []byte `cbor:"2,keyasint,omitempty"`
	Error string `cbor:"3,keyasint,omitempty"`
}

// Announce tells a lighthouse this member's own (host) candidates; the
// lighthouse adds the address it sees the member at.
type Announce struct {
	Candidates []string `cbor:"1,keyasint,omitempty"`
	// Relayed are addresses on TURN servers that relay to the member.
	Relayed []string `cbor:"2,keyasint,omitempty"`
}

// Query asks a lighthouse about one member: a member looks up only the
// members it has traffic for, so discovery costs O(1) messages per link,
// whatever the size of the group.
type Query struct {
	NodeID string `cbor:"1,keyasint"`
}

// QueryReply answers a Query. Found says whether the lighthouse has an up
// session with the member (and so can relay to it and coordinate a
// punch). A lighthouse also sends one, unasked, to the member that was
// asked about, naming the asker: it lets that member's TURN allocation
// admit the asker before its handshake arrives.
type QueryReply struct {
	NodeID     string   `cbor:"1,keyasint"`
	Found      bool     `cbor:"2,keyasint,omitempty"`
	Name       string   `cbor:"3,keyasint,omitempty"`
	Candidates []string `cbor:"4,keyasint,omitempty"`
	Relayed    []string `cbor:"5,keyasint,omitempty"` // the member's TURN relayed addresses
}

// PunchRequest asks a lighthouse to coordinate a direct path to Target.
type PunchRequest struct {
	Target string `cbor:"1,keyasint"`
}

// Punch tells a member to probe the candidates of NodeID now; the
// lighthouse sends one to each side at the same moment.
type Punch struct {
	NodeID     string   `cbor:"1,keyasint"`
	Candidates []string `cbor:"2,keyasint,omitempty"`
}

// decOptions are the decoder's limits. No message has more than 2 levels
// (a map of arrays) or 16 entries in an array; the bounds leave room for
// newer peers' additions and keep a hostile message cheap to refuse. No
// message grows with the size of the group.
var decOptions = cbor.DecOptions{
	MaxDepth:    4,
	MaxArrayLen: 64,
	MaxMapPairs: 16,
}

// Marshal encodes a message: Hello, Ping, Pong or Bye (values or pointers).
func Marshal(m any) ([]byte, error) {
	var t Type
	switch m.(type) {
	case Hello, *Hello:
		t = TypeHello
	case Ping, *Ping:
		t = TypePing
	case Pong, *Pong:
		t = TypePong
	case Bye, *Bye:
		t = TypeBye
	case JoinHello, *JoinHello:
		t = TypeJoinHello
	case JoinInfo, *JoinInfo:
		t = TypeJoinInfo
	case JoinRequest, *JoinRequest:
		t = TypeJoinRequest
	case JoinReply, *JoinReply:
		t = TypeJoinReply
	case JoinForward, *JoinForward:
		t = TypeJoinForward
	case JoinResult, *JoinResult:
		t = TypeJoinResult
	case CRL, *CRL:
		t = TypeCRL
	case Renew, *Renew:
		t = TypeRenew
	case Renewed, *Renewed:
		t = TypeRenewed
	case Announce, *Announce:
		t = TypeAnnounce
	case PunchRequest, *PunchRequest:
		t = TypePunchRequest
	case Punch, *Punch:
		t = TypePunch
	case Query, *Query:
		t = TypeQuery
	case QueryReply, *QueryReply:
		t = TypeQueryReply
	default:
		return nil, fmt.Errorf("wire: cannot marshal %T", m)
	}
	body, err := cbor.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("wire: marshal %s: %w", t, err)
	}
	out := make([]byte, 0, 1+len(body))
	out = append(out, byte(t))
	return append(out, body...), nil
}

// Unmarshal decodes a message and returns a pointer to one of Hello, Ping,
// Pong or Bye.
func Unmarshal(b []byte) (any, error) {
	if len(b) == 0 {
		return nil, ErrShort
	}
	if len(b) > MaxMessageSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(b))
	}
	var m any
	switch Type(b[0]) {
	case TypeHello:
		m = &Hello{}
	case TypePing:
		m = &Ping{}
	case TypePong:
		m = &Pong{}
	case TypeBye:
		m = &Bye{}
	case TypeJoinHello:
		m = &JoinHello{}
	case TypeJoinInfo:
		m = &JoinInfo{}
	case TypeJoinRequest:
		m = &JoinRequest{}
	case TypeJoinReply:
		m = &JoinReply{}
	case TypeJoinForward:
		m = &JoinForward{}
	case TypeJoinResult:
		m = &JoinResult{}
	case TypeCRL:
		m = &CRL{}
	case TypeRenew:
		m = &Renew{}
	case TypeRenewed:
		m = &Renewed{}
	case TypeAnnounce:
		m = &Announce{}
	case TypePunchRequest:
		m = &PunchRequest{}
	case TypePunch:
		m = &Punch{}
	case TypeQuery:
		m = &Query{}
	case TypeQueryReply:
		m = &QueryReply{}
	default:
		return nil, fmt.Errorf("%w %d", ErrUnknownType, b[0])
	}
	if err := decOptions.Unmarshal(b[1:], m); err != nil {
		return nil, fmt.Errorf("wire: decode %s: %w", Type(b[0]), err)
	}
	return m, nil
}
