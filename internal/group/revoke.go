package group

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"
)

// maxCRLSize bounds a revocation list taken from a peer or a file; one
// entry is about 40 bytes, so this holds some 25000 revoked certificates.
const maxCRLSize = 1 << 20

// revocations is one parsed, verified revocation list. It is never changed
// after it is built; a newer list replaces the whole value.
type revocations struct {
	number  *big.Int
	der     []byte
	serials map[string]bool // hex of the revoked serial numbers
}

// crlHolder holds the current revocation list of a State. A pointer to it
// is shared by copies of the State, and the atomic pointer lets VerifyPeer
// read while ApplyCRL swaps in a newer list.
type crlHolder struct {
	cur atomic.Pointer[revocations]
}

func (h *crlHolder) get() *revocations {
	if h == nil {
		return nil
	}
	return h.cur.Load()
}

func (h *crlHolder) set(r *revocations) {
	if h != nil {
		h.cur.Store(r)
	}
}

// parseCRL parses and verifies a revocation list of the CA. Errors match
// ErrBadCRL.
func parseCRL(der []byte, ca *x509.Certificate) (*revocations, error) {
	if len(der) == 0 {
		return nil, errorf(ErrBadCRL, "revocation list is empty")
	}
	if len(der) > maxCRLSize {
		return nil, errorf(ErrBadCRL, "revocation list is %d bytes; the limit is %d", len(der), maxCRLSize)
	}
	rl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, errorf(ErrBadCRL, "revocation list does not parse: %w", err)
	}
	if err := rl.CheckSignatureFrom(ca); err != nil {
		return nil, errorf(ErrBadCRL, "revocation list is not signed by the group CA %q: %w", shorten(ca.Subject.CommonName), err)
	}
	if rl.Number == nil || rl.Number.Sign() <= 0 {
		return nil, errorf(ErrBadCRL, "revocation list has no positive CRL number")
	}
	r := &revocations{number: rl.Number, der: bytes.Clone(der), serials: make(map[string]bool, len(rl.RevokedCertificateEntries))}
	for _, e := range rl.RevokedCertificateEntries {
		if e.SerialNumber == nil || e.SerialNumber.Sign() <= 0 {
			return nil, errorf(ErrBadCRL, "revocation list holds an invalid serial number")
		}
		r.serials[hex.EncodeToString(e.SerialNumber.Bytes())] = true
	}
	return r, nil
}

// readCRL reads crl.der from dir: nil if there is none.
func readCRL(dir string, ca *x509.Certificate) (*revocations, error) {
	path := filepath.Join(dir, FileCRL)
	data, err := readFileLimited(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, errorf(ErrCorrupt, "group: %w", err)
	}
	r, err := parseCRL(data, ca)
	if err != nil {
		return nil, errorf(ErrCorrupt, "group: %s: %w", path, err)
	}
	return r, nil
}

// CRL returns the current revocation list (DER), or nil if there is none.
func (s *State) CRL() []byte {
	if r := s.crl.get(); r != nil {
		return bytes.Clone(r.der)
	}
	return nil
}

// CRLNumber returns the number of the current revocation list, 0 if none.
func (s *State) CRLNumber() *big.Int {
	if r := s.crl.get(); r != nil {
		return new(big.Int).Set(r.number)
	}
	return new(big.Int)
}

// IsRevoked reports whether the current revocation list lists serial.
func (s *State) IsRevoked(serial *big.Int) bool {
	r := s.crl.get()
	return r != nil && serial != nil && r.serials[hex.EncodeToString(serial.Bytes())]
}

// Revoke throws a member out of the group: it marks the member revoked in
// allocations.json and signs a new revocation list (CRL number one higher)
// that lists the serials of every certificate ever issued to every revoked
// member, renewed ones included. node is a node name or node id. It
// returns the new list (DER) for the caller to spread to all members.
// Owner only (ErrNotOwner); an unknown node is ErrUnknownNode, a node
// already revoked ErrRevoked, the owner's own node ErrInvalidOption.
// allocations.json and crl.der change in one commit, or not at all.
func (s *State) Revoke(node string, now time.Time) ([]byte, error) {
	if s.CAKey == nil {
		return nil, errorf(ErrNotOwner, "group: this node is not the owner of group %q; only the owner can revoke members", s.Name)
	}
	if now.IsZero() {
		return nil, errorf(ErrInvalidOption, "group: revoke: time is zero")
	}
	if node == "" {
		return nil, errorf(ErrInvalidOption, "group: revoke: no node name or id given")
	}
	if err := checkValidity(s.CACert, fmt.Sprintf("group %q CA", s.Name), now); err != nil {
		return nil, fmt.Errorf("group: revoke: %w", err)
	}
	unlock, err := s.lockForWrite()
	if err != nil {
		return nil, err
	}
	defer unlock()
	allocs, err := readAllocations(s.Dir, s.Layout)
	if err != nil {
		return nil, err
	}
	cur, err := readCRL(s.Dir, s.CACert)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(allocs, func(a Allocation) bool { return a.NodeID == node })
	if i < 0 {
		a, ok := findName(allocs, node)
		if !ok {
			return nil, errorf(ErrUnknownNode, "group: revoke: no member of group %q is named %q or has that node id", s.Name, shorten(node))
		}
		i = slices.IndexFunc(allocs, func(b Allocation) bool { return b.Name == a.Name })
	}
	target := allocs[i]
	if target.NodeID == s.NodeID {
		return nil, errorf(ErrInvalidOption, "group: revoke: %q is this node, the group owner; it cannot revoke itself", target.Name)
	}
	if target.IsRevoked() {
		return nil, errorf(ErrRevoked, "group: revoke: node %q (%s) was already revoked at %s", target.Name, target.NodeID, target.Revoked.Format(time.RFC3339))
	}
	allocs = slices.Clone(allocs)
	allocs[i].Revoked = now.UTC()

	number := big.NewInt(1)
	if cur != nil {
		number.Add(cur.number, big.NewInt(1))
	}
	der, err := s.signCRL(allocs, number, now)
	if err != nil {
		return nil, fmt.Errorf("group: revoke %q: %w", target.Name, err)
	}
	rev, err := parseCRL(der, s.CACert)
	if err != nil {
		return nil, fmt.Errorf("group: revoke %q: generated list does not verify: %w", target.Name, err)
	}
	files := []fileSpec{
		{name: FileAllocations, data: encodeAllocations(allocs), perm: publicMode},
		{name: FileCRL, data: der, perm: publicMode},
	}
	if err := commitFiles(s.Dir, files); err != nil {
		return nil, fmt.Errorf("group: revoke %q: %w", target.Name, err)
	}
	s.crl.set(rev)
	return bytes.Clone(der), nil
}

// signCRL signs a revocation list of every revoked member's serials.
func (s *State) signCRL(allocs []Allocation, number *big.Int, now time.Time) ([]byte, error) {
	var entries []x509.RevocationListEntry
	for _, a := range allocs {
		if !a.IsRevoked() {
			continue
		}
		for _, sn := range a.serials() {
			b, err := hex.DecodeString(sn)
			if err != nil {
				return nil, errorf(ErrCorrupt, "serial %q of %q is not hex", shorten(sn), a.Name)
			}
			entries = append(entries, x509.RevocationListEntry{SerialNumber: new(big.Int).SetBytes(b), RevocationTime: a.Revoked})
		}
	}
	tmpl := &x509.RevocationList{
		Number:                    number,
		ThisUpdate:                now,
		NextUpdate:                s.CACert.NotAfter, // members keep the newest list they saw; it does not go stale
		RevokedCertificateEntries: entries,
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, s.CACert, s.CAKey)
	if err != nil {
		return nil, fmt.Errorf("signing revocation list: %w", err)
	}
	return der, nil
}

// ApplyCRL takes a revocation list received from a peer: it checks that
// the group CA signed it and stores it (crl.der, atomically) if its number
// is higher than that of the list this node has. An older or equal list is
// normal while a list spreads: ApplyCRL then returns false and no error.
// changed reports whether the list was taken; from then on VerifyPeer
// refuses the revoked certificates. A list that does not verify matches
// ErrBadCRL. The owner makes the lists, so it refuses one newer than its
// own (another CA key holder exists?) with ErrBadCRL.
func (s *State) ApplyCRL(der []byte, now time.Time) (changed bool, err error) {
	if now.IsZero() {
		return false, errorf(ErrInvalidOption, "group: apply revocation list: time is zero")
	}
	if s.crl == nil || s.CACert == nil {
		return false, errorf(ErrInvalidOption, "group: apply revocation list: the state was not loaded with Load, Create or Install")
	}
	rev, err := parseCRL(der, s.CACert)
	if err != nil {
		return false, fmt.Errorf("group: apply revocation list: %w", err)
	}
	if cur := s.crl.get(); cur != nil && rev.number.Cmp(cur.number) <= 0 {
		return false, nil // fast path without the lock: nothing new
	}
	unlock, err := s.lockForWrite()
	if err != nil {
		return false, err
	}
	defer unlock()
	disk, err := readCRL(s.Dir, s.CACert)
	if err != nil {
		return false, err
	}
	if disk != nil && rev.number.Cmp(disk.number) <= 0 {
		// Another process stored this one or a newer one meanwhile.
		if cur := s.crl.get(); cur == nil || disk.number.Cmp(cur.number) > 0 {
			s.crl.set(disk)
		}
		return false, nil
	}
	if s.CAKey != nil {
		return false, errorf(ErrBadCRL, "group: apply revocation list: list number %s is newer than the owner's own (%s); only this node should sign lists", rev.number, numberOf(disk))
	}
	if err := commitFiles(s.Dir, []fileSpec{{name: FileCRL, data: rev.der, perm: publicMode}}); err != nil {
		return false, fmt.Errorf("group: apply revocation list: %w", err)
	}
	s.crl.set(rev)
	return true, nil
}

func numberOf(r *revocations) *big.Int {
	if r == nil {
		return new(big.Int)
	}
	return r.number
}
