package transport

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/protocol"
	"github.com/pion/dtls/v3/pkg/protocol/alert"

	"github.com/ipopd/ipopd/internal/wire"
)

// session is one DTLS session with a peer and the data channel keyed from
// it. Fields above mu are set before the session is published and never
// change.
type session struct {
	t          *Transport
	peer       *Peer
	vc         *vconn
	id         Identity
	client     bool // we sent the ClientHello
	localIndex uint32
	cipher     string
	created    int64         // nanotime the handshake ended: the key's age counts from it
	rekeyAfter int64         // key age at which the client starts a rekey (jittered; rekey.go)
	done       chan struct{} // closed when the session closes
	readyC     chan struct{} // closed when the peer's Hello arrived
	readyOnce  sync.Once

	// keys is the data channel's AEADs, cleared when the session closes so
	// that nothing keeps the old key alive once a rekey retired it: a
	// record for the session after that is dropped.
	keys        atomic.Pointer[keys]
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

	// quiet is the timer goroutine's account of the session's silence
	// (redial.go).
	quiet quietState
	// rekey is the timer goroutine's account of the session's rekeys
	// (rekey.go).
	rekey rekeyState

	// Used only by the socket reader goroutine.
	replay replayWindow
	reasm  *reassembler // nil until the first fragment

	// mu guards the fields below.
	mu           sync.Mutex
	peerInstance uint64
	closeReason  string
	candidates   []netip.AddrPort // where to probe for a direct path
	probeUntil   int64            // nanotime the current punch burst ends
	lastProbe    int64

	// ctlMu guards the control channel: pion's Conn until the transport
	// takes the record layer over (control.go), then ctl. Exactly one of
	// conn and ctl is set until the session closes.
	ctlMu sync.Mutex
	conn  *dtls.Conn
	ctl   *ctlChannel

	// imu guards the inbox of control messages that arrived after the
	// takeover, and whether a goroutine is working through it.
	imu      sync.Mutex
	inbox    []any
	draining bool

	closeOnce sync.Once
}

// Control channel bounds.
const (
	// maxInbox bounds the control messages queued for one session; more
	// are dropped, as a congested network would.
	maxInbox = 64
	// maxHeld bounds the datagrams held back while the record layer
	// changes hands (a few milliseconds).
	maxHeld = 64
	// takeoverQuiet is how long pion's Conn must have nothing more to
	// give before the transport takes its record layer over.
	takeoverQuiet = 20 * time.Millisecond
	// maxTakeoverWait bounds the whole drain of pion's Conn.
	maxTakeoverWait = time.Second
)

// errRecordLayer marks the control record layer's own failures (sequence
// numbers used up, a record too large): the session cannot go on, unlike
// after a socket error.
var errRecordLayer = errors.New("control record layer")

// peerClosed is queued in a session's inbox when the peer's close_notify
// or a fatal alert arrived.
type peerClosed string

// readControl reads the session's control messages from pion's Conn
// until the peer's Hello, then hands the record layer over to the
// transport (takeOver) and ends. One goroutine per new session runs it.
func (s *session) readControl() {
	defer s.t.wg.Done()
	s.ctlMu.Lock()
	conn := s.conn
	s.ctlMu.Unlock()
	if conn == nil {
		return
	}
	buf := make([]byte, wire.MaxMessageSize+64)
	for {
		n, err := conn.Read(buf)
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
		if s.handle(m) {
			return
		}
		if _, hello := m.(*wire.Hello); hello && s.takeOver(buf) {
			return
		}
	}
}

// handle acts on one control message; true means the session closed.
func (s *session) handle(m any) bool {
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
		return true
	case peerClosed:
		s.close(string(m))
		return true
	default:
		if s.t.cfg.OnControl != nil && s.ready.Load() {
			s.t.cfg.OnControl(s.peer, m)
		}
	}
	return false
}

// takeOver moves the session's record layer from pion's Conn to the
// transport (see control.go) once the peer's Hello showed that both ends
// finished the handshake: neither will retransmit a flight, so pion's
// handshake machinery has nothing left to do. It reports whether the
// Conn is gone; if the state cannot be carried on, pion keeps the session.
func (s *session) takeOver(buf []byte) bool {
	s.ctlMu.Lock()
	conn := s.conn
	ok := conn != nil && !s.t.keepPion
	s.ctlMu.Unlock()
	if !ok {
		return false
	}
	first, ok := conn.ConnectionState()
	if !ok {
		return false
	}
	snap, serr := snapshot(first)
	var ctl *ctlChannel
	if serr == nil {
		ctl, serr = newCtlChannel(snap)
		// The record keys are derived; the master secret they came from
		// must not linger in memory (old keys are erased, rekey.go).
		clear(snap.MasterSecret)
	}
	if serr != nil {
		s.t.log.Debug("control channel stays with pion", "peer", s.id.Name, "err", serr)
		return false
	}
	vc := s.vc
	// From here datagrams wait in vc.held; what pion already holds is
	// read out (and queued in order) until it has nothing more. The drain
	// runs without ctlMu, so that pings and closes of this session do not
	// wait for it (the timer goroutine serves every session): writes
	// meanwhile still go through pion, and the final snapshot below takes
	// their sequence numbers.
	vc.mu.Lock()
	vc.holding = true
	vc.mu.Unlock()
	release := func() {
		vc.mu.Lock()
		vc.holding, vc.held = false, nil
		vc.mu.Unlock()
	}
	deadline := time.Now().Add(maxTakeoverWait)
	for time.Now().Before(deadline) {
		_ = conn.SetReadDeadline(time.Now().Add(takeoverQuiet))
		n, rerr := conn.Read(buf)
		var ne net.Error
		if rerr != nil && !(errors.As(rerr, &ne) && ne.Timeout()) {
			// The Conn ended (the peer closed it, or we did): readControl's
			// next Read says why and closes the session.
			release()
			return false
		}
		if rerr != nil {
			if b := vc.buf.Load(); b != nil && b.Size() > 0 {
				continue
			}
			break
		}
		if m, uerr := wire.Unmarshal(buf[:n]); uerr == nil {
			s.enqueue(m)
		}
	}
	s.ctlMu.Lock()
	defer s.ctlMu.Unlock()
	if s.conn != conn {
		release() // closed meanwhile
		return false
	}
	// pion's Conn goes quietly: its close_notify must not reach the peer,
	// whose session goes on.
	vc.closed.Store(true)
	_ = conn.Close()
	if last, ok := conn.ConnectionState(); ok {
		if snap, err := snapshot(last); err == nil {
			clear(snap.MasterSecret)
			ctl.seq = max(ctl.seq, snap.SequenceNumber)
			ctl.replay = newCtlReplay(max(snap.RemoteSequenceNumber, ctl.replay.next))
		}
	}
	s.conn, s.ctl = nil, ctl
	vc.mu.Lock()
	held := vc.held
	vc.held, vc.holding, vc.sess = nil, false, s
	vc.buf.Store(nil)
	for _, b := range held {
		s.receiveControl(b)
	}
	vc.mu.Unlock()
	return true
}

// receiveControl opens a datagram of the session's control channel after
// the takeover and queues what it holds. It runs on the socket reader
// goroutine with vc.mu held, so it only queues.
func (s *session) receiveControl(b []byte) {
	for _, r := range s.ctl.open(b) {
		s.lastRecv.Store(s.t.now())
		switch r.typ {
		case protocol.ContentTypeAlert:
			var a alert.Alert
			if err := a.Unmarshal(r.content); err != nil {
				continue
			}
			switch {
			case a.Description == alert.CloseNotify:
				s.enqueue(peerClosed("peer closed the session"))
			case a.Level == alert.Fatal:
				s.enqueue(peerClosed("peer sent alert: " + a.String()))
			}
		default:
			m, err := wire.Unmarshal(r.content)
			if err != nil {
				s.t.log.Debug("control message skipped", "peer", s.id.Name, "err", err)
				continue
			}
			if _, pong := m.(*wire.Pong); pong {
				s.handle(m) // a clock reading: no goroutine needed
				continue
			}
			s.enqueue(m)
		}
	}
}

// enqueue adds a control message to the session's inbox and starts a
// goroutine to work through it unless one runs: messages of one session
// are handled in order, and an idle session has no goroutine.
func (s *session) enqueue(m any) {
	s.imu.Lock()
	if len(s.inbox) >= maxInbox {
		s.imu.Unlock()
		return
	}
	s.inbox = append(s.inbox, m)
	start := !s.draining
	s.draining = true
	s.imu.Unlock()
	if start {
		// The caller is the socket reader or the session's reader, both
		// counted in wg, so Close cannot be past its Wait.
		s.t.wg.Add(1)
		go s.drain()
	}
}

func (s *session) drain() {
	defer s.t.wg.Done()
	for {
		s.imu.Lock()
		if len(s.inbox) == 0 {
			s.inbox, s.draining = nil, false
			s.imu.Unlock()
			return
		}
		m := s.inbox[0]
		s.inbox[0] = nil
		s.inbox = s.inbox[1:]
		s.imu.Unlock()
		select {
		case <-s.done:
			continue // closed: drop the rest
		default:
		}
		s.handle(m)
	}
}

// sendControl sends one control message; errors close the session.
func (s *session) sendControl(m any) {
	b, err := wire.Marshal(m)
	if err != nil {
		s.t.log.Error("control message not sent", "err", err)
		return
	}
	if err := s.writeControl(b); err != nil {
		if errors.Is(err, errRecordLayer) {
			// Not the socket: this session cannot send any more.
			s.close(err.Error())
			return
		}
		if !errors.Is(err, dtls.ErrConnClosed) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.EOF) && !errors.Is(err, ErrClosed) {
			// The socket refused the datagram (no route while an uplink
			// is down, a full buffer): the session is fine, as on the
			// data path, and dead-peer detection judges the peer.
			s.t.stSendErrors.Add(1)
			return
		}
		s.close(fmt.Sprintf("write: %v", err))
	}
}

// writeControl sends one encoded control message on whichever record
// layer the session has.
func (s *session) writeControl(b []byte) error {
	s.ctlMu.Lock()
	defer s.ctlMu.Unlock()
	switch {
	case s.ctl != nil:
		rec, err := s.ctl.seal(b, protocol.ContentTypeApplicationData)
		if err != nil {
			return fmt.Errorf("%w: %w", errRecordLayer, err)
		}
		_, err = s.t.writeTo(rec, s.vc.path())
		return err
	case s.conn != nil:
		_, err := s.conn.Write(b)
		return err
	}
	return ErrClosed
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
		// The keys go: a sender that loaded them a moment ago finishes
		// its record, nothing seals or opens with them after.
		s.keys.Store(nil)
		close(s.done)
		s.ctlMu.Lock()
		conn, ctl := s.conn, s.ctl
		s.conn = nil
		if ctl != nil {
			// A close_notify tells the peer at once, as pion's would.
			if rec, err := ctl.closeNotify(); err == nil {
				_, _ = s.t.writeTo(rec, s.vc.path())
			}
		}
		s.ctlMu.Unlock()
		if conn != nil {
			// Close can block on a dead path while pion flushes; it never
			// blocks the caller's routing state, which is already gone.
			_ = conn.Close()
		}
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
