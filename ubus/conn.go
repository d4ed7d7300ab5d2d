package ubus

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// DefaultSocket is where ubusd listens on OpenWrt (UBUS_UNIX_SOCKET).
const DefaultSocket = "/var/run/ubus/ubus.sock"

// DefaultTimeout applies to requests whose context has no deadline; the
// ubus CLI waits 30 s too.
const DefaultTimeout = 30 * time.Second

// helloTimeout bounds the wait for ubusd's HELLO when the dial context has
// no deadline: ubusd sends it at once, so a silent peer is not ubusd.
const helloTimeout = 5 * time.Second

// writeTimeout bounds one message write when the caller's context has no
// deadline. ubusd reads continuously; a write that stalls this long means
// it is wedged, and the connection is dropped so that Client reconnects.
const writeTimeout = 10 * time.Second

// maxHandlers bounds concurrent INVOKE handlers per connection. The reader
// must never block (ubusd drops messages for a client that falls behind),
// so an INVOKE beyond the limit is answered NO_MEMORY at once.
const maxHandlers = 64

// Conn is one connection to ubusd. Its goroutines are: one reader, which
// runs for the connection's lifetime and never blocks on handlers; one per
// running method handler (at most maxHandlers); one per event listener or
// subscription, delivering to its callback in order. Close waits for all.
type Conn struct {
	nc       net.Conn
	clientID uint32
	ctx      context.Context // canceled when the connection ends
	cancel   context.CancelFunc
	done     chan struct{} // closed once the reader has cleaned up
	wg       sync.WaitGroup
	slots    chan struct{} // handler slots

	wmu sync.Mutex // serialises writes, so each message is one Write

	// mu guards the fields below. Lock order: Conn.mu before Object.mu.
	mu        sync.Mutex
	seq       uint16
	pending   map[reqKey]*request
	objects   map[uint32]*Object
	listeners map[uint32]*listener
	err       error // why the connection ended; nil while it is up
}

// reqKey matches replies to requests: ubusd answers with the request's seq
// and peer (7.1 in PROTOCOL.md).
type reqKey struct {
	seq  uint16
	peer uint32
}

// request is a pending request. The reader fills it in under Conn.mu.
type request struct {
	onData func(*Message) // runs in the reader with Conn.mu held
	data   []*Message
	status Status
	err    error
	done   chan struct{}
}

// Dial connects to ubusd at path (DefaultSocket if empty) and waits for its
// HELLO. ctx bounds the dial and the HELLO only.
func Dial(ctx context.Context, path string) (*Conn, error) {
	if path == "" {
		path = DefaultSocket
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("ubus: dial %s: %w", path, err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(helloTimeout)
	}
	_ = nc.SetReadDeadline(deadline)
	br := bufio.NewReader(nc)
	hello, err := ReadMessage(br)
	if err == nil && hello.Type != MsgHello {
		err = fmt.Errorf("%w: first message is %s", ErrNoHello, hello.Type)
	}
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("ubus: %s: waiting for HELLO: %w", path, err)
	}
	_ = nc.SetReadDeadline(time.Time{})
	c := &Conn{
		nc:        nc,
		clientID:  hello.Peer,
		done:      make(chan struct{}),
		slots:     make(chan struct{}, maxHandlers),
		pending:   make(map[reqKey]*request),
		objects:   make(map[uint32]*Object),
		listeners: make(map[uint32]*listener),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Add(1)
	go c.readLoop(br)
	return c, nil
}

// ClientID is the id ubusd assigned in its HELLO.
func (c *Conn) ClientID() uint32 { return c.clientID }

// Done is closed when the connection has ended (Close, EOF, or an error).
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended, or nil while it is up.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close closes the connection and waits for the reader, running handlers
// (whose context is canceled) and listener goroutines. Do not call it from a
// handler of the same connection.
func (c *Conn) Close() error {
	c.shutdown(ErrClosed)
	c.wg.Wait()
	return nil
}

// shutdown records why the connection ends and closes the socket, which
// makes the reader exit and clean up.
func (c *Conn) shutdown(why error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = why
	}
	c.mu.Unlock()
	c.cancel()
	c.nc.Close()
}

// readLoop is the only reader of the socket.
func (c *Conn) readLoop(br *bufio.Reader) {
	defer c.wg.Done()
	var err error
	for {
		var m *Message
		if m, err = ReadMessage(br); err != nil {
			break
		}
		c.dispatch(m)
	}
	c.shutdown(fmt.Errorf("%w: %w", ErrConnLost, err))
	c.mu.Lock()
	cause := c.err
	for k, r := range c.pending {
		r.err = cause
		close(r.done)
		delete(c.pending, k)
	}
	objs := c.objects
	c.objects = map[uint32]*Object{}
	for id, l := range c.listeners {
		l.stop()
		delete(c.listeners, id)
	}
	c.mu.Unlock()
	for _, o := range objs {
		o.detach(c)
	}
	close(c.done)
}

func (c *Conn) dispatch(m *Message) {
	switch m.Type {
	case MsgStatus, MsgData:
		c.handleReply(m)
	case MsgInvoke:
		c.handleInvoke(m)
	case MsgNotify:
		// ubusd tells an owner whether its object has subscribers.
		id, _ := m.U32(AttrObjID)
		active, ok := m.U8(AttrActive)
		c.mu.Lock()
		o := c.objects[id]
		c.mu.Unlock()
		if o != nil && ok {
			o.setActive(active != 0)
		}
	case MsgUnsubscribe:
		// The target of one of our subscriptions went away.
		id, _ := m.U32(AttrObjID)
		c.mu.Lock()
		l := c.listeners[id]
		c.mu.Unlock()
		if l != nil {
			l.targetGone()
		}
	}
	// HELLO, PING, MONITOR and unknown types from ubusd are ignored.
}

func (c *Conn) handleReply(m *Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := reqKey{m.Seq, m.Peer}
	r := c.pending[k]
	if r == nil {
		return // late reply to a timed-out request, or a subscriber's ack
	}
	if m.Type == MsgData {
		r.data = append(r.data, m)
		if r.onData != nil {
			r.onData(m)
		}
		return
	}
	st, ok := m.Status()
	if !ok {
		st = StatusUnknownError
	}
	r.status = st
	delete(c.pending, k)
	close(r.done)
}

// send writes one message.
func (c *Conn) send(ctx context.Context, b []byte) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(writeTimeout)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.nc.SetWriteDeadline(deadline)
	if _, err := c.nc.Write(b); err != nil {
		// A partial write breaks the framing: the connection is unusable.
		c.shutdown(fmt.Errorf("%w: write: %w", ErrConnLost, err))
		return fmt.Errorf("%w: write: %w", ErrConnLost, err)
	}
	return nil
}

// roundTrip sends a request and waits for its STATUS. A non-OK status is
// returned as *StatusError together with the DATA messages received.
func (c *Conn) roundTrip(ctx context.Context, b *msgBuilder, onData func(*Message)) ([]*Message, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	r := &request{onData: onData, done: make(chan struct{})}
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	k := reqKey{peer: b.m.Peer}
	for {
		c.seq++
		k.seq = c.seq
		if _, busy := c.pending[k]; k.seq != 0 && !busy {
			break
		}
	}
	c.pending[k] = r
	c.mu.Unlock()
	b.m.Seq = k.seq
	raw, err := b.marshal()
	if err == nil {
		err = c.send(ctx, raw)
	}
	if err != nil {
		c.forget(k, r)
		return nil, err
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		c.forget(k, r)
		select {
		case <-r.done: // completed while we gave up: use the result
		default:
			return nil, fmt.Errorf("%s: %w: %w", b.m.Type, &StatusError{Code: StatusTimeout}, ctx.Err())
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if r.status != StatusOK {
		return r.data, &StatusError{Code: r.status}
	}
	return r.data, nil
}

func (c *Conn) forget(k reqKey, r *request) {
	c.mu.Lock()
	if c.pending[k] == r {
		delete(c.pending, k)
	}
	c.mu.Unlock()
}

// Ping sends a PING and waits for ubusd's answer: a cheap liveness check.
func (c *Conn) Ping(ctx context.Context) error {
	_, err := c.roundTrip(ctx, newMsg(MsgPing, 0, 0), nil)
	if err != nil {
		return fmt.Errorf("ubus: ping: %w", err)
	}
	return nil
}

// isConnErr tells connection-level failures from ubus statuses.
func isConnErr(err error) bool {
	return errors.Is(err, ErrConnLost) || errors.Is(err, ErrClosed)
}
