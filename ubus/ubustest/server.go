package ubustest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ipopd/ipopd/ubus"
)

// Server is a fake ubusd. Its goroutines: one accept loop while started, and
// one reader per client. Stop waits for all of them.
type Server struct {
	path string

	wg sync.WaitGroup

	// mu guards the fields below.
	mu        sync.Mutex
	ln        net.Listener
	clients   map[uint32]*client
	objects   map[uint32]*object
	listeners []eventListener
	eventSeq  uint16
	rng       *rand.Rand
}

type client struct {
	id  uint32
	nc  net.Conn
	wmu sync.Mutex
}

type object struct {
	id, typeID  uint32
	path        string // "" for anonymous objects
	owner       *client
	sig         []byte
	subscribers []uint32 // subscriber object ids
}

type eventListener struct {
	obj     uint32
	pattern string
}

// New returns a stopped server for the socket at path.
func New(path string) *Server {
	return &Server{path: path, rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
}

// Serve starts a server on a socket in a temporary directory, stops it when
// the test ends, and returns the socket path.
func Serve(t testing.TB) (string, *Server) {
	t.Helper()
	dir := t.TempDir()
	if len(dir) > 80 { // unix socket paths are limited to 108 bytes
		var err error
		if dir, err = os.MkdirTemp("", "ubus"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	s := New(filepath.Join(dir, "ubus.sock"))
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s.path, s
}

// Path returns the socket path.
func (s *Server) Path() string { return s.path }

// Start listens and serves with fresh state, as a newly started ubusd.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return errors.New("ubustest: already started")
	}
	os.Remove(s.path)
	ln, err := net.Listen("unix", s.path)
	if err != nil {
		return fmt.Errorf("ubustest: %w", err)
	}
	s.ln = ln
	s.clients = map[uint32]*client{}
	s.objects = map[uint32]*object{}
	s.listeners = nil
	s.wg.Add(1)
	go s.acceptLoop(ln)
	return nil
}

// Stop closes the socket and every client connection and waits for the
// server's goroutines; all state is forgotten, as when ubusd exits.
func (s *Server) Stop() {
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
		s.ln = nil
	}
	for _, c := range s.clients {
		c.nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	os.Remove(s.path)
}

// DropClients closes every client connection but keeps listening.
func (s *Server) DropClients() {
	s.mu.Lock()
	for _, c := range s.clients {
		c.nc.Close()
	}
	s.mu.Unlock()
}

// Clients returns how many clients are connected.
func (s *Server) Clients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clients)
}

// Inject writes raw bytes to every connected client, to test how clients
// cope with garbage.
func (s *Server) Inject(raw []byte) {
	s.mu.Lock()
	cs := make([]*client, 0, len(s.clients))
	for _, c := range s.clients {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	for _, c := range cs {
		c.wmu.Lock()
		_, _ = c.nc.Write(raw)
		c.wmu.Unlock()
	}
}

// newIDLocked returns a random id ≥ 1024 that no client or object uses.
func (s *Server) newIDLocked() uint32 {
	for {
		id := s.rng.Uint32()
		if id < 1024 {
			continue
		}
		if _, ok := s.clients[id]; ok {
			continue
		}
		if _, ok := s.objects[id]; ok {
			continue
		}
		return id
	}
}

func (s *Server) acceptLoop(ln net.Listener) {
	defer s.wg.Done()
	for {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.ln != ln { // stopped meanwhile
			s.mu.Unlock()
			nc.Close()
			return
		}
		c := &client{id: s.newIDLocked(), nc: nc}
		s.clients[c.id] = c
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveClient(c)
	}
}

func (s *Server) serveClient(c *client) {
	defer s.wg.Done()
	s.send(c, ubus.MsgHello, 0, c.id)
	for {
		// ReadMessage enforces the 1 MiB limit; ubusd drops such a client.
		m, err := ubus.ReadMessage(c.nc)
		if err != nil {
			break
		}
		s.handle(c, m)
	}
	c.nc.Close()
	s.disconnect(c)
}

// send writes one message made of the given attributes to c.
func (s *Server) send(c *client, t ubus.MsgType, seq uint16, peer uint32, attrs ...ubus.Attr) {
	m := &ubus.Message{Header: ubus.Header{Type: t, Seq: seq, Peer: peer}, Attrs: attrs}
	s.sendMsg(c, m)
}

func (s *Server) sendMsg(c *client, m *ubus.Message) {
	b, err := m.Marshal()
	if err != nil {
		return // cannot happen for messages built from valid input
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, _ = c.nc.Write(b)
}

func u32(id uint8, v uint32) ubus.Attr {
	return ubus.Attr{ID: id, Data: binary.BigEndian.AppendUint32(nil, v)}
}

func str(id uint8, v string) ubus.Attr {
	return ubus.Attr{ID: id, Data: append([]byte(v), 0)}
}

func status(st ubus.Status) ubus.Attr { return u32(ubus.AttrStatus, uint32(st)) }

func (s *Server) reply(c *client, m *ubus.Message, st ubus.Status) {
	s.send(c, ubus.MsgStatus, m.Seq, m.Peer, status(st))
}

func (s *Server) handle(c *client, m *ubus.Message) {
	switch m.Type {
	case ubus.MsgPing:
		s.send(c, ubus.MsgData, m.Seq, m.Peer, m.Attrs...)
		s.reply(c, m, ubus.StatusOK)
	case ubus.MsgLookup:
		s.lookup(c, m)
	case ubus.MsgAddObject:
		s.addObject(c, m)
	case ubus.MsgRemoveObject:
		s.removeObject(c, m)
	case ubus.MsgInvoke:
		s.invoke(c, m)
	case ubus.MsgStatus, ubus.MsgData:
		s.response(c, m)
	case ubus.MsgSubscribe, ubus.MsgUnsubscribe:
		s.subscribe(c, m)
	case ubus.MsgNotify:
		s.notify(c, m)
	default:
		s.reply(c, m, ubus.StatusInvalidCommand)
	}
}

func (s *Server) lookup(c *client, m *ubus.Message) {
	path, hasPath := m.String(ubus.AttrObjPath)
	if hasPath && path == "" {
		s.reply(c, m, ubus.StatusInvalidArgument)
		return
	}
	prefix, isPrefix := strings.CutSuffix(path, "*")
	s.mu.Lock()
	var found []*object
	for _, o := range s.objects {
		if o.path == "" || o.typeID == 0 {
			continue // anonymous and untyped objects are never listed
		}
		if !hasPath || (isPrefix && strings.HasPrefix(o.path, prefix)) || o.path == path {
			found = append(found, o)
		}
	}
	s.mu.Unlock()
	if hasPath && !isPrefix && len(found) == 0 {
		s.reply(c, m, ubus.StatusNotFound)
		return
	}
	slices.SortFunc(found, func(a, b *object) int { return strings.Compare(a.path, b.path) })
	for _, o := range found {
		s.send(c, ubus.MsgData, m.Seq, m.Peer, str(ubus.AttrObjPath, o.path), u32(ubus.AttrObjID, o.id),
			u32(ubus.AttrObjType, o.typeID), ubus.Attr{ID: ubus.AttrSignature, Data: o.sig})
	}
	s.reply(c, m, ubus.StatusOK)
}

func (s *Server) addObject(c *client, m *ubus.Message) {
	path, hasPath := m.String(ubus.AttrObjPath)
	sig, hasSig := m.Attr(ubus.AttrSignature)
	if hasSig {
		if _, err := ubus.DecodeTable(sig); err != nil {
			s.reply(c, m, ubus.StatusInvalidArgument)
			return
		}
	}
	s.mu.Lock()
	if hasPath {
		for _, o := range s.objects {
			if o.path == path {
				s.mu.Unlock()
				s.reply(c, m, ubus.StatusInvalidArgument)
				return
			}
		}
	}
	o := &object{id: s.newIDLocked(), path: path, owner: c, sig: slices.Clone(sig)}
	s.objects[o.id] = o
	attrs := []ubus.Attr{u32(ubus.AttrObjID, o.id)}
	if hasSig {
		o.typeID = s.newIDLocked()
		attrs = append(attrs, u32(ubus.AttrObjType, o.typeID))
	}
	s.mu.Unlock()
	s.send(c, ubus.MsgData, m.Seq, m.Peer, attrs...)
	s.reply(c, m, ubus.StatusOK)
	if hasPath {
		s.broadcast(c, "ubus.object.add", ubus.Table{{Name: "id", Value: int32(o.id)}, {Name: "path", Value: path}})
	}
}

func (s *Server) removeObject(c *client, m *ubus.Message) {
	id, _ := m.U32(ubus.AttrObjID)
	s.mu.Lock()
	o := s.objects[id]
	switch {
	case o == nil:
		s.mu.Unlock()
		s.reply(c, m, ubus.StatusNotFound)
		return
	case o.owner != c:
		s.mu.Unlock()
		s.reply(c, m, ubus.StatusPermissionDenied)
		return
	}
	s.mu.Unlock()
	s.dropObject(o)
	s.send(c, ubus.MsgData, m.Seq, m.Peer, u32(ubus.AttrObjID, id))
	s.reply(c, m, ubus.StatusOK)
}

// disconnect forgets a client and everything it owned.
func (s *Server) disconnect(c *client) {
	s.mu.Lock()
	if s.clients[c.id] == c {
		delete(s.clients, c.id)
	}
	var owned []*object
	for _, o := range s.objects {
		if o.owner == c {
			owned = append(owned, o)
		}
	}
	s.mu.Unlock()
	for _, o := range owned {
		s.dropObject(o)
	}
}
