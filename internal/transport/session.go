package transport

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/pion/dtls/v3"

	"github.com/ipopd/ipopd/internal/wire"
)

// session is one DTLS session with a peer and the data channel keyed from
// it. Fields above mu are set before the session is published and never
// change.
type session struct {
	t          *Transport
	peer       *Peer
	vc         *vconn
	conn       *dtls.Conn
	id         Identity
	client     bool // we sent the ClientHello
	localIndex uint32
	keys       keys
	cipher     string
	created    int64         // nanotime
	done       chan struct{} // closed when the session closes
	readyC     chan struct{} // closed when the peer's Hello arrived
	readyOnce  sync.Once

	remoteIndex atomic.Uint32
	ready       atomic.Bool // the peer's Hello arrived: we can send data
	sendCounter atomic.Uint64
	fragID      atomic.Uint32
	lastRecv    atomic.Int64 // nanotime of the last authenticated packet
	lastSend    atomic.Int64 // nanotime of the last data record sent
	lastDirect  atomic.Int64 // nanotime of the last authenticated record on a direct path
	lastOnPath  atomic.Int64 // nanotime of the last authenticated record on the current path
	pathSince   atomic.Int64 // nanotime the current path was taken
	lastPing    atomic.Int64
	pingSeq     atomic.Uint64
	retireAt    atomic.Int64 // nanotime after which a replaced session closes; 0 = not replaced
	// fallback is the relayed path to go back to when the direct one
	// dies: the one the session began on, or another relay once that
	// relay went down (see reroute.go). Nil for sessions begun direct.
	fallback atomic.Pointer[path]

	// Used only by the socket reader goroutine.
	replay replayWindow
	reasm  *reassembler

	// mu guards the fields below.
	mu           sync.Mutex
	peerInstance uint64
	closeReason  string
	candidates   []netip.AddrPort // where to probe for a direct path
	probeUntil   int64            // nanotime the current punch burst ends
	lastProbe    int64

	closeOnce sync.Once
}

// readControl reads the session's control messages until it closes. One
// goroutine per session runs it.
func (s *session) readControl() {
	defer s.t.wg.Done()
	buf := make([]byte, wire.MaxMessageSize+64)
	for {
		n, err := s.conn.Read(buf)
		if err != nil {
			switch {
			case errors.Is(err, io.EOF):
				s.close("peer closed the session")
			default:
				s.close(fmt.Sprintf("read: %v", err))
			}
			return
		}
		s.lastRecv.Store(s.t.now())
		m, err := wire.Unmarshal(buf[:n])
		if err != nil {
			// A newer peer may send types we do not know: skip, keep going.
			s.t.log.Debug("control message skipped", "peer", s.id.Name, "err", err)
			continue
		}
		switch m := m.(type) {
		case *wire.Hello:
			s.t.onHello(s, m)
		case *wire.Ping:
			s.sendControl((*wire.Pong)(m))
		case *wire.Pong:
			if m.Seq == s.pingSeq.Load() {
				s.peer.rtt.Store(s.t.now() - m.Time)
			}
		case *wire.Bye:
			s.close("peer said bye: " + m.Reason)
			return
		default:
			if s.t.cfg.OnControl != nil && s.ready.Load() {
				s.t.cfg.OnControl(s.peer, m)
			}
		}
	}
}

// sendControl sends one control message; errors close the session.
func (s *session) sendControl(m any) {
	b, err := wire.Marshal(m)
	if err != nil {
		s.t.log.Error("control message not sent", "err", err)
		return
	}
	if _, err := s.conn.Write(b); err != nil {
		s.close(fmt.Sprintf("write: %v", err))
	}
}

func (s *session) sendHello() {
	s.sendControl(&wire.Hello{
		Index:    s.localIndex,
		Instance: s.t.instance,
		Name:     s.t.cfg.Self.Name,
		Version:  s.t.cfg.Version,
		MaxFrame: uint32(s.t.maxFrame),
		Roles:    s.t.roles(),
	})
}

func (s *session) ping(now int64) {
	seq := s.pingSeq.Add(1)
	s.lastPing.Store(now)
	s.sendControl(&wire.Ping{Seq: seq, Time: now})
}

// close ends the session once: it leaves the routing tables, the peer
// goes down if this was its active session, and the DTLS session is closed
// (a close_notify tells the other end at once).
func (s *session) close(reason string) {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closeReason = reason
		s.mu.Unlock()
		s.t.removeSession(s, reason)
		close(s.done)
		// Close can block on a dead path while pion flushes; it never
		// blocks the caller's routing state, which is already gone.
		_ = s.conn.Close()
	})
}

func (s *session) logAttrs() []any {
	return []any{slog.String("peer", s.id.Name), slog.String("node", s.id.NodeID), slog.String("path", s.vc.path().String())}
}

// maxPayload is the largest data record payload that fits the underlay MTU
// on the session's current path.
func (s *session) maxPayload() int {
	p := s.vc.path()
	ipHeader := 20
	if p.addr.Addr().Is6() {
		ipHeader = 40
	}
	n := s.t.underlayMTU - ipHeader - 8 - overhead
	switch {
	case p.turn:
		n -= turnOverhead
	case p.relayed():
		n -= relayHeaderLen
	}
	return n
}

// changePath moves the session to path p (records and DTLS alike).
func (s *session) changePath(p path, now int64) {
	s.vc.setPath(p)
	s.pathSince.Store(now)
	s.lastOnPath.Store(now)
}

func (s *session) readyCh() <-chan struct{} { return s.readyC }

func (s *session) markReady() {
	s.ready.Store(true)
	s.readyOnce.Do(func() { close(s.readyC) })
}
