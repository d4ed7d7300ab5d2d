package ubus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Backoff bounds for Client's reconnect loop. libubus retries every second;
// starting lower lets a daemon that starts together with ubusd register
// quickly, and the cap keeps a router without ubusd nearly idle.
const (
	DefaultMinBackoff = 250 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Second
)

// ClientOptions tunes a Client. The zero value is usable.
type ClientOptions struct {
	// Path of the ubusd socket; DefaultSocket if empty.
	Path string
	// MinBackoff and MaxBackoff bound the wait between connection attempts
	// (doubling from min to max).
	MinBackoff, MaxBackoff time.Duration
	// OnError, if set, is told about failed connection attempts and failed
	// re-registrations; the Client keeps trying either way.
	OnError func(error)
}

// Client keeps a connection to ubusd up: it retries with backoff while no
// ubusd is there, and after every (re)connect registers all its objects
// again (ubusd forgets them, and gives them new ids, when it restarts).
// One goroutine runs the loop; Close stops and waits for it.
type Client struct {
	opts   ClientOptions
	cancel context.CancelFunc
	exited chan struct{}

	connected atomic.Bool

	// regMu serialises registration: held while a new connection registers
	// the objects, and by AddObject, so no object is missed or added twice.
	regMu   sync.Mutex
	objects []*Object
	conn    *Conn // current connection; nil while disconnected
}

// NewClient starts a Client. It runs until ctx is done or Close is called.
func NewClient(ctx context.Context, opts ClientOptions) *Client {
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(DefaultMaxBackoff, opts.MinBackoff)
	}
	ctx, cancel := context.WithCancel(ctx)
	c := &Client{opts: opts, cancel: cancel, exited: make(chan struct{})}
	go c.run(ctx)
	return c
}

// Close stops the Client, closes its connection and waits for it.
func (c *Client) Close() error {
	c.cancel()
	<-c.exited
	return nil
}

// Connected reports whether the Client has a connection with all objects
// registered.
func (c *Client) Connected() bool { return c.connected.Load() }

// WaitConnected waits until the Client is connected or ctx is done.
func (c *Client) WaitConnected(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for !c.Connected() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("ubus: wait for ubusd: %w", ctx.Err())
		case <-c.exited:
			return ErrClosed
		case <-t.C:
		}
	}
	return nil
}

func (c *Client) report(err error) {
	if c.opts.OnError != nil {
		c.opts.OnError(err)
	}
}

// run is the reconnect loop: dial, register, wait for the end, repeat.
func (c *Client) run(ctx context.Context) {
	defer close(c.exited)
	backoff := c.opts.MinBackoff
	for ctx.Err() == nil {
		conn, err := Dial(ctx, c.opts.Path)
		if err != nil {
			c.report(err)
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(backoff*2, c.opts.MaxBackoff)
			continue
		}
		backoff = c.opts.MinBackoff
		c.regMu.Lock()
		for _, o := range c.objects {
			if err := conn.AddObject(ctx, o); err != nil {
				c.report(err)
			}
		}
		c.conn = conn
		c.regMu.Unlock()
		c.connected.Store(conn.Err() == nil)
		select {
		case <-conn.Done():
			c.report(conn.Err())
		case <-ctx.Done():
		}
		c.connected.Store(false)
		c.regMu.Lock()
		c.conn = nil
		c.regMu.Unlock()
		conn.Close()
		if ctx.Err() == nil && !sleep(ctx, c.opts.MinBackoff) {
			return
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// current returns the live connection or ErrNotConnected.
func (c *Client) current() (*Conn, error) {
	c.regMu.Lock()
	conn := c.conn
	c.regMu.Unlock()
	if conn == nil {
		return nil, ErrNotConnected
	}
	return conn, nil
}

// AddObject adds obj to the objects the Client keeps registered. When
// connected it registers it at once and returns ubusd's answer; a status
// error (such as INVALID_ARGUMENT for a taken path) drops the object again.
// When not connected it returns nil and the object is registered on connect.
func (c *Client) AddObject(ctx context.Context, obj *Object) error {
	c.regMu.Lock()
	defer c.regMu.Unlock()
	if slices.Contains(c.objects, obj) {
		return fmt.Errorf("ubus: add object %s: %w", obj.Name, ErrObjectInUse)
	}
	if _, err := obj.signature(); err != nil || obj.Name == "" {
		if err == nil {
			err = ErrInvalidName
		}
		return fmt.Errorf("ubus: add object %q: %w", obj.Name, err)
	}
	if c.conn != nil {
		err := c.conn.AddObject(ctx, obj)
		var se *StatusError
		if errors.As(err, &se) || errors.Is(err, ErrObjectInUse) {
			return err
		}
		// Connection trouble: the reconnect registers it.
	}
	c.objects = append(c.objects, obj)
	return nil
}

// RemoveObject stops keeping obj registered and unregisters it.
func (c *Client) RemoveObject(ctx context.Context, obj *Object) error {
	c.regMu.Lock()
	defer c.regMu.Unlock()
	i := slices.Index(c.objects, obj)
	if i < 0 {
		return fmt.Errorf("ubus: remove object %s: %w", obj.Name, ErrNotRegistered)
	}
	c.objects = slices.Delete(c.objects, i, i+1)
	if c.conn == nil {
		return nil
	}
	if err := c.conn.RemoveObject(ctx, obj); err != nil && !isConnErr(err) && !errors.Is(err, ErrNotRegistered) {
		return err
	}
	return nil
}

// Call looks up obj and invokes method on the current connection.
func (c *Client) Call(ctx context.Context, obj, method string, args map[string]any) (map[string]any, error) {
	conn, err := c.current()
	if err != nil {
		return nil, fmt.Errorf("ubus: call %s %s: %w", obj, method, err)
	}
	return conn.Call(ctx, obj, method, args)
}

// SendEvent sends an event on the current connection.
func (c *Client) SendEvent(ctx context.Context, id string, data map[string]any) error {
	conn, err := c.current()
	if err != nil {
		return fmt.Errorf("ubus: send event %s: %w", id, err)
	}
	return conn.SendEvent(ctx, id, data)
}

// Lookup looks up an object on the current connection.
func (c *Client) Lookup(ctx context.Context, path string) (*ObjectInfo, error) {
	conn, err := c.current()
	if err != nil {
		return nil, fmt.Errorf("ubus: lookup %s: %w", path, err)
	}
	return conn.Lookup(ctx, path)
}
