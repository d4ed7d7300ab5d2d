package ubus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Object is a named ubus object served by this process. Its registration
// (id, connection) is kept apart from its definition, so that a Client can
// register the same Object again after ubusd restarts.
type Object struct {
	// Name is the object path, e.g. "ipop".
	Name string
	// Methods are the callable methods; their signatures are published so
	// that `ubus -v list` documents the arguments.
	Methods []Method

	regMu  sync.Mutex // serialises AddObject / RemoveObject of this object
	mu     sync.Mutex // guards the fields below
	conn   *Conn
	id     uint32
	typeID uint32
	active bool // ubusd reported at least one subscriber
}

// Handler serves one method call. The returned map becomes the DATA reply
// (nil: no DATA). An error that is, or wraps, a *StatusError answers with
// its code; any other error with StatusUnknownError. A panic is recovered
// and answered with StatusUnknownError. ctx is canceled when the connection
// ends.
type Handler func(ctx context.Context, req *Request) (map[string]any, error)

// Method is one method of an Object.
type Method struct {
	Name string
	// Args is the signature: argument name -> expected type. Calls whose
	// declared arguments have another type (after the lenient conversions of
	// Request.Args) are answered INVALID_ARGUMENT without calling Handler.
	// Undeclared arguments (such as the ubus_rpc_session that web brokers
	// add) are passed through untouched.
	Args    map[string]BlobType
	Handler Handler
}

// Request is one incoming call.
type Request struct {
	Object *Object
	Method string
	// Args are the arguments as plain Go values (see Table.Map), with each
	// argument the signature declares converted to its declared type:
	// TypeBool -> bool, TypeInt16/32/64 -> int16/int32/int64, TypeDouble ->
	// float64, TypeString -> string, TypeArray -> []any, TypeTable ->
	// map[string]any. A declared argument that is absent stays absent.
	Args map[string]any
	// Data is the raw argument table, exactly as received.
	Data Table
	// User and Group name the caller's uid and gid, as ubusd reports them.
	User, Group string
	// Caller is the caller's ubus client id.
	Caller uint32
}

// ID returns the object id ubusd assigned, or 0 while not registered.
func (o *Object) ID() uint32 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.id
}

// HasSubscribers reports whether ubusd said the object has subscribers.
func (o *Object) HasSubscribers() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.active
}

func (o *Object) setActive(v bool) {
	o.mu.Lock()
	o.active = v
	o.mu.Unlock()
}

// detach forgets the registration on c (the connection ended).
func (o *Object) detach(c *Conn) {
	o.mu.Lock()
	if o.conn == c {
		o.conn, o.id, o.typeID, o.active = nil, 0, 0, false
	}
	o.mu.Unlock()
}

func (o *Object) method(name string) *Method {
	for i := range o.Methods {
		if o.Methods[i].Name == name {
			return &o.Methods[i]
		}
	}
	return nil
}

// signature encodes the SIGNATURE attribute: one table per method, named
// after it, whose INT32 children give each argument's blobmsg type.
func (o *Object) signature() (Table, error) {
	sig := Table{}
	seen := map[string]bool{}
	for _, m := range o.Methods {
		if m.Name == "" || m.Handler == nil {
			return nil, fmt.Errorf("%w: method %q needs a name and a handler", ErrInvalidName, m.Name)
		}
		if seen[m.Name] {
			return nil, fmt.Errorf("%w: method %q declared twice", ErrObjectInUse, m.Name)
		}
		seen[m.Name] = true
		names := make([]string, 0, len(m.Args))
		for a, t := range m.Args {
			if t > typeLast {
				return nil, fmt.Errorf("%w: method %s argument %q has type %d", ErrUnsupportedType, m.Name, a, t)
			}
			names = append(names, a)
		}
		slices.Sort(names)
		args := Table{}
		for _, a := range names {
			args = append(args, Field{Name: a, Value: int32(m.Args[a])})
		}
		sig = append(sig, Field{Name: m.Name, Value: args})
	}
	return sig, nil
}

// AddObject registers obj on this connection. An object can be registered
// on one connection at a time. ubusd answers INVALID_ARGUMENT if the path is
// taken, or if its ACL does not let this user publish it.
func (c *Conn) AddObject(ctx context.Context, obj *Object) error {
	if obj.Name == "" {
		return fmt.Errorf("ubus: add object: %w: empty path", ErrInvalidName)
	}
	sig, err := obj.signature()
	if err != nil {
		return fmt.Errorf("ubus: add object %s: %w", obj.Name, err)
	}
	obj.regMu.Lock()
	defer obj.regMu.Unlock()
	obj.mu.Lock()
	taken := obj.conn != nil
	obj.mu.Unlock()
	if taken {
		return fmt.Errorf("ubus: add object %s: %w", obj.Name, ErrObjectInUse)
	}
	enc, err := EncodeTable(sig)
	if err != nil {
		return fmt.Errorf("ubus: add object %s: signature: %w", obj.Name, err)
	}
	b := newMsg(MsgAddObject, 0, 0).str(AttrObjPath, obj.Name).raw(AttrSignature, enc)
	// The object goes into c.objects from within the reader, as soon as its
	// id is known, so that no INVOKE can arrive before it is served.
	var id, typeID uint32
	_, err = c.roundTrip(ctx, b, func(m *Message) {
		if v, ok := m.U32(AttrObjID); ok && id == 0 {
			id = v
			typeID, _ = m.U32(AttrObjType)
			c.objects[id] = obj
			obj.mu.Lock()
			obj.conn, obj.id, obj.typeID, obj.active = c, id, typeID, false
			obj.mu.Unlock()
		}
	})
	if err == nil && id == 0 {
		err = malformed("ADD_OBJECT reply without object id")
	}
	if err != nil {
		c.mu.Lock()
		if id != 0 && c.objects[id] == obj {
			delete(c.objects, id)
		}
		c.mu.Unlock()
		obj.detach(c)
		return fmt.Errorf("ubus: add object %s: %w", obj.Name, err)
	}
	return nil
}

// RemoveObject unregisters obj from this connection.
func (c *Conn) RemoveObject(ctx context.Context, obj *Object) error {
	obj.regMu.Lock()
	defer obj.regMu.Unlock()
	obj.mu.Lock()
	id, mine := obj.id, obj.conn == c
	obj.mu.Unlock()
	if !mine {
		return fmt.Errorf("ubus: remove object %s: %w", obj.Name, ErrNotRegistered)
	}
	_, err := c.roundTrip(ctx, newMsg(MsgRemoveObject, 0, 0).u32(AttrObjID, id), nil)
	c.mu.Lock()
	delete(c.objects, id)
	c.mu.Unlock()
	obj.detach(c)
	if err != nil {
		return fmt.Errorf("ubus: remove object %s: %w", obj.Name, err)
	}
	return nil
}

// Notify sends a notification of the given type to the object's
// subscribers (NOTIFY) and waits for ubusd to accept it.
func (o *Object) Notify(ctx context.Context, typ string, data map[string]any) error {
	if typ == "" {
		return fmt.Errorf("ubus: notify %s: %w: empty type", o.Name, ErrInvalidName)
	}
	o.mu.Lock()
	c, id := o.conn, o.id
	o.mu.Unlock()
	if c == nil {
		return fmt.Errorf("ubus: notify %s: %w", o.Name, ErrNotRegistered)
	}
	b := newMsg(MsgNotify, 0, id).u32(AttrObjID, id).str(AttrMethod, typ).data(mapOrEmpty(data))
	if _, err := c.roundTrip(ctx, b, nil); err != nil {
		return fmt.Errorf("ubus: notify %s %s: %w", o.Name, typ, err)
	}
	return nil
}

func mapOrEmpty(m map[string]any) any {
	if m == nil {
		return nil
	}
	return m
}

// handleInvoke runs in the reader: it checks the call and hands it to a
// handler goroutine, or answers at once.
func (c *Conn) handleInvoke(m *Message) {
	id, _ := m.U32(AttrObjID)
	c.mu.Lock()
	obj, l := c.objects[id], c.listeners[id]
	c.mu.Unlock()
	noReply, _ := m.U8(AttrNoReply)
	reply := func(st Status) {
		if noReply == 0 && m.Peer != 0 {
			c.reply(m, id, nil, st)
		}
	}
	if l != nil {
		l.deliver(m, reply)
		return
	}
	if obj == nil {
		reply(StatusNotFound)
		return
	}
	name, ok := m.String(AttrMethod)
	if !ok {
		reply(StatusInvalidArgument)
		return
	}
	meth := obj.method(name)
	if meth == nil {
		reply(StatusMethodNotFound)
		return
	}
	data, ok, err := m.Data()
	if !ok || err != nil {
		reply(StatusInvalidArgument)
		return
	}
	select {
	case c.slots <- struct{}{}:
	default:
		reply(StatusNoMemory)
		return
	}
	req := &Request{Object: obj, Method: name, Data: data, Caller: m.Peer}
	req.User, _ = m.String(AttrUser)
	req.Group, _ = m.String(AttrGroup)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer func() { <-c.slots }()
		res, st := c.runHandler(meth, req)
		if noReply == 0 && m.Peer != 0 {
			c.reply(m, id, res, st)
		}
	}()
}

// runHandler checks the arguments against the signature and calls the
// handler, turning errors and panics into a status.
func (c *Conn) runHandler(meth *Method, req *Request) (res map[string]any, st Status) {
	defer func() {
		if recover() != nil {
			res, st = nil, StatusUnknownError
		}
	}()
	req.Args = req.Data.Map()
	for name, want := range meth.Args {
		v, ok := req.Args[name]
		if !ok {
			continue
		}
		conv, err := coerceArg(want, v)
		if err != nil {
			return nil, StatusInvalidArgument
		}
		req.Args[name] = conv
	}
	res, err := meth.Handler(c.ctx, req)
	if err != nil {
		return nil, StatusOf(err)
	}
	return res, StatusOK
}

// reply answers an INVOKE: DATA {OBJID, DATA} if there is a result, then
// STATUS {STATUS, OBJID}, both with the INVOKE's seq and peer. A result too
// large for one message is answered UNKNOWN_ERROR instead.
func (c *Conn) reply(inv *Message, id uint32, res map[string]any, st Status) {
	ctx := c.ctx
	if res != nil && st == StatusOK {
		raw, err := newMsg(MsgData, inv.Seq, inv.Peer).u32(AttrObjID, id).data(res).marshal()
		if err == nil {
			err = c.send(ctx, raw)
		}
		if errors.Is(err, ErrConnLost) {
			return
		}
		if err != nil {
			st = StatusUnknownError
		}
	}
	raw, err := newMsg(MsgStatus, inv.Seq, inv.Peer).u32(AttrStatus, uint32(st)).u32(AttrObjID, id).marshal()
	if err == nil {
		_ = c.send(ctx, raw) // a failed write ends the connection; nobody to tell
	}
}
