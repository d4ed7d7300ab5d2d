package ubus

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
)

// listenerQueue is how many deliveries a listener buffers while its callback
// runs. Beyond it deliveries are dropped (and counted): the reader must not
// block, and ubusd itself drops messages for clients that fall behind.
const listenerQueue = 256

// Event is an event (from SendEvent) or a notification (from Notify)
// delivered to a Listener.
type Event struct {
	// Name is the event name, or the notification type.
	Name string
	Data map[string]any
}

// Listener receives events (ListenEvents) or notifications of one object
// (Subscribe) through an anonymous object of its own.
type Listener struct {
	c *Conn
	l *listener
}

// listener is the per-object delivery state; one goroutine per listener
// calls fn in delivery order.
type listener struct {
	id      uint32
	fn      func(Event)
	ch      chan Event
	quit    chan struct{} // closed by stop
	exited  chan struct{} // closed when the delivery goroutine returns
	gone    chan struct{} // closed when the subscription target went away
	stopped sync.Once
	goneMu  sync.Once
	dropped atomic.Uint64
}

func newListener(fn func(Event)) *listener {
	return &listener{fn: fn, ch: make(chan Event, listenerQueue), quit: make(chan struct{}),
		exited: make(chan struct{}), gone: make(chan struct{})}
}

func (l *listener) stop()       { l.stopped.Do(func() { close(l.quit) }) }
func (l *listener) targetGone() { l.goneMu.Do(func() { close(l.gone) }) }

func (l *listener) run() {
	defer close(l.exited)
	for {
		select {
		case <-l.quit:
			return
		case ev := <-l.ch:
			l.fn(ev)
		}
	}
}

// deliver runs in the reader: it queues the event without blocking and
// acknowledges it (ubusd drops acks for events; notifiers wait for them).
func (l *listener) deliver(m *Message, reply func(Status)) {
	name, _ := m.String(AttrMethod)
	data, _, err := m.Data()
	if err != nil {
		reply(StatusInvalidArgument)
		return
	}
	select {
	case l.ch <- Event{Name: name, Data: data.Map()}:
		reply(StatusOK)
	default:
		l.dropped.Add(1)
		reply(StatusNoMemory)
	}
}

// Dropped counts deliveries lost because the callback fell behind.
func (l *Listener) Dropped() uint64 { return l.l.dropped.Load() }

// Gone is closed when a subscription's target object disappeared (ubusd
// sent UNSUBSCRIBE). It never closes for an event listener.
func (l *Listener) Gone() <-chan struct{} { return l.l.gone }

// Close removes the listener's anonymous object and waits for its delivery
// goroutine. Do not call it from the callback.
func (l *Listener) Close(ctx context.Context) error {
	c := l.c
	c.mu.Lock()
	registered := c.listeners[l.l.id] == l.l
	delete(c.listeners, l.l.id)
	c.mu.Unlock()
	l.l.stop()
	<-l.l.exited
	if !registered {
		return nil // the connection ended and took the object with it
	}
	_, err := c.roundTrip(ctx, newMsg(MsgRemoveObject, 0, 0).u32(AttrObjID, l.l.id), nil)
	if err != nil && !isConnErr(err) {
		return fmt.Errorf("ubus: close listener: %w", err)
	}
	return nil
}

// addListener creates an anonymous object for l and starts its goroutine.
func (c *Conn) addListener(ctx context.Context, l *listener) error {
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return err
	}
	// Counted under mu with the connection up, so never concurrent with
	// the final wg.Wait in Close.
	c.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		l.run()
	}()
	_, err := c.roundTrip(ctx, newMsg(MsgAddObject, 0, 0), func(m *Message) {
		if id, ok := m.U32(AttrObjID); ok && l.id == 0 {
			l.id = id
			c.listeners[id] = l
		}
	})
	if err == nil && l.id == 0 {
		err = malformed("ADD_OBJECT reply without object id")
	}
	if err != nil {
		c.mu.Lock()
		if c.listeners[l.id] == l {
			delete(c.listeners, l.id)
		}
		c.mu.Unlock()
		l.stop()
		return err
	}
	return nil
}

// ListenEvents registers fn for events whose name matches pattern (a
// trailing '*' is a prefix match). ubusd never delivers events sent on the
// same connection. fn runs on the listener's own goroutine, in order.
func (c *Conn) ListenEvents(ctx context.Context, pattern string, fn func(Event)) (*Listener, error) {
	if pattern == "" || fn == nil {
		return nil, fmt.Errorf("ubus: listen: %w: need a pattern and a callback", ErrInvalidName)
	}
	l := newListener(fn)
	if err := c.addListener(ctx, l); err != nil {
		return nil, fmt.Errorf("ubus: listen %s: %w", pattern, err)
	}
	lis := &Listener{c: c, l: l}
	args := Table{{Name: "object", Value: int32(l.id)}, {Name: "pattern", Value: pattern}}
	b := newMsg(MsgInvoke, 0, ObjEvent).u32(AttrObjID, ObjEvent).str(AttrMethod, "register").data(args)
	if _, err := c.roundTrip(ctx, b, nil); err != nil {
		_ = lis.Close(ctx)
		return nil, fmt.Errorf("ubus: listen %s: %w", pattern, err)
	}
	return lis, nil
}

// SendEvent broadcasts an event. Names starting with "ubus." are reserved
// for ubusd (it answers PERMISSION_DENIED).
func (c *Conn) SendEvent(ctx context.Context, id string, data map[string]any) error {
	if id == "" || strings.HasPrefix(id, "ubus.") {
		return fmt.Errorf("ubus: send event %q: %w", id, ErrInvalidName)
	}
	if data == nil {
		data = map[string]any{}
	}
	args := Table{{Name: "id", Value: id}, {Name: "data", Value: data}}
	b := newMsg(MsgInvoke, 0, ObjEvent).u32(AttrObjID, ObjEvent).str(AttrMethod, "send").data(args)
	if _, err := c.roundTrip(ctx, b, nil); err != nil {
		return fmt.Errorf("ubus: send event %s: %w", id, err)
	}
	return nil
}

// Subscribe subscribes to the notifications of the object at path; fn
// receives each one (Event.Name is the notification type).
func (c *Conn) Subscribe(ctx context.Context, path string, fn func(Event)) (*Listener, error) {
	if fn == nil {
		return nil, fmt.Errorf("ubus: subscribe %s: %w: nil callback", path, ErrInvalidName)
	}
	info, err := c.Lookup(ctx, path)
	if err != nil {
		return nil, err
	}
	l := newListener(fn)
	if err := c.addListener(ctx, l); err != nil {
		return nil, fmt.Errorf("ubus: subscribe %s: %w", path, err)
	}
	lis := &Listener{c: c, l: l}
	b := newMsg(MsgSubscribe, 0, 0).u32(AttrObjID, l.id).u32(AttrTarget, info.ID)
	if _, err := c.roundTrip(ctx, b, nil); err != nil {
		_ = lis.Close(ctx)
		return nil, fmt.Errorf("ubus: subscribe %s: %w", path, err)
	}
	return lis, nil
}
