package group

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/netip"
	"time"
)

// Identity is what a verified peer certificate proves about the peer.
type Identity struct {
	NodeID   string
	Name     string
	Group    string
	Address  netip.Addr
	Pool     netip.Prefix // the peer's DHCP pool slice; zero if it has none
	NotAfter time.Time
	Serial   string // hex of the certificate serial
}

// TLSCertificate returns this node's certificate and key for pion/dtls. The
// chain holds only the node certificate: every peer already has the CA,
// and a smaller handshake flight needs fewer DTLS fragments.
func (s *State) TLSCertificate() tls.Certificate {
	return tls.Certificate{
		Certificate: [][]byte{s.NodeCert.Raw},
		PrivateKey:  s.NodeKey,
		Leaf:        s.NodeCert,
	}
}

// CAPool returns a pool holding only the group CA.
func (s *State) CAPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.CACert)
	return p
}

// VerifyPeer decides whether rawCerts (as the DTLS layer's
// VerifyPeerCertificate receives them) prove membership of this group at
// time now: the leaf is signed by the group CA and chains to it, is not a
// CA, is valid at now, belongs to this group, carries a usable address in
// the subnet and a node id matching its key. The DTLS layer runs with
// InsecureSkipVerify, so this is the whole check, for both roles.
// Certificates after the leaf are ignored: the CA may not sign
// intermediates (path length 0). Errors say why, for the log, and match
// ErrNoCertificate, ErrUntrustedPeer, ErrExpired or ErrRevoked (the
// current revocation list names the certificate).
func (s *State) VerifyPeer(rawCerts [][]byte, now time.Time) (Identity, error) {
	if len(rawCerts) == 0 || len(rawCerts[0]) == 0 {
		return Identity{}, errorf(ErrNoCertificate, "group: no certificate presented")
	}
	if now.IsZero() {
		return Identity{}, errorf(ErrInvalidOption, "group: verify peer: time is zero")
	}
	leaf, err := x509.ParseCertificate(rawCerts[0])
	if err != nil {
		return Identity{}, errorf(ErrUntrustedPeer, "group: peer certificate is not valid X.509: %w", err)
	}
	cn := shorten(leaf.Subject.CommonName)
	if err := leaf.CheckSignatureFrom(s.CACert); err != nil {
		return Identity{}, errorf(ErrUntrustedPeer, "group: peer certificate %q is not signed by group %q CA (issuer %q)", cn, s.Name, shorten(leaf.Issuer.CommonName))
	}
	if leaf.IsCA {
		return Identity{}, errorf(ErrUntrustedPeer, "group: peer presented a CA certificate (%q), not a member certificate", cn)
	}
	if err := checkValidity(leaf, fmt.Sprintf("peer certificate %q", cn), now); err != nil {
		return Identity{}, fmt.Errorf("group: %w", err)
	}
	if err := checkValidity(s.CACert, fmt.Sprintf("group %q CA", s.Name), now); err != nil {
		return Identity{}, fmt.Errorf("group: %w", err)
	}
	opts := x509.VerifyOptions{
		Roots:       s.CAPool(),
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}
	if _, err := leaf.Verify(opts); err != nil {
		return Identity{}, errorf(ErrUntrustedPeer, "group: peer certificate %q does not chain to group %q CA: %w", cn, s.Name, err)
	}
	m, err := checkMember(leaf, s.Name, s.Subnet, ErrUntrustedPeer)
	if err != nil {
		return Identity{}, errorf(ErrUntrustedPeer, "group: peer certificate %q: %w", cn, err)
	}
	if s.IsRevoked(leaf.SerialNumber) {
		return Identity{}, errorf(ErrRevoked, "group: peer certificate of node %q (%s, serial %s) has been revoked by the group owner", m.Name, m.NodeID, serialHex(leaf))
	}
	return Identity{NodeID: m.NodeID, Name: m.Name, Group: s.Name, Address: m.Address, Pool: m.Pool, NotAfter: leaf.NotAfter, Serial: serialHex(leaf)}, nil
}
