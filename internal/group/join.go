package group

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// AcceptJoin admits a joiner on the owner. binding is the keying material
// exported from the joiner's DTLS session (see Proof). It checks, in this
// order: the invite exists and was not cancelled (ErrInviteUnknown), the
// proof matches (ErrBadProof, compared in constant time), the invite is
// not used up (ErrInviteUsed) or expired (ErrInviteExpired), the node name
// is free (ErrNameTaken) and the key is new (ErrKeyTaken). Then it
// allocates an address and a pool slice, signs the joiner's certificate
// and records the allocation and the use of the invite in one commit of
// allocations.json and invites.json; on any failure nothing changes.
//
// A joiner that lost the reply may ask again with the same invite, name
// and key: it gets the same certificate back, even if that used the last
// use of the invite, unless it was revoked meanwhile (ErrRevoked).
func (s *State) AcceptJoin(req JoinRequest, binding []byte, now time.Time) (*JoinResult, error) {
	if s.CAKey == nil {
		return nil, errorf(ErrNotOwner, "group: this node is not the owner of group %q; only the owner admits members", s.Name)
	}
	if now.IsZero() {
		return nil, errorf(ErrInvalidOption, "group: join: time is zero")
	}
	if len(binding) < minBindingLen || len(binding) > maxBindingLen {
		return nil, errorf(ErrInvalidOption, "group: join: session binding is %d bytes; want %d..%d", len(binding), minBindingLen, maxBindingLen)
	}
	pub, err := validateJoinRequest(req)
	if err != nil {
		return nil, errorf(ErrBadMessage, "group: join request: %w", err)
	}
	nodeID, err := NodeIDFromPublicKey(pub)
	if err != nil {
		return nil, errorf(ErrBadMessage, "group: join request: %w", err)
	}
	if err := checkValidity(s.CACert, fmt.Sprintf("group %q CA", s.Name), now); err != nil {
		return nil, fmt.Errorf("group: join: %w", err)
	}
	id := hex.EncodeToString(req.InviteID[:])

	unlock, err := s.lockForWrite()
	if err != nil {
		return nil, err
	}
	defer unlock()
	recs, err := readInvites(s.Dir)
	if err != nil {
		return nil, err
	}
	allocs, err := readAllocations(s.Dir, s.Layout)
	if err != nil {
		return nil, err
	}
	idx := slices.IndexFunc(recs, func(r inviteRecord) bool { return r.ID == id })
	if idx < 0 {
		return nil, errorf(ErrInviteUnknown, "group: join: invite %s is unknown to the owner of group %q (never made, or expired long ago); ask the owner for a new invite", id, s.Name)
	}
	rec := recs[idx]
	secretBytes, err := hex.DecodeString(rec.Secret)
	if err != nil || len(secretBytes) != 16 {
		return nil, errorf(ErrCorrupt, "group: %s: invite %s: the secret is damaged", FileInvites, id)
	}
	if !hmac.Equal(Proof([16]byte(secretBytes), binding), req.Proof) {
		return nil, errorf(ErrBadProof, "group: join: the request for invite %s does not prove the invite's secret (a damaged token, or a proof made on another session)", id)
	}
	for _, j := range rec.Joins {
		if strings.EqualFold(j.Name, req.NodeName) && j.NodeID == nodeID {
			return s.repeatJoin(j, pub, allocs)
		}
	}
	if rec.Cancelled {
		return nil, errorf(ErrInviteUnknown, "group: join: invite %s was cancelled by the owner of group %q; ask for a new invite", id, s.Name)
	}
	if rec.usesLeft() == 0 {
		return nil, errorf(ErrInviteUsed, "group: join: invite %s was already used (by %s); each invite admits %d node(s); ask the owner for a new one", id, strings.Join(joinNames(rec), ", "), rec.Uses)
	}
	if now.After(rec.Expires) {
		return nil, errorf(ErrInviteExpired, "group: join: invite %s expired at %s; ask the owner for a new one", id, rec.Expires.UTC().Format(time.RFC3339))
	}
	if a, ok := findName(allocs, req.NodeName); ok {
		return nil, errorf(ErrNameTaken, "group: join: node name %q is already taken in group %q (by %q, %s); choose another name", req.NodeName, s.Name, a.Name, a.Address)
	}
	if i := slices.IndexFunc(allocs, func(a Allocation) bool { return a.NodeID == nodeID }); i >= 0 {
		return nil, errorf(ErrKeyTaken, "group: join: this key (node id %s) already belongs to member %q; a node joins with a new key", nodeID, allocs[i].Name)
	}
	addr, err := s.Layout.nextAddress(allocs)
	if err != nil {
		return nil, fmt.Errorf("group: join %q: %w", req.NodeName, err)
	}
	pool, err := s.Layout.nextPool(allocs, addr)
	if err != nil {
		return nil, fmt.Errorf("group: join %q: %w", req.NodeName, err)
	}
	cert, err := newNodeCert(s.CACert, s.CAKey, s.Name, req.NodeName, addr, pool, pub, now)
	if err != nil {
		return nil, fmt.Errorf("group: join: %w", err)
	}
	res, err := s.joinResult(cert)
	if err != nil {
		return nil, err
	}
	allocs = append(allocs, Allocation{
		Name: req.NodeName, Address: addr, Pool: pool, NodeID: nodeID,
		Serial: serialHex(cert), IssuedAt: now.UTC(),
	})
	recs = slices.Clone(recs)
	recs[idx].Joins = append(slices.Clone(rec.Joins), inviteJoin{Name: req.NodeName, NodeID: nodeID, At: now.UTC(), Cert: cert.Raw})
	recs = pruneInvites(recs, now)
	files := []fileSpec{
		{name: FileAllocations, data: encodeAllocations(allocs), perm: publicMode},
		invitesSpec(recs),
	}
	if err := commitFiles(s.Dir, files); err != nil {
		return nil, fmt.Errorf("group: join %q: %w", req.NodeName, err)
	}
	return res, nil
}

// repeatJoin answers a repeated join with the certificate issued the
// first time.
func (s *State) repeatJoin(j inviteJoin, pub *ecdsa.PublicKey, allocs []Allocation) (*JoinResult, error) {
	cert, err := x509.ParseCertificate(j.Cert)
	if err != nil {
		return nil, errorf(ErrCorrupt, "group: %s: certificate of %q does not parse: %w", FileInvites, j.Name, err)
	}
	if !pub.Equal(cert.PublicKey) {
		return nil, errorf(ErrKeyTaken, "group: join: node %q joined with another key of the same node id", j.Name)
	}
	a, ok := findName(allocs, j.Name)
	if !ok {
		return nil, errorf(ErrCorrupt, "group: %s: %q joined but has no allocation", FileAllocations, j.Name)
	}
	if a.IsRevoked() {
		return nil, errorf(ErrRevoked, "group: join: node %q was revoked at %s", a.Name, a.Revoked.UTC().Format(time.RFC3339))
	}
	return s.joinResult(cert)
}

// joinResult builds the answer for cert, with the revocation list on disk
// (the caller holds the lock).
func (s *State) joinResult(cert *x509.Certificate) (*JoinResult, error) {
	m, err := checkMember(cert, s.Name, s.Subnet, ErrCorrupt)
	if err != nil {
		return nil, fmt.Errorf("group: join: issued certificate does not validate: %w", err)
	}
	rev, err := readCRL(s.Dir, s.CACert)
	if err != nil {
		return nil, err
	}
	res := &JoinResult{
		Group: s.Name, Subnet: s.Subnet, CACert: bytes.Clone(s.CACert.Raw), NodeCert: bytes.Clone(cert.Raw),
		Address: m.Address, Pool: m.Pool,
	}
	if rev != nil {
		res.CRL = bytes.Clone(rev.der)
	}
	return res, nil
}

func joinNames(r inviteRecord) []string {
	out := make([]string, 0, len(r.Joins))
	for _, j := range r.Joins {
		out = append(out, fmt.Sprintf("%q", j.Name))
	}
	return out
}

// InstallJoined installs the membership a join brought: key is the key
// the joiner made with NewNodeKey, res the owner's answer and tok the
// token the joiner used. It checks that the CA's fingerprint is the
// token's and the group its group (else ErrUntrustedPeer: the answer did
// not come from the invited group), that the node certificate is signed by
// that CA for key, carries res's address and pool and is valid at o.Now,
// and that the revocation list, if any, is the CA's. Then it writes the
// state as Install does: it refuses a directory of another group or node
// unless o.Force (ErrExists), and always an owner's (ErrCAKeyPresent). On
// failure dir is left as it was, and the joiner may repeat the join with
// the same key to get the same answer.
func InstallJoined(dir string, key *ecdsa.PrivateKey, res *JoinResult, tok Token, o InstallOptions) (*State, error) {
	if dir == "" {
		return nil, errorf(ErrInvalidOption, "group: install: state directory is not set")
	}
	if o.Now.IsZero() {
		return nil, errorf(ErrInvalidOption, "group: install: time is zero")
	}
	if key == nil || !isP256(&key.PublicKey) {
		return nil, errorf(ErrInvalidOption, "group: install: the node key is not an ECDSA P-256 key")
	}
	bd, crlDER, err := checkJoinResult(key, res, tok, o.Now)
	if err != nil {
		return nil, fmt.Errorf("group: install: %w", err)
	}
	created, err := ensureDir(dir)
	if err != nil {
		return nil, fmt.Errorf("group: install: %w", err)
	}
	s, err := install(dir, bd, o, crlDER)
	if err != nil {
		if created {
			_ = os.Remove(dir)
		}
		return nil, err
	}
	return s, nil
}

// checkJoinResult validates a join result against the token and the key
// and returns it as a bundle.
func checkJoinResult(key *ecdsa.PrivateKey, res *JoinResult, tok Token, now time.Time) (*Bundle, []byte, error) {
	if res == nil {
		return nil, nil, errorf(ErrBadMessage, "join result is missing")
	}
	if err := validateJoinResult(res); err != nil {
		return nil, nil, errorf(ErrBadMessage, "join result: %w", err)
	}
	if res.Group != tok.Group {
		return nil, nil, errorf(ErrUntrustedPeer, "the answer is for group %q, but the token invites to group %q", res.Group, tok.Group)
	}
	if fp := sha256.Sum256(res.CACert); fp != tok.CAFingerprint {
		return nil, nil, errorf(ErrUntrustedPeer, "the group CA in the answer (%s) is not the one the token names (%s)", hex.EncodeToString(fp[:8]), hex.EncodeToString(tok.CAFingerprint[:8]))
	}
	ca, err := x509.ParseCertificate(res.CACert)
	if err != nil {
		return nil, nil, errorf(ErrUntrustedPeer, "group CA certificate does not parse: %w", err)
	}
	if err := checkCA(ca, res.Group, ErrUntrustedPeer); err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(res.NodeCert)
	if err != nil {
		return nil, nil, errorf(ErrUntrustedPeer, "node certificate does not parse: %w", err)
	}
	if err := cert.CheckSignatureFrom(ca); err != nil {
		return nil, nil, errorf(ErrUntrustedPeer, "node certificate is not signed by the group CA")
	}
	m, err := checkMember(cert, res.Group, res.Subnet, ErrUntrustedPeer)
	if err != nil {
		return nil, nil, errorf(ErrUntrustedPeer, "node certificate: %w", err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, errorf(ErrUntrustedPeer, "node certificate %q is not for this node's key", m.Name)
	}
	if m.Address != res.Address || m.Pool != res.Pool {
		return nil, nil, errorf(ErrUntrustedPeer, "node certificate says address %s pool %s, the answer %s pool %s", m.Address, m.Pool, res.Address, res.Pool)
	}
	if err := checkValidity(ca, fmt.Sprintf("group %q CA certificate", res.Group), now); err != nil {
		return nil, nil, err
	}
	if err := checkValidity(cert, fmt.Sprintf("node certificate %q", m.Name), now); err != nil {
		return nil, nil, err
	}
	var crlDER []byte
	if len(res.CRL) > 0 {
		rev, err := parseCRL(res.CRL, ca)
		if err != nil {
			return nil, nil, errorf(ErrUntrustedPeer, "%w", err)
		}
		crlDER = rev.der
	}
	bd := &Bundle{
		Group: res.Group, Subnet: res.Subnet, CACert: ca, NodeCert: cert, NodeKey: key,
		NodeName: m.Name, NodeID: m.NodeID, Address: m.Address, Pool: m.Pool,
	}
	return bd, crlDER, nil
}
