package ubus

import (
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
)

// MsgType is the type byte of a ubus message header (enum ubus_msg_type).
type MsgType uint8

// Message types.
const (
	MsgHello        MsgType = 0
	MsgStatus       MsgType = 1
	MsgData         MsgType = 2
	MsgPing         MsgType = 3
	MsgLookup       MsgType = 4
	MsgInvoke       MsgType = 5
	MsgAddObject    MsgType = 6
	MsgRemoveObject MsgType = 7
	MsgSubscribe    MsgType = 8
	MsgUnsubscribe  MsgType = 9
	MsgNotify       MsgType = 10
	MsgMonitor      MsgType = 11
)

var msgTypeNames = [...]string{"HELLO", "STATUS", "DATA", "PING", "LOOKUP", "INVOKE",
	"ADD_OBJECT", "REMOVE_OBJECT", "SUBSCRIBE", "UNSUBSCRIBE", "NOTIFY", "MONITOR"}

// String returns the ubusmsg.h name without its UBUS_MSG_ prefix.
func (t MsgType) String() string {
	if int(t) < len(msgTypeNames) {
		return msgTypeNames[t]
	}
	return "MSG_" + strconv.Itoa(int(t))
}

// Message attribute ids (enum ubus_msg_attr). MONITOR messages number their
// attributes differently (ubus_monitor_attr); Message keeps them raw.
const (
	AttrStatus      uint8 = 1
	AttrObjPath     uint8 = 2
	AttrObjID       uint8 = 3
	AttrMethod      uint8 = 4
	AttrObjType     uint8 = 5
	AttrSignature   uint8 = 6
	AttrData        uint8 = 7
	AttrTarget      uint8 = 8
	AttrActive      uint8 = 9
	AttrNoReply     uint8 = 10
	AttrSubscribers uint8 = 11
	AttrUser        uint8 = 12
	AttrGroup       uint8 = 13
)

// Reserved object ids served inside ubusd.
const (
	ObjEvent   uint32 = 1 // events: methods "send" and "register"
	ObjACL     uint32 = 2
	ObjMonitor uint32 = 3
)

// HeaderLen is the size of the fixed message header plus the message blob's
// own attribute header: what a reader needs to know the message length.
const HeaderLen = 12

// Header is the fixed part of a message (struct ubus_msghdr).
type Header struct {
	Version uint8 // always 0
	Type    MsgType
	Seq     uint16
	Peer    uint32
}

// Message is one ubus message: the header and the attributes of the message
// blob, kept raw (id, extended bit, payload) so that any message, including
// MONITOR copies with their own attribute set, re-encodes byte for byte.
type Message struct {
	Header
	Attrs []Attr
}

// ParseMessage parses one whole message (header, blob header, payload). b
// must hold exactly the message; extra or missing bytes are an error. The
// attributes alias b.
func ParseMessage(b []byte) (*Message, error) {
	n, err := messageLen(b)
	if err != nil {
		return nil, err
	}
	if n != len(b) {
		return nil, malformed("message announces %d bytes, got %d", n, len(b))
	}
	attrs, err := ParseAttrs(b[HeaderLen:])
	if err != nil {
		return nil, fmt.Errorf("%s message: %w", MsgType(b[1]), err)
	}
	return &Message{
		Header: Header{Version: b[0], Type: MsgType(b[1]), Seq: binary.BigEndian.Uint16(b[2:]), Peer: binary.BigEndian.Uint32(b[4:])},
		Attrs:  attrs,
	}, nil
}

// messageLen validates the first HeaderLen bytes of a message and returns
// its total length. Like libubus it rejects a version other than 0; like
// ubusd it rejects a blob shorter than its header or longer than
// MaxMessageLen, and a blob length that is not padded (every sender writes
// a multiple of 4, see blob_raw_len).
func messageLen(b []byte) (int, error) {
	if len(b) < HeaderLen {
		return 0, malformed("message of %d bytes is shorter than the %d-byte header", len(b), HeaderLen)
	}
	if b[0] != 0 {
		return 0, malformed("message version %d, want 0", b[0])
	}
	h := binary.BigEndian.Uint32(b[8:])
	if h&^blobLenMask != 0 {
		return 0, malformed("message blob header %#08x has id or extended bits set", h)
	}
	n := int(h & blobLenMask)
	if n < blobHdrLen {
		return 0, malformed("message blob length %d < 4", n)
	}
	if n > MaxMessageLen {
		return 0, fmt.Errorf("%w: message blob of %d bytes (limit %d)", ErrTooLarge, n, MaxMessageLen)
	}
	if n%4 != 0 {
		return 0, malformed("message blob length %d is not a multiple of 4", n)
	}
	return 8 + n, nil
}

// ReadMessage reads exactly one message from r. Errors from r are returned
// as they are (io.EOF for a clean close between messages).
func ReadMessage(r io.Reader) (*Message, error) {
	var hdr [HeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n, err := messageLen(hdr[:])
	if err != nil {
		return nil, err
	}
	// n is at most 8+MaxMessageLen, checked before allocating.
	b := make([]byte, n)
	copy(b, hdr[:])
	if _, err := io.ReadFull(r, b[HeaderLen:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return ParseMessage(b)
}

// Marshal encodes the message. It fails if the blob exceeds MaxMessageLen.
func (m *Message) Marshal() ([]byte, error) {
	b := make([]byte, 8, 64)
	b[0] = m.Version
	b[1] = byte(m.Type)
	binary.BigEndian.PutUint16(b[2:], m.Seq)
	binary.BigEndian.PutUint32(b[4:], m.Peer)
	start, b := beginAttr(b)
	var err error
	for _, a := range m.Attrs {
		if b, err = AppendAttr(b, a); err != nil {
			return nil, err
		}
	}
	if len(b)-start > MaxMessageLen {
		return nil, fmt.Errorf("%w: %s message blob of %d bytes (limit %d)", ErrTooLarge, m.Type, len(b)-start, MaxMessageLen)
	}
	return endAttr(b, start, 0, false)
}

// Attr returns the payload of the last plain attribute with the given id:
// libubox's blob_parse lets the last duplicate win.
func (m *Message) Attr(id uint8) ([]byte, bool) {
	var p []byte
	found := false
	for _, a := range m.Attrs {
		if a.ID == id && !a.Extended {
			p, found = a.Data, true
		}
	}
	return p, found
}

// U32 returns a 4-byte attribute (ids, STATUS). A wrong width counts as
// absent, as in libubox.
func (m *Message) U32(id uint8) (uint32, bool) {
	p, ok := m.Attr(id)
	if !ok || len(p) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(p), true
}

// U8 returns a 1-byte attribute (ACTIVE, NO_REPLY).
func (m *Message) U8(id uint8) (uint8, bool) {
	p, ok := m.Attr(id)
	if !ok || len(p) != 1 {
		return 0, false
	}
	return p[0], true
}

// String returns a string attribute up to its first NUL, as C reads it; one
// without a terminating NUL counts as absent.
func (m *Message) String(id uint8) (string, bool) {
	p, ok := m.Attr(id)
	if !ok || len(p) == 0 || p[len(p)-1] != 0 {
		return "", false
	}
	for i, c := range p {
		if c == 0 {
			return string(p[:i]), true
		}
	}
	return "", false
}

// Data decodes the DATA attribute as table contents. A missing attribute
// gives ok == false and no error.
func (m *Message) Data() (t Table, ok bool, err error) {
	p, ok := m.Attr(AttrData)
	if !ok {
		return nil, false, nil
	}
	t, err = DecodeTable(p)
	return t, true, err
}

// Status returns the STATUS attribute as a Status.
func (m *Message) Status() (Status, bool) {
	v, ok := m.U32(AttrStatus)
	return Status(int32(v)), ok
}

// msgBuilder assembles the attributes of an outgoing message.
type msgBuilder struct {
	m   Message
	err error
}

func newMsg(t MsgType, seq uint16, peer uint32) *msgBuilder {
	return &msgBuilder{m: Message{Header: Header{Type: t, Seq: seq, Peer: peer}}}
}

func (b *msgBuilder) raw(id uint8, p []byte) *msgBuilder {
	b.m.Attrs = append(b.m.Attrs, Attr{ID: id, Data: p})
	return b
}

func (b *msgBuilder) u32(id uint8, v uint32) *msgBuilder {
	return b.raw(id, binary.BigEndian.AppendUint32(nil, v))
}

func (b *msgBuilder) str(id uint8, s string) *msgBuilder {
	return b.raw(id, append([]byte(s), 0))
}

// data adds a DATA attribute from a map, a Table, or nil (empty table).
func (b *msgBuilder) data(v any) *msgBuilder {
	var p []byte
	var err error
	switch x := v.(type) {
	case nil:
		p = []byte{}
	case Table:
		p, err = EncodeTable(x)
	case map[string]any:
		p, err = EncodeMap(x)
	default:
		err = fmt.Errorf("%w: data must be a table, got %T", ErrUnsupportedType, v)
	}
	if err != nil && b.err == nil {
		b.err = err
	}
	return b.raw(AttrData, p)
}

func (b *msgBuilder) marshal() ([]byte, error) {
	if b.err != nil {
		return nil, b.err
	}
	return b.m.Marshal()
}
