package daemon

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ipopd/ipopd/internal/group"
	"github.com/ipopd/ipopd/internal/transport"
	"github.com/ipopd/ipopd/internal/wire"
)

// Renaming a member (owner), and taking a certificate with a new name
// (member).
//
// The owner renames in its state at once; the member's certificate is
// signed when the owner sees the member's old one on a session (group
// package, rename.go) and pushed to it as an unsolicited Renewed (id 0),
// at once when the member's link is up, else when it next comes up. The
// owner keeps the node ids of renamed members in memory, so that only
// their sessions cost a look at allocations.json. A member that installs
// a certificate with a new name makes a new handshake with each peer it
// reaches directly: every handshake tells the peer the name again, so
// `ipopd peers` there shows the new name at once, without the link going
// down (the newer session takes over). Peers reached through a relay see
// it at their next handshake.

// rehandshakeTimeout bounds one new handshake after a rename.
const rehandshakeTimeout = 10 * time.Second

// renames is the owner's set of renamed members not yet seen with their
// new certificate.
type renames struct {
	once sync.Once
	mu   sync.Mutex // guards ids
	ids  map[string]bool
}

// pending reports whether node id may hold a certificate with an old
// name; the set is read from the state on first use.
func (r *renames) pending(st *group.State, id string) bool {
	r.once.Do(func() {
		ids, err := st.RenamedMembers()
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.ids == nil {
			r.ids = map[string]bool{}
		}
		if err == nil {
			for k := range ids {
				r.ids[k] = true
			}
		}
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ids[id]
}

func (r *renames) set(id string, on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids == nil {
		r.ids = map[string]bool{}
	}
	if on {
		r.ids[id] = true
	} else {
		delete(r.ids, id)
	}
}

// RenameReply answers "rename".
type RenameReply struct {
	NodeID  string `json:"node_id"`
	OldName string `json:"old_name"`
	NewName string `json:"new_name"`
	// Delivered: the member had a link and was sent its new certificate
	// (or is the owner itself). Otherwise it gets it when it next
	// connects.
	Delivered bool `json:"delivered"`
}

// Rename renames a member (owner only) and delivers its new certificate
// if it is online.
func (d *Daemon) Rename(node, newName string) (RenameReply, error) {
	st := d.groupState()
	if st == nil {
		return RenameReply{}, errNotMember
	}
	if !st.Owner() {
		return RenameReply{}, errNotOwner
	}
	res, err := st.Rename(node, newName, time.Now())
	if err != nil {
		return RenameReply{}, err
	}
	d.log.Info("member renamed", "node_id", res.NodeID, "old", res.OldName, "new", res.NewName)
	reply := RenameReply{NodeID: res.NodeID, OldName: res.OldName, NewName: res.NewName}
	if res.State != nil {
		d.swapState(st, res.State, true)
		reply.Delivered = true
		return reply, nil
	}
	d.ren.set(res.NodeID, true)
	if m := d.member(); m != nil {
		if p := m.tr.Peer(res.NodeID); p != nil && p.Up() {
			reply.Delivered = d.pushRenamed(st, m, p)
		}
	}
	return reply, nil
}

// onPeerUpRenamed: the owner hands a renamed member its new certificate.
func (d *Daemon) onPeerUpRenamed(st *group.State, m *member, p *transport.Peer) {
	if st.Owner() && d.ren.pending(st, p.NodeID) {
		d.pushRenamed(st, m, p)
	}
}

// pushRenamed sends member p the certificate with its new name, if the
// session shows an old one; it reports whether one was sent.
func (d *Daemon) pushRenamed(st *group.State, m *member, p *transport.Peer) bool {
	id, ok := p.Identity()
	if !ok || len(id.CertDER) == 0 {
		return false
	}
	cert, err := id.Certificate()
	if err != nil {
		return false
	}
	der, err := st.RenamedCert(cert, time.Now())
	if err != nil {
		d.log.Warn("renamed certificate not signed", "peer", id.Name, "err", err)
		return false
	}
	if der == nil {
		// It shows its current name: done.
		d.ren.set(p.NodeID, false)
		return false
	}
	if err := m.tr.SendControl(p, &wire.Renewed{Cert: der}); err != nil {
		d.log.Warn("renamed certificate not sent; it goes out when the member next connects", "peer", id.Name, "err", err)
		return false
	}
	d.log.Info("sent a renamed member its new certificate", "peer", id.Name)
	return true
}

// installCert installs a certificate from the owner (a renewal, or a new
// name) and uses it for new handshakes; after a rename it makes them.
func (d *Daemon) installCert(der []byte, why string) error {
	st := d.groupState()
	if st == nil {
		return errNotMember
	}
	ns, err := st.InstallRenamed(der, time.Now())
	if err != nil {
		return err
	}
	if ns == st {
		return nil
	}
	renamed := ns.NodeName != st.NodeName
	d.swapState(st, ns, renamed)
	if renamed {
		d.log.Info("the owner renamed this router", "old", st.NodeName, "new", ns.NodeName)
	} else {
		d.log.Info("certificate "+why, "valid_until", ns.NodeCert.NotAfter.Format(time.RFC3339))
	}
	return nil
}

// swapState replaces the group state old (if it is still the current one)
// with ns, gives the transport its certificate and, when the name changed,
// makes new handshakes so that peers learn it.
func (d *Daemon) swapState(old, ns *group.State, renamed bool) {
	d.mu.Lock()
	if d.state != old {
		d.mu.Unlock()
		return
	}
	d.state = ns
	m := d.mem
	if m == nil {
		d.mu.Unlock()
		return
	}
	m.tr.SetCertificate(ns.TLSCertificate())
	if renamed {
		m.wg.Add(1)
		go d.rehandshake(m)
	}
	d.mu.Unlock()
}

// rehandshake makes a new session with every peer reached directly, one
// after the other (a lighthouse has many), so that each sees this
// router's new certificate.
func (d *Daemon) rehandshake(m *member) {
	defer m.wg.Done()
	n := 0
	for _, p := range m.tr.UpPeers() {
		s := p.Status()
		if s.Path != "direct" || !s.Endpoint.IsValid() {
			continue
		}
		ctx, cancel := context.WithTimeout(m.ctx, rehandshakeTimeout)
		_, err := m.tr.Connect(ctx, s.Endpoint)
		cancel()
		if m.ctx.Err() != nil {
			return
		}
		if err != nil {
			d.log.Debug("new handshake after a rename failed; the peer sees the name at its next one", "peer", s.Name, "err", err)
			continue
		}
		n++
	}
	d.log.Info("new handshakes after a rename", "peers", n)
}

// renameArgs are the arguments of "rename".
type renameArgs struct {
	Node string `json:"node"`
	Name string `json:"name"`
}

func (a renameArgs) check() error {
	if a.Node == "" || a.Name == "" {
		return badArgs{"rename needs a node (name or node id) and a new name"}
	}
	if err := group.ValidateName(a.Name); err != nil {
		return badArgs{fmt.Sprintf("new name: %v", err)}
	}
	return nil
}
