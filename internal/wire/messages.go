package wire

import (
	"fmt"
	"sync"

	"github.com/fxamacker/cbor/v2"
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
}

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

var (
	modesOnce sync.Once
	encMode   cbor.EncMode
	decMode   cbor.DecMode
)

func modes() {
	var err error
	encMode, err = cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err) // options are constants: cannot fail
	}
	decMode, err = cbor.DecOptions{
		MaxNestedLevels:   4,
		MaxArrayElements:  64,
		MaxMapPairs:       16,
		IndefLength:       cbor.IndefLengthForbidden,
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

// Marshal encodes a message: Hello, Ping, Pong or Bye (values or pointers).
func Marshal(m any) ([]byte, error) {
	modesOnce.Do(modes)
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
	default:
		return nil, fmt.Errorf("wire: cannot marshal %T", m)
	}
	body, err := encMode.Marshal(m)
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
	modesOnce.Do(modes)
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
	default:
		return nil, fmt.Errorf("%w %d", ErrUnknownType, b[0])
	}
	if err := decMode.Unmarshal(b[1:], m); err != nil {
		return nil, fmt.Errorf("wire: decode %s: %w", Type(b[0]), err)
	}
	return m, nil
}
