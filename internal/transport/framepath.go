package transport

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
)

// FramePath is a sending and a receiving Transport joined back to back by
// an in-memory socket, with one ready data channel session between them
// keyed by NewDataAEAD, and no DTLS handshake: what
// arm-build/cmd/aeadbench -frame counts the instructions of, the frame path
// of the daemon's own code from SendFrame to OnFrame (framing, fragmenting,
// seal, the socket write, classification, session lookup, open, replay
// window, reassembly, delivery, OnFlush), system calls left out. The daemon
// itself never makes one.
type FramePath struct {
	tx, rx    *Transport
	peer      *Peer
	conn      *framePathConn
	from      netip.AddrPort
	nonce     [nonceLen]byte
	delivered int
	got       []byte // the last delivered frame
}

// framePathConn is the in-memory socket: writes land in preallocated
// buffers (no allocation per frame) that RoundTrip hands to the receiver.
type framePathConn struct {
	bufs [][]byte
	lens []int
	n    int
	done chan struct{}
}

func (c *framePathConn) ReadFromUDPAddrPort([]byte) (int, netip.AddrPort, error) {
	<-c.done
	return 0, netip.AddrPort{}, net.ErrClosed
}

func (c *framePathConn) WriteToUDPAddrPort(b []byte, _ netip.AddrPort) (int, error) {
	if c.n == len(c.bufs) {
		return 0, errFramePathFull
	}
	c.lens[c.n] = copy(c.bufs[c.n], b)
	c.n++
	return len(b), nil
}

func (c *framePathConn) LocalAddr() net.Addr { return &net.UDPAddr{} }
func (c *framePathConn) Close() error        { return nil }

var errFramePathFull = errors.New("frame path socket: more datagrams than one frame makes")

// framePathIndex is the receiving session's index; any value works.
const framePathIndex = 7

// NewFramePath sets up the two transports for cipher (CipherAESGCM or
// CipherChaCha20) and a 32-byte key.
func NewFramePath(cipher string, key []byte) (*FramePath, error) {
	send, err := NewDataAEAD(cipher, key)
	if err != nil {
		return nil, err
	}
	recv, err := NewDataAEAD(cipher, key)
	if err != nil {
		return nil, err
	}
	f := &FramePath{from: netip.MustParseAddrPort("192.0.2.1:6464")}
	f.conn = &framePathConn{done: make(chan struct{})}
	for range 8 { // more than the fragments of the largest frame
		f.conn.bufs = append(f.conn.bufs, make([]byte, maxDatagram))
	}
	f.conn.lens = make([]int, len(f.conn.bufs))
	mk := func(c PacketConn) (*Transport, error) {
		return New(Config{
			Conn: c,
			// Never presented: the session is set up without a handshake.
			Certificate: tls.Certificate{Certificate: [][]byte{{0}}},
			Verify:      func([][]byte) (Identity, error) { return Identity{}, errors.New("no handshakes here") },
			Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
			OnFrame: func(_ *Peer, frame []byte) {
				f.delivered++
				f.got = frame
			},
		})
	}
	if f.tx, err = mk(f.conn); err != nil {
		return nil, err
	}
	if f.rx, err = mk(&framePathConn{done: make(chan struct{})}); err != nil {
		return nil, err
	}
	ep := directPath(f.from)
	f.peer = &Peer{NodeID: "rx"}
	ss := &session{t: f.tx, peer: f.peer, vc: newVconn(f.tx, ep, true),
		done: make(chan struct{}), readyC: make(chan struct{})}
	ss.keys.Store(&keys{send: send})
	ss.remoteIndex.Store(framePathIndex)
	ss.markReady()
	f.peer.active.Store(ss)
	rs := &session{t: f.rx, peer: &Peer{NodeID: "tx"}, vc: newVconn(f.rx, ep, false),
		localIndex: framePathIndex, reasm: newReassembler(f.rx.cfg.MaxFrame + originLen), done: make(chan struct{})}
	rs.keys.Store(&keys{recv: recv})
	f.rx.idxMu.Lock()
	f.rx.byIndex[framePathIndex] = rs
	f.rx.idxMu.Unlock()
	return f, nil
}

// RoundTrip sends frame from one transport and receives it on the other,
// as the read loop would (each datagram classified and handled, then
// OnFlush), and reports an error unless exactly that frame was delivered.
// The caller compares contents if it wants to: RoundTrip itself adds no
// per-byte work to what is counted.
func (f *FramePath) RoundTrip(frame []byte) error {
	f.conn.n = 0
	f.delivered = 0
	if err := f.tx.SendFrame(f.peer, frame); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	for i := 0; i < f.conn.n; i++ {
		f.rx.handleDatagram(f.conn.bufs[i][:f.conn.lens[i]], f.from, &f.nonce)
	}
	f.rx.cfg.OnFlush()
	if f.delivered != 1 || len(f.got) != len(frame) {
		return fmt.Errorf("%d datagrams delivered %d frames (last %d bytes), want the %d-byte frame once", f.conn.n, f.delivered, len(f.got), len(frame))
	}
	return nil
}

// Delivered is the frame the last RoundTrip delivered (valid until the next).
func (f *FramePath) Delivered() []byte { return f.got }

// Close stops both transports.
func (f *FramePath) Close() {
	f.tx.Close()
	f.rx.Close()
}
