package transport

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"errors"
	"fmt"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/ciphersuite"
	"github.com/pion/dtls/v3/pkg/crypto/prf"
	"github.com/pion/dtls/v3/pkg/protocol"
	"github.com/pion/dtls/v3/pkg/protocol/alert"
	"github.com/pion/dtls/v3/pkg/protocol/recordlayer"
)

// The control channel after the handshake. pion's dtls.Conn keeps two
// goroutines, an 8 KiB read buffer, its handshake transcript and a
// per-read deadline goroutine for as long as the connection lives, and
// the session needs a third goroutine to read it: about 75 KiB per peer,
// more than issue 11's 32 KiB budget for the whole daemon. Once both ends
// finished the handshake (the peer's Hello proves it), the transport takes
// the session's DTLS record layer over: pion's Conn is closed without a
// word to the peer, and its keys and record counters carry on here, with
// pion's own record cipher (package ciphersuite). On the wire nothing
// changes: the same DTLS 1.2 records with Connection IDs (RFC 9146), so a
// peer that still reads them with pion sees no difference. An idle
// session then costs no goroutine; one starts when a control message
// arrives and ends when the session's inbox is empty.

// recordCipher is what package ciphersuite's GCM and ChaCha20Poly1305 do.
type recordCipher interface {
	Encrypt(pkt *recordlayer.RecordLayer, raw []byte) ([]byte, error)
	Decrypt(h recordlayer.Header, in []byte) ([]byte, error)
}

// ctlChannel is a session's DTLS record layer once the transport runs it.
// Its cipher is pion's own (package ciphersuite), so that records match
// what pion's Conn made. It is made once per session, not per record:
// each of pion's ciphers holds a sync.Pool, which the runtime keeps (and
// the cipher with it) for two collections after its last use.
type ctlChannel struct {
	cipher    recordCipher
	localCID  []byte // the CID records to us carry
	remoteCID []byte // the CID records to the peer carry
	epoch     uint16

	seq    uint64    // next sequence number to send; guarded by session.ctlMu
	replay ctlReplay // guarded by vconn.mu
}

// dtlsSnapshot is the part of pion's exported connection state (State.
// MarshalBinary, a gob of its serializedState) that the record layer needs.
// gob matches fields by name; a pion release that renamed them makes
// newCtlChannel fail, and the session then keeps pion's Conn (see
// session.takeOver), so nothing breaks but the memory saving.
type dtlsSnapshot struct {
	RemoteSequenceNumber                  uint64 // one past the newest record accepted
	LocalEpoch, RemoteEpoch               uint16
	LocalRandom, RemoteRandom             [32]byte
	CipherSuiteID                         uint16
	MasterSecret                          []byte
	SequenceNumber                        uint64 // next local sequence number of LocalEpoch
	LocalConnectionID, RemoteConnectionID []byte
	IsClient                              bool
}

func snapshot(st dtls.State) (dtlsSnapshot, error) {
	b, err := st.MarshalBinary()
	if err != nil {
		return dtlsSnapshot{}, fmt.Errorf("export DTLS state: %w", err)
	}
	defer clear(b) // it holds the master secret
	var s dtlsSnapshot
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&s); err != nil {
		return dtlsSnapshot{}, fmt.Errorf("decode DTLS state: %w", err)
	}
	return s, nil
}

// errNoTakeover: the DTLS state is not one this record layer can carry on.
var errNoTakeover = errors.New("DTLS state cannot be taken over")

// newCtlChannel derives the record keys of an established session from
// its state, as pion's cipher suites do (RFC 5246 section 6.3).
func newCtlChannel(s dtlsSnapshot) (*ctlChannel, error) {
	switch {
	case len(s.MasterSecret) != 48:
		return nil, fmt.Errorf("%w: master secret of %d bytes", errNoTakeover, len(s.MasterSecret))
	case s.LocalEpoch != 1 || s.RemoteEpoch != 1:
		return nil, fmt.Errorf("%w: epochs %d/%d", errNoTakeover, s.LocalEpoch, s.RemoteEpoch)
	case len(s.LocalConnectionID) != cidLen || len(s.RemoteConnectionID) == 0:
		return nil, fmt.Errorf("%w: no connection IDs", errNoTakeover)
	case s.SequenceNumber > recordlayer.MaxSequenceNumber:
		return nil, fmt.Errorf("%w: sequence numbers used up", errNoTakeover)
	}
	var keyLen, ivLen int
	switch dtls.CipherSuiteID(s.CipherSuiteID) {
	case dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:
		keyLen, ivLen = 16, 4
	case dtls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256:
		keyLen, ivLen = 32, 12
	default:
		return nil, fmt.Errorf("%w: cipher suite %#04x", errNoTakeover, s.CipherSuiteID)
	}
	clientRandom, serverRandom := s.RemoteRandom[:], s.LocalRandom[:]
	if s.IsClient {
		clientRandom, serverRandom = s.LocalRandom[:], s.RemoteRandom[:]
	}
	k, err := prf.GenerateEncryptionKeys(s.MasterSecret, clientRandom, serverRandom, 0, keyLen, ivLen, sha256.New)
	if err != nil {
		return nil, fmt.Errorf("record keys: %w", err)
	}
	localKey, localIV, remoteKey, remoteIV := k.ServerWriteKey, k.ServerWriteIV, k.ClientWriteKey, k.ClientWriteIV
	if s.IsClient {
		localKey, localIV, remoteKey, remoteIV = k.ClientWriteKey, k.ClientWriteIV, k.ServerWriteKey, k.ServerWriteIV
	}
	c := &ctlChannel{
		localCID:  bytes.Clone(s.LocalConnectionID),
		remoteCID: bytes.Clone(s.RemoteConnectionID),
		epoch:     s.LocalEpoch,
		seq:       s.SequenceNumber,
		replay:    newCtlReplay(s.RemoteSequenceNumber),
	}
	if keyLen == 16 {
		c.cipher, err = ciphersuite.NewGCM(localKey, localIV, remoteKey, remoteIV)
	} else {
		c.cipher, err = ciphersuite.NewChaCha20Poly1305(localKey, localIV, remoteKey, remoteIV)
	}
	if err != nil {
		return nil, fmt.Errorf("record cipher: %w", err)
	}
	return c, nil
}

// seal makes one encrypted record of content type typ, as pion's
// Conn.processPacket does for a session with Connection IDs. The caller
// holds session.ctlMu.
func (c *ctlChannel) seal(content []byte, typ protocol.ContentType) ([]byte, error) {
	if c.seq > recordlayer.MaxSequenceNumber {
		return nil, errors.New("DTLS sequence numbers used up")
	}
	inner, err := (&recordlayer.InnerPlaintext{Content: content, RealType: typ}).Marshal()
	if err != nil {
		return nil, err
	}
	if len(inner) > 1<<14+256 {
		return nil, fmt.Errorf("control record of %d bytes", len(inner))
	}
	h := recordlayer.Header{
		Version:        protocol.Version1_2,
		ContentType:    protocol.ContentTypeConnectionID,
		Epoch:          c.epoch,
		SequenceNumber: c.seq,
		ContentLen:     uint16(len(inner)),
		ConnectionID:   c.remoteCID,
	}
	raw, err := h.Marshal()
	if err != nil {
		return nil, err
	}
	c.seq++
	return c.cipher.Encrypt(&recordlayer.RecordLayer{Header: h}, append(raw, inner...))
}

// closeNotify is the close_notify alert a closing session sends.
func (c *ctlChannel) closeNotify() ([]byte, error) {
	a, err := (&alert.Alert{Level: alert.Warning, Description: alert.CloseNotify}).Marshal()
	if err != nil {
		return nil, err
	}
	return c.seal(a, protocol.ContentTypeAlert)
}

// ctlRecord is one opened record: application data or an alert.
type ctlRecord struct {
	typ     protocol.ContentType
	content []byte
}

// open authenticates and decrypts the records of one datagram, in place
// (b is the socket buffer), and returns those worth handing on. Records
// without our Connection ID (handshake retransmissions of epoch 0), of
// another epoch, replayed or forged are dropped, as pion drops them.
// The caller holds vconn.mu.
func (c *ctlChannel) open(b []byte) []ctlRecord {
	recs, err := recordlayer.ContentAwareUnpackDatagram(b, len(c.localCID))
	if err != nil {
		return nil
	}
	var out []ctlRecord
	for _, r := range recs {
		h := recordlayer.Header{ConnectionID: make([]byte, len(c.localCID))}
		if err := h.Unmarshal(r); err != nil || h.ContentType != protocol.ContentTypeConnectionID ||
			h.Epoch != c.epoch || !bytes.Equal(h.ConnectionID, c.localCID) || !c.replay.check(h.SequenceNumber) {
			continue
		}
		plain, err := c.cipher.Decrypt(recordlayer.Header{ConnectionID: make([]byte, len(c.localCID))}, r)
		if err != nil {
			continue
		}
		var ip recordlayer.InnerPlaintext
		if err := ip.Unmarshal(plain[h.Size():]); err != nil {
			continue
		}
		c.replay.mark(h.SequenceNumber)
		switch ip.RealType {
		case protocol.ContentTypeApplicationData, protocol.ContentTypeAlert:
			out = append(out, ctlRecord{typ: ip.RealType, content: ip.Content})
		}
	}
	return out
}

// ctlReplay is a 64-record anti-replay window over DTLS sequence numbers,
// as pion's (control records are few and seldom reordered). Everything
// below the sequence number pion had reached when it handed over counts
// as seen.
type ctlReplay struct {
	next uint64 // one past the newest accepted
	seen uint64 // bit i: next-1-i was accepted
}

func newCtlReplay(next uint64) ctlReplay { return ctlReplay{next: next, seen: ^uint64(0)} }

func (r *ctlReplay) check(seq uint64) bool {
	if seq >= r.next {
		return seq <= recordlayer.MaxSequenceNumber
	}
	d := r.next - 1 - seq
	return d < 64 && r.seen&(1<<d) == 0
}

// mark records seq as accepted; call it only after the record opened.
func (r *ctlReplay) mark(seq uint64) {
	if seq >= r.next {
		shift := seq + 1 - r.next
		if shift >= 64 {
			r.seen = 0
		} else {
			r.seen <<= shift
		}
		r.seen |= 1
		r.next = seq + 1
		return
	}
	r.seen |= 1 << (r.next - 1 - seq)
}
