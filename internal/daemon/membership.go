package daemon

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipopd/ipopd/internal/group"
	"github.com/ipopd/ipopd/internal/join"
	"github.com/ipopd/ipopd/internal/transport"
	"github.com/ipopd/ipopd/internal/wire"
	"github.com/ipopd/ipopd/uci/ipopconf"
)

// Membership work that crosses the network: admitting joiners (directly
// on the owner, or forwarded to it by any member), spreading the
// revocation list, renewing certificates, and joining a group.

const (
	// renewCheckEvery: certificates live a year and renew in their last
	// third, so a daily check is plenty; it also retries a failed renewal.
	renewCheckEvery = 6 * time.Hour
	// forwardTimeout bounds waiting for the owner's answer to a forwarded
	// join; the joiner gives up on one member after 10 s.
	forwardTimeout = 8 * time.Second
	// joinTimeout bounds a join from the control API.
	joinTimeout = 45 * time.Second
)

var (
	errNotMember = errors.New("this router is not a member of a group (join one with 'ipopd join TOKEN')")
	errNotOwner  = errors.New("only the group owner can do this")
	nextID       atomic.Uint64
	pending      sync.Map // forward/renew id -> chan any
)

// onPeerUp sends a new peer our revocation list: a member that was offline
// catches up, and one that was revoked meanwhile learns it at once.
func (d *Daemon) onPeerUp(p *transport.Peer) {
	st, m := d.groupState(), d.member()
	if st == nil || m == nil {
		return
	}
	if crl := st.CRL(); crl != nil {
		_ = m.tr.SendControl(p, &wire.CRL{CRL: crl})
	}
	d.onPeerUpRenamed(st, m, p)
	d.onPeerUpPublic(m, p)
}

// onControl handles member-to-member control messages.
func (d *Daemon) onControl(p *transport.Peer, msg any) {
	st, m := d.groupState(), d.member()
	if st == nil || m == nil {
		return
	}
	if m.disc.handle(p, msg) {
		return
	}
	now := time.Now()
	switch msg := msg.(type) {
	case *wire.CRL:
		d.applyCRL(msg.CRL, p)
	case *wire.JoinForward:
		res := &wire.JoinResult{ID: msg.ID}
		if !st.Owner() {
			res.Error = "not the owner"
		} else if out, err := d.admit(st, msg.Request, msg.Binding, now); err != nil {
			res.Error = err.Error()
		} else {
			res.Result = out
		}
		_ = m.tr.SendControl(p, res)
	case *wire.JoinResult:
		deliver(msg.ID, msg)
	case *wire.Renew:
		reply := &wire.Renewed{ID: msg.ID}
		id, ok := p.Identity()
		switch {
		case !st.Owner():
			reply.Error = "not the owner"
		case !ok || len(id.CertDER) == 0:
			reply.Error = "no certificate on this session"
		default:
			var cert []byte
			leaf, err := id.Certificate()
			if err == nil {
				cert, err = st.RenewMember(leaf, now)
			}
			if err != nil {
				reply.Error = err.Error()
			} else {
				reply.Cert = cert
				d.log.Info("renewed a member's certificate", "peer", id.Name)
			}
		}
		_ = m.tr.SendControl(p, reply)
	case *wire.Renewed:
		if msg.ID != 0 {
			deliver(msg.ID, msg)
			break
		}
		// Id 0: pushed by the owner after a rename. Only the owner signs,
		// and InstallRenamed checks the certificate is this node's and
		// newer, so a replayed or foreign one changes nothing.
		if err := d.installCert(msg.Cert, "pushed"); err != nil {
			d.log.Warn("certificate from the owner not installed", "from", p.DisplayName(), "err", err)
		}
	}
}

func deliver(id uint64, msg any) {
	if ch, ok := pending.LoadAndDelete(id); ok {
		select {
		case ch.(chan any) <- msg:
		default:
		}
	}
}

// ask sends a request with an id to the owner, when a peer says it is the
// owner, else to every up peer, and returns the first answer that is not
// "not the owner" (only the owner answers for real). A lighthouse with a
// thousand links thus sends one message, not a thousand. RoleOwner is a
// claim: when the peer that makes it answers "not the owner", or says
// nothing for half the time, the request goes to every other peer too.
func (d *Daemon) ask(m *member, id uint64, req any, timeout time.Duration) (any, error) {
	ch := make(chan any, 16)
	pending.Store(id, ch)
	defer pending.Delete(id)
	all := m.tr.UpPeers()
	to := all
	for _, p := range all {
		if p.Roles()&wire.RoleOwner != 0 {
			to = []*transport.Peer{p}
			break
		}
	}
	send := func(ps []*transport.Peer, skip *transport.Peer) (sent int) {
		for _, p := range ps {
			if p != skip && m.tr.SendControl(p, req) == nil {
				sent++
			}
		}
		return sent
	}
	if send(to, nil) == 0 {
		return nil, errors.New("no link to the group owner right now")
	}
	widen := func() {
		if len(to) == 1 && len(all) > 1 {
			send(all, to[0])
			to = all
		}
	}
	half := time.NewTimer(timeout / 2)
	defer half.Stop()
	tm := time.NewTimer(timeout)
	defer tm.Stop()
	for {
		select {
		case a := <-ch:
			if isNotOwner(a) {
				pending.Store(id, ch) // deliver removed it; wait for the owner
				widen()
				continue
			}
			return a, nil
		case <-half.C:
			widen()
		case <-tm.C:
			return nil, errors.New("the group owner did not answer (is it online?)")
		}
	}
}

func isNotOwner(a any) bool {
	switch a := a.(type) {
	case *wire.JoinResult:
		return a.Error == "not the owner"
	case *wire.Renewed:
		return a.Error == "not the owner"
	}
	return false
}

// admit runs the owner's checks on a join request and signs.
func (d *Daemon) admit(st *group.State, reqBytes, binding []byte, now time.Time) ([]byte, error) {
	req, err := group.UnmarshalJoinRequest(reqBytes)
	if err != nil {
		return nil, err
	}
	res, err := st.AcceptJoin(req, binding, now)
	if err != nil {
		return nil, err
	}
	d.log.Info("admitted a new member", "name", res.Name(), "proposed", req.NodeName, "address", res.Address.String())
	return group.MarshalJoinResult(res)
}

// onJoin serves a joining router's session.
func (d *Daemon) onJoin(j *transport.JoinSession, msg any) {
	st, m := d.groupState(), d.member()
	if st == nil || m == nil {
		j.Close()
		return
	}
	switch msg := msg.(type) {
	case *wire.JoinHello:
		_ = j.Send(&wire.JoinInfo{Group: st.Name, CACert: st.CACert.Raw})
	case *wire.JoinRequest:
		reply, guess := d.joinReply(st, m, j, msg.Request)
		// Refused counts the refusal against the source's budget (a
		// guesser pays a full handshake per try, and rarely gets one)
		// and says when to log: at most once per source per interval.
		// The reason never holds the secret.
		if reply.Error != "" && j.Refused(guess) {
			d.log.Warn("join refused", "from", j.Endpoint(), "name", j.Name(), "reason", reply.Error)
		}
		_ = j.Send(reply)
	}
}

// joinReply answers a join request; guess reports a refusal for a proof
// that does not hold (the joiner does not know the invite's secret). A
// request forwarded to the owner comes back as text only: never a guess.
func (d *Daemon) joinReply(st *group.State, m *member, j *transport.JoinSession, reqBytes []byte) (reply *wire.JoinReply, guess bool) {
	req, err := group.UnmarshalJoinRequest(reqBytes)
	if err != nil {
		return &wire.JoinReply{Error: err.Error()}, false
	}
	// The key in the request must be the one the joiner proved it holds in
	// the handshake, or anyone could get a certificate for someone's key.
	pub, err := x509.MarshalPKIXPublicKey(j.Cert().PublicKey)
	if err != nil || !bytes.Equal(pub, req.PublicKey) {
		return &wire.JoinReply{Error: "the public key in the request is not the one of this session"}, false
	}
	if st.Owner() {
		out, err := d.admit(st, reqBytes, j.Binding(), time.Now())
		if err != nil {
			return &wire.JoinReply{Error: err.Error()}, errors.Is(err, group.ErrBadProof)
		}
		return &wire.JoinReply{Result: out}, false
	}
	id := nextID.Add(1)
	a, err := d.ask(m, id, &wire.JoinForward{ID: id, Request: reqBytes, Binding: j.Binding()}, forwardTimeout)
	if err != nil {
		return &wire.JoinReply{Error: err.Error()}, false
	}
	r := a.(*wire.JoinResult)
	return &wire.JoinReply{Result: r.Result, Error: r.Error}, false
}

// applyCRL takes a revocation list from a peer (or from our own revoke):
// if it is newer, drop every session of a revoked member and pass it on.
func (d *Daemon) applyCRL(der []byte, from *transport.Peer) {
	st, m := d.groupState(), d.member()
	if st == nil || m == nil {
		return
	}
	changed, err := st.ApplyCRL(der, time.Now())
	if err != nil {
		d.log.Warn("revocation list refused", "err", err)
		return
	}
	if !changed {
		return
	}
	n := m.tr.DropIf(func(id transport.Identity) bool {
		return id.Serial != nil && st.IsRevoked(id.Serial)
	}, "revoked")
	d.log.Info("revocation list updated", "sessions_dropped", n)
	for _, p := range m.tr.UpPeers() {
		if p != from {
			_ = m.tr.SendControl(p, &wire.CRL{CRL: der})
		}
	}
}

// maybeRenew asks the owner for a fresh certificate in the last part of
// this one's life; the owner renews its own.
func (d *Daemon) maybeRenew() {
	st, m := d.groupState(), d.member()
	if st == nil || m == nil || !group.NeedsRenewal(st.NodeCert, time.Now()) {
		return
	}
	if st.Owner() {
		// The owner signs its own; new handshakes use it at once.
		d.mu.Lock()
		renewed, err := st.RenewSelf(time.Now(), false)
		d.mu.Unlock()
		if err != nil {
			d.log.Warn("own certificate renewal failed; retrying later", "err", err)
		} else if renewed {
			m.tr.SetCertificate(st.TLSCertificate())
			d.log.Info("own certificate renewed", "valid_until", st.NodeCert.NotAfter.Format(time.RFC3339))
		}
		return
	}
	id := nextID.Add(1)
	a, err := d.ask(m, id, &wire.Renew{ID: id}, forwardTimeout)
	if err != nil {
		d.log.Warn("certificate renewal failed; retrying later", "err", err)
		return
	}
	r := a.(*wire.Renewed)
	if r.Error != "" {
		d.log.Warn("certificate renewal refused", "reason", r.Error)
		return
	}
	// The answer may carry a new name, if the owner renamed us meanwhile.
	if err := d.installCert(r.Cert, "renewed"); err != nil {
		d.log.Warn("renewed certificate not installed", "err", err)
	}
}

// Join joins the group of a token: only when not yet a member. On success
// the token's endpoints are added to the configuration and the member
// starts.
func (d *Daemon) Join(ctx context.Context, token, nodeName string) (*group.State, error) {
	tok, err := group.DecodeToken(token)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	if d.state != nil {
		name := d.state.Name
		d.mu.Unlock()
		return nil, fmt.Errorf("already a member of group %q: leave it first", name)
	}
	if d.joining {
		d.mu.Unlock()
		return nil, errors.New("a join is already in progress")
	}
	d.joining = true
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.joining = false
		d.mu.Unlock()
	}()
	st, err := JoinGroup(ctx, d.opts.StateDir, tok, nodeName)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.state = st
	cfg := d.cfg
	cfg.Endpoints = mergeEndpoints(cfg.Endpoints, tok.Endpoints)
	if d.opts.ConfigPath != "" {
		if err := ipopconf.Save(d.opts.ConfigPath, cfg); err != nil {
			d.log.Warn("joined, but the endpoints could not be saved to the configuration", "err", err)
		}
	}
	d.cfg = cfg
	if err := d.startMemberLocked(); err != nil {
		return st, fmt.Errorf("joined group %q, but the member did not start: %w", st.Name, err)
	}
	return st, nil
}

// JoinGroup performs a join and installs the result in dir (used by the
// daemon and by the CLI when no daemon runs).
// nodeName is the name this router proposes (empty: its host name); the
// owner decides the name (the invite's, or the proposal made unique), and
// the returned state carries it.
func JoinGroup(ctx context.Context, dir string, tok group.Token, nodeName string) (*group.State, error) {
	nodeName, err := ProposedName(nodeName)
	if err != nil {
		return nil, err
	}
	key, err := group.NewNodeKey()
	if err != nil {
		return nil, err
	}
	res, err := join.Run(ctx, tok, nodeName, key)
	if err != nil {
		return nil, err
	}
	return group.InstallJoined(dir, key, res, tok, group.InstallOptions{Now: time.Now()})
}

// ProposedName is the name a joiner proposes: name if given, else the
// host name's first label.
func ProposedName(name string) (string, error) {
	if name == "" {
		return group.DefaultNodeName()
	}
	if err := group.ValidateName(name); err != nil {
		return "", fmt.Errorf("node name: %w", err)
	}
	return name, nil
}

// JoinReply answers "join": the name is the one the owner gave, which
// differs from the proposed one when the invite named the router or the
// proposal was taken.
type JoinReply struct {
	Group    string `json:"group"`
	Name     string `json:"name"`
	Address  string `json:"address"`
	Proposed string `json:"proposed,omitempty"`
}

// Message says what happened, for people.
func (r JoinReply) Message() string {
	msg := fmt.Sprintf("joined group %q as %q, address %s", r.Group, r.Name, r.Address)
	if r.Proposed != "" && r.Proposed != r.Name {
		msg += fmt.Sprintf(" (the owner named this router; it proposed %q)", r.Proposed)
	}
	return msg
}

func mergeEndpoints(have, add []string) []string {
	out := append([]string(nil), have...)
	for _, a := range add {
		found := false
		for _, h := range have {
			if h == a {
				found = true
			}
		}
		if !found {
			out = append(out, a)
		}
	}
	return out
}

// Leave stops the member and removes this router's group state.
func (d *Daemon) Leave() error {
	d.mu.Lock()
	st := d.state
	d.mu.Unlock()
	if st == nil {
		return errNotMember
	}
	if st.Owner() {
		return errors.New("the owner cannot leave its own group: that would destroy the group CA key (remove the state directory by hand if you mean it)")
	}
	if err := d.stopMember(); err != nil {
		d.log.Warn("member stopped with errors", "err", err)
	}
	if err := group.Leave(d.opts.StateDir, false); err != nil {
		return err
	}
	d.mu.Lock()
	d.state = nil
	d.mu.Unlock()
	d.log.Info("left group", "group", st.Name)
	return nil
}

// Revoke revokes a member (owner only), drops its sessions and spreads
// the new revocation list.
func (d *Daemon) Revoke(node string) error {
	st := d.groupState()
	if st == nil {
		return errNotMember
	}
	if !st.Owner() {
		return errNotOwner
	}
	der, err := st.Revoke(node, time.Now())
	if err != nil {
		return err
	}
	d.log.Info("member revoked", "node", node)
	if m := d.member(); m != nil {
		m.tr.DropIf(func(id transport.Identity) bool {
			return id.Serial != nil && st.IsRevoked(id.Serial)
		}, "revoked")
		for _, p := range m.tr.UpPeers() {
			_ = m.tr.SendControl(p, &wire.CRL{CRL: der})
		}
	}
	return nil
}
