package group

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Validity periods. The CA lives long because replacing it means
// re-issuing every member; members renew yearly. Both start clockSkew in
// the past so that a router whose clock lags a little (no RTC, NTP not yet
// synced) still accepts a certificate issued a moment ago.
const (
	caValidityYears   = 10
	nodeValidityYears = 1
	clockSkew         = time.Hour
)

// caCNPrefix starts the CA's common name; the group name follows.
const caCNPrefix = "ipop CA "

// nodeURIScheme and nodeURIPrefix form the URI SAN ipop:node/<node id>.
const (
	nodeURIScheme = "ipop"
	nodeURIPrefix = "node/"
)

// member is what a validated member certificate says about its node.
type member struct {
	Name    string
	NodeID  string
	Address netip.Addr
	Pool    netip.Prefix // zero if the certificate carries none
}

// newCACert creates the self-signed group CA certificate for key.
func newCACert(groupName string, key *ecdsa.PrivateKey, now time.Time) (*x509.Certificate, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: caCNPrefix + groupName, Organization: []string{groupName}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.AddDate(caValidityYears, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("creating CA certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// newNodeCert creates a member certificate for pub, signed by the CA. It
// never outlives the CA, since a chain is only valid while both are. A
// valid pool is carried in the pool extension (see OIDPool).
func newNodeCert(ca *x509.Certificate, caKey *ecdsa.PrivateKey, groupName, nodeName string, addr netip.Addr, pool netip.Prefix, pub *ecdsa.PublicKey, now time.Time) (*x509.Certificate, error) {
	id, err := NodeIDFromPublicKey(pub)
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	notAfter := now.AddDate(nodeValidityYears, 0, 0)
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: nodeName, Organization: []string{groupName}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:           []net.IP{addr.AsSlice()},
		URIs:                  []*url.URL{{Scheme: nodeURIScheme, Opaque: nodeURIPrefix + id}},
	}
	if pool.IsValid() {
		ext, err := poolExtension(pool)
		if err != nil {
			return nil, err
		}
		tmpl.ExtraExtensions = []pkix.Extension{ext}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caKey)
	if err != nil {
		return nil, fmt.Errorf("creating node certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// checkCA checks that cert is a self-signed P-256 CA of the named group.
// Errors are tagged with kind.
func checkCA(cert *x509.Certificate, groupName string, kind error) error {
	if !cert.IsCA || !cert.BasicConstraintsValid {
		return errorf(kind, "certificate %q is not a CA certificate", shorten(cert.Subject.CommonName))
	}
	if cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return errorf(kind, "CA certificate may not sign certificates (no certSign key usage)")
	}
	if !isP256(cert.PublicKey) {
		return errorf(kind, "CA certificate key is not ECDSA P-256")
	}
	if !slices.Equal(cert.Subject.Organization, []string{groupName}) {
		return errorf(kind, "CA certificate is for group %q, not %q", shorten(strings.Join(cert.Subject.Organization, ",")), groupName)
	}
	if cert.Subject.CommonName != caCNPrefix+groupName {
		return errorf(kind, "CA certificate common name is %q, want %q", shorten(cert.Subject.CommonName), caCNPrefix+groupName)
	}
	if err := cert.CheckSignatureFrom(cert); err != nil {
		return errorf(kind, "CA certificate is not self-signed: %w", err)
	}
	return nil
}

// checkMember checks the contents of a member certificate (not who signed
// it, nor its validity period) and returns what it says about the node.
func checkMember(cert *x509.Certificate, groupName string, subnet netip.Prefix, kind error) (member, error) {
	var m member
	if cert.IsCA {
		return m, errorf(kind, "%q is a CA certificate, not a member certificate", shorten(cert.Subject.CommonName))
	}
	if !isP256(cert.PublicKey) {
		return m, errorf(kind, "key is not ECDSA P-256")
	}
	if !slices.Equal(cert.Subject.Organization, []string{groupName}) {
		return m, errorf(kind, "belongs to group %q, not %q", shorten(strings.Join(cert.Subject.Organization, ",")), groupName)
	}
	m.Name = cert.Subject.CommonName
	if err := ValidateName(m.Name); err != nil {
		return m, errorf(kind, "node %w", err)
	}
	if len(cert.IPAddresses) != 1 {
		return m, errorf(kind, "has %d IP addresses, want exactly one", len(cert.IPAddresses))
	}
	addr, ok := netip.AddrFromSlice(cert.IPAddresses[0])
	if !ok {
		return m, errorf(kind, "IP address is malformed")
	}
	m.Address = addr.Unmap()
	if err := checkHostAddress(subnet, m.Address); err != nil {
		return m, errorf(kind, "%w", err)
	}
	if len(cert.URIs) != 1 || cert.URIs[0].Scheme != nodeURIScheme || !strings.HasPrefix(cert.URIs[0].Opaque, nodeURIPrefix) {
		return m, errorf(kind, "lacks the URI %s:%s<node id>", nodeURIScheme, nodeURIPrefix)
	}
	claimed := strings.TrimPrefix(cert.URIs[0].Opaque, nodeURIPrefix)
	id, err := NodeIDFromPublicKey(cert.PublicKey)
	if err != nil {
		return m, errorf(kind, "key: %w", err)
	}
	if claimed != id {
		return m, errorf(kind, "claims node id %q but its key has node id %s", shorten(claimed), id)
	}
	m.NodeID = id
	if !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageServerAuth) || !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
		return m, errorf(kind, "is not valid for both server and client authentication")
	}
	if cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return m, errorf(kind, "key may not sign (no digitalSignature key usage)")
	}
	if m.Pool, err = certPool(cert, kind); err != nil {
		return m, err
	}
	if m.Pool.IsValid() {
		if err := checkPool(subnet, m.Pool, m.Address); err != nil {
			return m, errorf(kind, "%w", err)
		}
	}
	return m, nil
}

// checkValidity checks that now lies within the certificate's validity
// period; what names the certificate in the message.
func checkValidity(cert *x509.Certificate, what string, now time.Time) error {
	if now.Before(cert.NotBefore) {
		return errorf(ErrExpired, "%s is not valid before %s (is the clock right?)", what, cert.NotBefore.UTC().Format(time.RFC3339))
	}
	if now.After(cert.NotAfter) {
		return errorf(ErrExpired, "%s expired at %s", what, cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}
