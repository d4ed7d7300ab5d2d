package transport

import (
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pion/dtls/v3"

	"github.com/ipopd/ipopd/internal/wire"
)

// Joining. A router that holds an invite but no certificate yet makes a
// DTLS session with a member, presenting a self-signed certificate for
// its new key. Such a session is a JoinSession: it never carries frames,
// is never a Peer, lives at most joinSessionLifetime, and only its control
// messages reach Config.OnJoin. The member is authenticated to the joiner
// by its certificate chain; the joiner to the member by a proof of the
// invite secret bound to this session (see group.Proof), which OnJoin
// checks.

const (
	// joinSessionLifetime bounds what an unauthenticated client can hold.
	joinSessionLifetime = 30 * time.Second
	// maxJoinSessions caps concurrent join sessions.
	maxJoinSessions = 8
	// joinExportLabel names the exported keying material a join proof covers.
	joinExportLabel = "EXPORTER-ipop-join-v1"
)

// errJoinerSession tells accept that the handshake became a join session.
var errJoinerSession = errors.New("join session")

// JoinSession is a session with a router that is joining.
type JoinSession struct {
	t       *Transport
	conn    *dtls.Conn
	vc      *vconn
	id      Identity
	cert    *x509.Certificate // the joiner's, parsed from id.CertDER
	binding []byte
	once    sync.Once
}

// joinerIdentity accepts a self-signed certificate as a joiner's: it must
// parse and be signed by its own key (which proves the joiner holds it).
func joinerIdentity(raw [][]byte) (Identity, error) {
	if len(raw) == 0 {
		return Identity{}, errors.New("no certificate")
	}
	c, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return Identity{}, err
	}
	// CheckSignatureFrom would insist on a CA; the joiner's certificate
	// only has to be signed by its own key.
	if err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
		return Identity{}, fmt.Errorf("joiner certificate is not self-signed: %w", err)
	}
	return Identity{Name: c.Subject.CommonName, CertDER: c.Raw, Serial: c.SerialNumber, Joiner: true}, nil
}

// startJoinSession runs a join session's reader; it ends when the joiner
// leaves, the lifetime runs out or the Transport closes.
func (t *Transport) startJoinSession(vc *vconn, conn *dtls.Conn, id Identity) {
	j := &JoinSession{t: t, conn: conn, vc: vc, id: id}
	j.cert, _ = id.Certificate() // joinerIdentity parsed it already
	state, ok := conn.ConnectionState()
	if ok {
		j.binding, _ = state.ExportKeyingMaterial(joinExportLabel, nil, 32)
	}
	if !t.joinLimit.allow(limitKeyOf(vc.path().key()), time.Now(), false) {
		t.stJoinLimited.Add(1)
		_ = conn.Close()
		t.dropVconn(vc)
		return
	}
	t.mu.Lock()
	if t.closed || t.joins >= maxJoinSessions || j.binding == nil || j.cert == nil {
		t.mu.Unlock()
		_ = conn.Close()
		t.dropVconn(vc)
		return
	}
	t.joins++
	t.wg.Add(1)
	t.mu.Unlock()
	t.log.Info("join session", "endpoint", vc.endpoint().String(), "name", id.Name)
	go func() {
		defer t.wg.Done()
		defer func() {
			t.mu.Lock()
			t.joins--
			t.mu.Unlock()
		}()
		timer := time.AfterFunc(joinSessionLifetime, j.Close)
		defer timer.Stop()
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			select {
			case <-t.ctx.Done():
				j.Close()
			case <-stop:
			}
		}()
		buf := make([]byte, wire.MaxMessageSize+64)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				j.Close()
				return
			}
			m, err := wire.Unmarshal(buf[:n])
			if err != nil {
				continue
			}
			t.cfg.OnJoin(j, m)
		}
	}()
}

// Name is the node name the joiner asks for (from its certificate).
func (j *JoinSession) Name() string { return j.id.Name }

// Cert is the joiner's self-signed certificate.
func (j *JoinSession) Cert() *x509.Certificate { return j.cert }

// Binding is this session's exported keying material, which the joiner's
// proof of the invite secret must cover.
func (j *JoinSession) Binding() []byte { return j.binding }

// Endpoint is where the joiner is.
func (j *JoinSession) Endpoint() string { return j.vc.endpoint().String() }

// Send sends a control message to the joiner.
func (j *JoinSession) Send(m any) error {
	b, err := wire.Marshal(m)
	if err != nil {
		return err
	}
	_, err = j.conn.Write(b)
	return err
}

// Close ends the join session.
func (j *JoinSession) Close() {
	j.once.Do(func() {
		_ = j.conn.Close()
		j.t.dropVconn(j.vc)
	})
}

// SendControl sends a control message to a peer on its active session.
func (t *Transport) SendControl(p *Peer, m any) error {
	s := p.active.Load()
	if s == nil || !s.ready.Load() {
		return ErrNotReady
	}
	b, err := wire.Marshal(m)
	if err != nil {
		return err
	}
	return s.writeControl(b)
}

// Identity returns what the peer's certificate on its active session says.
func (p *Peer) Identity() (Identity, bool) {
	s := p.active.Load()
	if s == nil {
		return Identity{}, false
	}
	return s.id, true
}

// DropIf closes every session whose peer identity matches, for example
// the sessions of a member that was just revoked. It returns how many.
func (t *Transport) DropIf(match func(Identity) bool, reason string) int {
	t.mu.Lock()
	var victims []*session
	for s := range t.sessions {
		if match(s.id) {
			victims = append(victims, s)
		}
	}
	t.mu.Unlock()
	for _, s := range victims {
		s.sendControl(&wire.Bye{Reason: reason})
		s.close(reason)
	}
	return len(victims)
}

// Join sessions per source: a joiner needs one or two; each costs the
// source a full handshake besides.
const joinRate, joinBurst = 0.2, 3

// Refused tells the transport that the joiner's request was refused: the
// refusal takes one more join from its source's budget, and, when guess
// says the joiner does not know the invite's secret (a bad proof), puts
// the source on the slow handshake and join budgets: it may try again,
// rarely, and each try costs it a full handshake. (A used, expired or
// cancelled invite is a mistake a real user makes, then tries the right
// token at once: no penalty for that.) The refusal counts in
// Stats.JoinRefused. Refused reports whether the caller should log it:
// at most once per failLogInterval per source, so a guesser cannot flood
// the log.
func (j *JoinSession) Refused(guess bool) bool {
	t := j.t
	t.stJoinRefused.Add(1)
	now := time.Now()
	k := limitKeyOf(j.vc.path().key())
	t.joinLimit.allow(k, now, false)
	if guess {
		t.hsLimit.penalize(k, now)
		t.joinLimit.penalize(k, now)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	a := j.vc.endpoint().Addr()
	if last, seen := t.joinFailLog[a]; seen && now.Sub(last) < failLogInterval {
		return false
	}
	if len(t.joinFailLog) > 1024 {
		clear(t.joinFailLog)
	}
	t.joinFailLog[a] = now
	return true
}
