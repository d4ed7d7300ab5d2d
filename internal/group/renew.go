package group

import (
	"crypto/ecdsa"
	"crypto/x509"
	"fmt"
	"path/filepath"
	"slices"
	"time"
)

// Renewal. A member certificate lives a year; in the last third of its
// lifetime (about four months before it expires) the member asks the owner
// over an authenticated session for a new one with the same key, name,
// address and pool (RenewMember on the owner, InstallRenamed on the
// member). The owner renews its own with RenewSelf.

// NeedsRenewal reports whether cert is in the last third of its validity
// period (or past it) at now. A nil certificate needs renewal.
func NeedsRenewal(cert *x509.Certificate, now time.Time) bool {
	if cert == nil {
		return true
	}
	life := cert.NotAfter.Sub(cert.NotBefore)
	return !now.Before(cert.NotBefore.Add(life - life/3))
}

// RenewMember issues a new certificate for a member, on the owner.
// nodeCert is the certificate the member presented on its authenticated
// session. The new certificate has the same key, name, address and pool.
// It refuses a certificate the CA did not sign or that allocations.json
// does not record for that node (ErrUntrustedPeer), an expired one
// (ErrExpired), a revoked member (ErrRevoked), one not yet in its renewal
// window (ErrRenewalNotDue) and the owner's own (ErrInvalidOption: use
// RenewSelf). The allocation is updated in one commit; old serials are
// kept for the revocation list.
func (s *State) RenewMember(nodeCert *x509.Certificate, now time.Time) ([]byte, error) {
	if s.CAKey == nil {
		return nil, errorf(ErrNotOwner, "group: this node is not the owner of group %q; only the owner renews certificates", s.Name)
	}
	if now.IsZero() {
		return nil, errorf(ErrInvalidOption, "group: renew: time is zero")
	}
	if nodeCert == nil {
		return nil, errorf(ErrInvalidOption, "group: renew: no certificate given")
	}
	cn := shorten(nodeCert.Subject.CommonName)
	if err := nodeCert.CheckSignatureFrom(s.CACert); err != nil {
		return nil, errorf(ErrUntrustedPeer, "group: renew: certificate %q is not signed by group %q CA", cn, s.Name)
	}
	m, err := checkMember(nodeCert, s.Name, s.Subnet, ErrUntrustedPeer)
	if err != nil {
		return nil, errorf(ErrUntrustedPeer, "group: renew: certificate %q: %w", cn, err)
	}
	if err := checkValidity(nodeCert, fmt.Sprintf("certificate of node %q", m.Name), now); err != nil {
		return nil, fmt.Errorf("group: renew: %w (an expired member joins again with a new invite)", err)
	}
	if err := checkValidity(s.CACert, fmt.Sprintf("group %q CA", s.Name), now); err != nil {
		return nil, fmt.Errorf("group: renew: %w", err)
	}
	if m.NodeID == s.NodeID {
		return nil, errorf(ErrInvalidOption, "group: renew: %q is the owner's own node; renew it with RenewSelf", m.Name)
	}

	allocs, i, unlock, err := s.lockMember(m, nodeCert)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if s.IsRevoked(nodeCert.SerialNumber) {
		return nil, errorf(ErrRevoked, "group: renew: certificate of node %q is revoked", m.Name)
	}
	if m.Name != allocs[i].Name {
		// Renamed meanwhile: the answer is the certificate with the new
		// name, whatever the renewal window says.
		der, changed, err := s.renamedCertLocked(allocs, i, nodeCert, now)
		if err != nil || changed == nil {
			return der, err
		}
		if err := commitFiles(s.Dir, []fileSpec{{name: FileAllocations, data: encodeAllocations(changed), perm: publicMode}}); err != nil {
			return nil, fmt.Errorf("group: rename %q: %w", changed[i].Name, err)
		}
		return der, nil
	}
	if !NeedsRenewal(nodeCert, now) {
		return nil, errorf(ErrRenewalNotDue, "group: renew: certificate of node %q is not due for renewal before %s", m.Name, renewalStart(nodeCert).UTC().Format(time.RFC3339))
	}
	cert, allocs, err := s.reissue(allocs, i, nodeCert, now)
	if err != nil {
		return nil, err
	}
	if err := commitFiles(s.Dir, []fileSpec{{name: FileAllocations, data: encodeAllocations(allocs), perm: publicMode}}); err != nil {
		return nil, fmt.Errorf("group: renew %q: %w", m.Name, err)
	}
	return cert.Raw, nil
}

// renewalStart is when cert enters its renewal window.
func renewalStart(cert *x509.Certificate) time.Time {
	life := cert.NotAfter.Sub(cert.NotBefore)
	return cert.NotBefore.Add(life - life/3)
}

// memberAllocation finds the allocation that cert (described by m, with
// serial) was issued under and checks that it matches.
// lockMember takes the owner's write lock and finds member m (showing
// cert) in the allocations; unlock releases the lock, also on error.
func (s *State) lockMember(m member, cert *x509.Certificate) (allocs []Allocation, i int, unlock func(), err error) {
	unlock, err = s.lockForWrite()
	if err != nil {
		return nil, 0, nil, err
	}
	if allocs, err = readAllocations(s.Dir, s.Layout); err == nil {
		i, err = s.memberAllocation(allocs, m, serialHex(cert))
	}
	if err != nil {
		unlock()
		return nil, 0, nil, err
	}
	return allocs, i, unlock, nil
}

func (s *State) memberAllocation(allocs []Allocation, m member, serial string) (int, error) {
	// By node id: a renamed member still shows its old name.
	i := slices.IndexFunc(allocs, func(a Allocation) bool { return a.NodeID == m.NodeID })
	if i < 0 {
		return 0, errorf(ErrUntrustedPeer, "group: renew: node %q is not in %s (node id %s)", m.Name, FileAllocations, m.NodeID)
	}
	a := allocs[i]
	if a.IsRevoked() {
		return 0, errorf(ErrRevoked, "group: renew: node %q was revoked at %s", a.Name, a.Revoked.UTC().Format(time.RFC3339))
	}
	if (a.Name != m.Name && !a.Renamed) || a.Address != m.Address || a.Pool != m.Pool || !slices.Contains(a.serials(), serial) {
		return 0, errorf(ErrUntrustedPeer, "group: renew: the certificate of node %q (serial %s) is not the one %s records", m.Name, serial, FileAllocations)
	}
	return i, nil
}

// reissue signs a successor of old for allocation i and returns it with
// the updated allocations.
func (s *State) reissue(allocs []Allocation, i int, old *x509.Certificate, now time.Time) (*x509.Certificate, []Allocation, error) {
	a := allocs[i]
	pub, ok := old.PublicKey.(*ecdsa.PublicKey)
	if !ok || !isP256(pub) {
		return nil, nil, errorf(ErrUntrustedPeer, "group: renew %q: key is not ECDSA P-256", a.Name)
	}
	notAfter := now.AddDate(nodeValidityYears, 0, 0)
	if notAfter.After(s.CACert.NotAfter) {
		notAfter = s.CACert.NotAfter
	}
	if !notAfter.After(old.NotAfter) {
		why := ""
		if notAfter.Equal(s.CACert.NotAfter) {
			why = " (the group CA expires then; the group needs a new CA)"
		}
		return nil, nil, errorf(ErrRenewalNotDue, "group: renew %q: a certificate issued now would expire at %s%s, not after the current one",
			a.Name, notAfter.UTC().Format(time.RFC3339), why)
	}
	cert, err := newNodeCert(s.CACert, s.CAKey, s.Name, a.Name, a.Address, a.Pool, pub, now)
	if err != nil {
		return nil, nil, fmt.Errorf("group: renew %q: %w", a.Name, err)
	}
	allocs = slices.Clone(allocs)
	allocs[i].PastSerials = append(slices.Clone(a.PastSerials), a.Serial)
	allocs[i].Serial = serialHex(cert)
	allocs[i].IssuedAt = now.UTC()
	allocs[i].Cert = nil
	allocs[i].Renamed = false
	return cert, allocs, nil
}

// RenewSelf renews the owner's own certificate if it is due (or always,
// with force) and reports whether it did; the daemon calls it after Load
// and then daily. node.crt and allocations.json change in one commit, and
// s.NodeCert is replaced: call it from the goroutine that owns s.
func (s *State) RenewSelf(now time.Time, force bool) (bool, error) {
	if s.CAKey == nil {
		return false, errorf(ErrNotOwner, "group: renew: this node is not the owner of group %q; members renew through the owner", s.Name)
	}
	if now.IsZero() {
		return false, errorf(ErrInvalidOption, "group: renew: time is zero")
	}
	if !force && !NeedsRenewal(s.NodeCert, now) {
		return false, nil
	}
	if err := checkValidity(s.CACert, fmt.Sprintf("group %q CA", s.Name), now); err != nil {
		return false, fmt.Errorf("group: renew: %w", err)
	}
	unlock, err := s.lockForWrite()
	if err != nil {
		return false, err
	}
	defer unlock()
	disk, err := readCert(s.Dir, FileNodeCert)
	if err != nil {
		return false, err
	}
	if !disk.Equal(s.NodeCert) {
		return false, errorf(ErrCorrupt, "group: %s changed since the state was loaded; load it again", filepath.Join(s.Dir, FileNodeCert))
	}
	allocs, err := readAllocations(s.Dir, s.Layout)
	if err != nil {
		return false, err
	}
	m := member{Name: s.NodeName, NodeID: s.NodeID, Address: s.Address, Pool: s.Pool}
	i, err := s.memberAllocation(allocs, m, serialHex(s.NodeCert))
	if err != nil {
		return false, err
	}
	cert, allocs, err := s.reissue(allocs, i, s.NodeCert, now)
	if err != nil {
		return false, err
	}
	files := []fileSpec{
		{name: FileNodeCert, data: certPEM(cert), perm: publicMode},
		{name: FileAllocations, data: encodeAllocations(allocs), perm: publicMode},
	}
	if err := commitFiles(s.Dir, files); err != nil {
		return false, fmt.Errorf("group: renew: %w", err)
	}
	s.NodeCert = cert
	return true, nil
}
