package group

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Renaming. The owner renames a member in allocations.json at once (the
// old name is free again from that moment), but the member's new
// certificate needs the member's public key, which the owner does not keep
// for members it issued bundles to. So the certificate is signed when the
// member next shows its old one on an authenticated session (RenamedCert):
// the daemon does that as soon as the member's link is up, or at once when
// it is up already, and pushes the certificate to the member, which
// installs it with InstallRenamed. A Renew from a member with its old name
// gets the renamed certificate too. The new certificate has the same key,
// address and pool; the old one stays valid until it expires, like a
// renewed one (its serial is kept for the revocation list). The owner
// renames itself at once (new node.crt and group.json).

// RenameResult describes a rename.
type RenameResult struct {
	NodeID  string
	OldName string
	NewName string
	// State is set when the owner renamed itself: the state with its new
	// name and certificate, to use from now on (the receiver is left as
	// it was, for other goroutines that still hold it).
	State *State
}

// Rename gives member node (a name, without case, or a node id) the name
// newName. Owner only. newName must be valid and free: not another
// member's, nor reserved by a usable invite (ErrNameTaken, saying whose);
// a revoked member cannot be renamed (ErrRevoked); an unknown node is
// ErrUnknownNode. Changing only the case of a name is allowed.
func (s *State) Rename(node, newName string, now time.Time) (RenameResult, error) {
	if s.CAKey == nil {
		return RenameResult{}, errorf(ErrNotOwner, "group: this node is not the owner of group %q; only the owner renames members", s.Name)
	}
	if now.IsZero() {
		return RenameResult{}, errorf(ErrInvalidOption, "group: rename: time is zero")
	}
	if node == "" {
		return RenameResult{}, errorf(ErrInvalidOption, "group: rename: no node name or id given")
	}
	if err := ValidateName(newName); err != nil {
		return RenameResult{}, fmt.Errorf("group: rename: new name: %w", err)
	}
	if err := checkValidity(s.CACert, fmt.Sprintf("group %q CA", s.Name), now); err != nil {
		return RenameResult{}, fmt.Errorf("group: rename: %w", err)
	}
	unlock, err := s.lockForWrite()
	if err != nil {
		return RenameResult{}, err
	}
	defer unlock()
	allocs, err := readAllocations(s.Dir, s.Layout)
	if err != nil {
		return RenameResult{}, err
	}
	recs, err := readInvites(s.Dir)
	if err != nil {
		return RenameResult{}, err
	}
	i := slices.IndexFunc(allocs, func(a Allocation) bool { return a.NodeID == node })
	if i < 0 {
		i = slices.IndexFunc(allocs, func(a Allocation) bool { return strings.EqualFold(a.Name, node) })
	}
	if i < 0 {
		return RenameResult{}, errorf(ErrUnknownNode, "group: rename: no member of group %q is named %q or has that node id", s.Name, shorten(node))
	}
	a := allocs[i]
	if a.IsRevoked() {
		return RenameResult{}, errorf(ErrRevoked, "group: rename: node %q was revoked at %s", a.Name, a.Revoked.UTC().Format(time.RFC3339))
	}
	if a.Name == newName {
		return RenameResult{}, errorf(ErrInvalidOption, "group: rename: node %q already has that name", a.Name)
	}
	if use, ok := nameTaken(newName, allocs, recs, "", now); ok && (use.member == nil || use.member.NodeID != a.NodeID) {
		return RenameResult{}, errorf(ErrNameTaken, "group: rename %q: the name %q is taken (%s)", a.Name, newName, use)
	}
	res := RenameResult{NodeID: a.NodeID, OldName: a.Name, NewName: newName}
	allocs = slices.Clone(allocs)
	allocs[i].Name = newName
	allocs[i].Cert = nil
	if a.NodeID != s.NodeID {
		allocs[i].Renamed = true
		if err := commitFiles(s.Dir, []fileSpec{{name: FileAllocations, data: encodeAllocations(allocs), perm: publicMode}}); err != nil {
			return RenameResult{}, fmt.Errorf("group: rename %q: %w", a.Name, err)
		}
		return res, nil
	}
	// The owner itself: sign now, with its own key.
	cert, err := newNodeCert(s.CACert, s.CAKey, s.Name, newName, s.Address, s.Pool, &s.NodeKey.PublicKey, now)
	if err != nil {
		return RenameResult{}, fmt.Errorf("group: rename: %w", err)
	}
	allocs[i].PastSerials = append(slices.Clone(a.PastSerials), a.Serial)
	allocs[i].Serial = serialHex(cert)
	allocs[i].IssuedAt = now.UTC()
	gspec, err := renamedGroupFile(s.Dir, newName)
	if err != nil {
		return RenameResult{}, err
	}
	files := []fileSpec{
		{name: FileNodeCert, data: certPEM(cert), perm: publicMode},
		{name: FileAllocations, data: encodeAllocations(allocs), perm: publicMode},
		gspec,
	}
	if err := commitFiles(s.Dir, files); err != nil {
		return RenameResult{}, fmt.Errorf("group: rename %q: %w", a.Name, err)
	}
	ns := *s
	ns.NodeName, ns.NodeCert = newName, cert
	res.State = &ns
	return res, nil
}

// renamedGroupFile is the commit entry that rewrites group.json with a new
// node name and every other field as it is.
func renamedGroupFile(dir, newName string) (fileSpec, error) {
	path := filepath.Join(dir, FileGroup)
	data, err := readStateFile(path)
	if err != nil {
		return fileSpec{}, err
	}
	g, _, err := parseGroupFile(data)
	if err != nil {
		return fileSpec{}, fmt.Errorf("group: %s: %w", path, err)
	}
	g.NodeName = newName
	return fileSpec{name: FileGroup, data: encodeGroupFile(g), perm: publicMode}, nil
}

// RenamedMembers returns the node ids of members renamed since their
// certificate was last issued at their own request: those that may still
// show a certificate with an old name. The daemon checks only these on
// each new session (see RenamedCert). Owner only.
func (s *State) RenamedMembers() (map[string]bool, error) {
	allocs, err := s.Allocations()
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, a := range allocs {
		if a.Renamed && !a.IsRevoked() {
			out[a.NodeID] = true
		}
	}
	return out, nil
}

// RenamedCert returns the certificate to push to a member that presented
// cert on an authenticated session, or nil when it has the name its
// allocation records. For a renamed member it returns the certificate
// signed for its new name (same key, address and pool), signing it on the
// first call and recording it in allocations.json (the presented serial
// stays listed, for revocation). Owner only; a certificate not signed by
// the CA or not recorded for that node is ErrUntrustedPeer, a revoked
// member ErrRevoked.
func (s *State) RenamedCert(cert *x509.Certificate, now time.Time) ([]byte, error) {
	if s.CAKey == nil {
		return nil, errorf(ErrNotOwner, "group: only the owner of group %q signs renamed certificates", s.Name)
	}
	if now.IsZero() {
		return nil, errorf(ErrInvalidOption, "group: rename: time is zero")
	}
	if cert == nil {
		return nil, errorf(ErrInvalidOption, "group: rename: no certificate given")
	}
	if err := cert.CheckSignatureFrom(s.CACert); err != nil {
		return nil, errorf(ErrUntrustedPeer, "group: rename: certificate %q is not signed by group %q CA", shorten(cert.Subject.CommonName), s.Name)
	}
	m, err := checkMember(cert, s.Name, s.Subnet, ErrUntrustedPeer)
	if err != nil {
		return nil, errorf(ErrUntrustedPeer, "group: rename: %w", err)
	}
	allocs, i, unlock, err := s.lockMember(m, cert)
	if err != nil {
		return nil, err
	}
	defer unlock()
	der, allocs, err := s.renamedCertLocked(allocs, i, cert, now)
	if err != nil || allocs == nil {
		return der, err
	}
	if err := commitFiles(s.Dir, []fileSpec{{name: FileAllocations, data: encodeAllocations(allocs), perm: publicMode}}); err != nil {
		return nil, fmt.Errorf("group: rename %q: %w", allocs[i].Name, err)
	}
	return der, nil
}

// renamedCertLocked is RenamedCert for allocation i, under the lock. It
// returns the certificate and, when it signed one or saw the renamed
// certificate delivered, the allocations to commit (nil when nothing
// changed).
func (s *State) renamedCertLocked(allocs []Allocation, i int, cert *x509.Certificate, now time.Time) ([]byte, []Allocation, error) {
	a := allocs[i]
	if cert.Subject.CommonName == a.Name {
		if (a.Renamed || a.Cert != nil) && serialHex(cert) == a.Serial {
			// It shows the certificate it was renamed with: delivered.
			allocs = slices.Clone(allocs)
			allocs[i].Renamed, allocs[i].Cert = false, nil
			return nil, allocs, nil
		}
		return nil, nil, nil
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !isP256(pub) {
		return nil, nil, errorf(ErrUntrustedPeer, "group: rename %q: key is not ECDSA P-256", a.Name)
	}
	cur, err := a.currentCert()
	if err != nil {
		return nil, nil, err
	}
	if cur != nil && pub.Equal(cur.PublicKey) {
		return bytes.Clone(cur.Raw), nil, nil
	}
	if err := checkValidity(s.CACert, fmt.Sprintf("group %q CA", s.Name), now); err != nil {
		return nil, nil, fmt.Errorf("group: rename: %w", err)
	}
	nc, err := newNodeCert(s.CACert, s.CAKey, s.Name, a.Name, a.Address, a.Pool, pub, now)
	if err != nil {
		return nil, nil, fmt.Errorf("group: rename %q: %w", a.Name, err)
	}
	allocs = slices.Clone(allocs)
	allocs[i].PastSerials = append(slices.Clone(a.PastSerials), a.Serial)
	allocs[i].Serial = serialHex(nc)
	allocs[i].IssuedAt = now.UTC()
	allocs[i].Cert = nc.Raw
	return bytes.Clone(nc.Raw), allocs, nil
}

// InstallRenamed installs, on a member, a certificate the owner pushed or
// answered a Renew with: signed by the group CA for this node's key, node
// id, address and pool, valid at now, not revoked, and expiring later than
// the installed one (or with it, for a new name); its name may differ from the current one (a rename),
// in which case group.json changes with node.crt in one commit. It
// returns the new state and leaves s as it was, so that goroutines that
// hold s see a consistent value; the caller swaps in the result.
// Installing the certificate already installed returns s.
func (s *State) InstallRenamed(certDER []byte, now time.Time) (*State, error) {
	if now.IsZero() {
		return nil, errorf(ErrInvalidOption, "group: install renamed certificate: time is zero")
	}
	if len(certDER) == 0 || len(certDER) > maxCertDER {
		return nil, errorf(ErrInvalidOption, "group: install renamed certificate: certificate is empty or longer than %d bytes", maxCertDER)
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return nil, errorf(ErrUntrustedPeer, "group: certificate from the owner does not parse: %w", err)
	}
	if err := cert.CheckSignatureFrom(s.CACert); err != nil {
		return nil, errorf(ErrUntrustedPeer, "group: certificate from the owner is not signed by group %q CA", s.Name)
	}
	m, err := checkMember(cert, s.Name, s.Subnet, ErrUntrustedPeer)
	if err != nil {
		return nil, errorf(ErrUntrustedPeer, "group: certificate from the owner: %w", err)
	}
	if !s.NodeKey.PublicKey.Equal(cert.PublicKey) || m.NodeID != s.NodeID || m.Address != s.Address || m.Pool != s.Pool {
		return nil, errorf(ErrUntrustedPeer, "group: certificate from the owner is for node %q (%s) at %s pool %s, not this node (%s) at %s pool %s",
			m.Name, m.NodeID, m.Address, m.Pool, s.NodeID, s.Address, s.Pool)
	}
	if err := checkValidity(cert, "certificate from the owner", now); err != nil {
		return nil, fmt.Errorf("group: %w", err)
	}
	if s.IsRevoked(cert.SerialNumber) {
		return nil, errorf(ErrRevoked, "group: certificate of node %q from the owner is revoked", m.Name)
	}
	unlock, err := s.lockForWrite()
	if err != nil {
		return nil, err
	}
	defer unlock()
	disk, err := readCert(s.Dir, FileNodeCert)
	if err != nil {
		return nil, err
	}
	if disk.Equal(cert) {
		return s, nil
	}
	// Newer expires later; a rename right after the last issue may expire
	// in the same second (validity is kept in whole seconds).
	if cert.NotAfter.Before(disk.NotAfter) || (cert.NotAfter.Equal(disk.NotAfter) && m.Name == s.NodeName) {
		return nil, errorf(ErrInvalidOption, "group: certificate from the owner expires at %s, not after the installed one (%s)",
			cert.NotAfter.UTC().Format(time.RFC3339), disk.NotAfter.UTC().Format(time.RFC3339))
	}
	files := []fileSpec{{name: FileNodeCert, data: certPEM(cert), perm: publicMode}}
	if m.Name != s.NodeName {
		gspec, err := renamedGroupFile(s.Dir, m.Name)
		if err != nil {
			return nil, err
		}
		files = append(files, gspec)
	}
	if err := commitFiles(s.Dir, files); err != nil {
		return nil, fmt.Errorf("group: install certificate from the owner: %w", err)
	}
	ns := *s
	ns.NodeName, ns.NodeCert = m.Name, cert
	return &ns, nil
}
