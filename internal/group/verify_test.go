package group

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"net/url"
	"testing"
	"time"
)

// signRaw signs a member-like certificate built by edit, with the owner's
// CA, for cases Issue would never produce.
func signRaw(t *testing.T, owner *State, edit func(c *x509.Certificate)) []byte {
	t.Helper()
	key, err := generateKey()
	if err != nil {
		t.Fatal(err)
	}
	id, err := NodeIDFromPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(7),
		Subject:               pkix.Name{CommonName: "mallory", Organization: []string{owner.Name}},
		NotBefore:             testNow.Add(-time.Hour),
		NotAfter:              testNow.AddDate(1, 0, 0),
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:           []net.IP{net.ParseIP("10.77.0.99").To4()},
		URIs:                  []*url.URL{{Scheme: "ipop", Opaque: "node/" + id}},
	}
	edit(tmpl)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, owner.CACert, &key.PublicKey, owner.CAKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestVerifyPeer(t *testing.T) {
	home := newOwner(t, "home")
	other := newOwner(t, "other")
	bob := newMember(t, home, "bob")
	eve := newMember(t, other, "eve")

	tests := []struct {
		name  string
		chain [][]byte
		now   time.Time
		kind  error
		frag  string
	}{
		{"member", [][]byte{bob.NodeCert.Raw}, testNow, nil, ""},
		{"member with CA in chain", [][]byte{bob.NodeCert.Raw, home.CACert.Raw}, testNow, nil, ""},
		{"member near expiry", [][]byte{bob.NodeCert.Raw}, bob.NodeCert.NotAfter, nil, ""},
		{"other group's member", [][]byte{eve.NodeCert.Raw}, testNow, ErrUntrustedPeer, `peer certificate "eve" is not signed by group "home" CA (issuer "ipop CA other")`},
		{"other group's member with its CA", [][]byte{eve.NodeCert.Raw, other.CACert.Raw}, testNow, ErrUntrustedPeer, `not signed by group "home" CA`},
		{"expired", [][]byte{bob.NodeCert.Raw}, testNow.AddDate(1, 0, 1), ErrExpired, `peer certificate "bob" expired at 2026-06-01T12:00:00Z`},
		{"not yet valid", [][]byte{bob.NodeCert.Raw}, testNow.Add(-2 * time.Hour), ErrExpired, `peer certificate "bob" is not valid before`},
		{"CA expired", [][]byte{signRaw(t, home, func(c *x509.Certificate) { c.NotAfter = testNow.AddDate(20, 0, 0) })}, testNow.AddDate(10, 0, 1),
			ErrExpired, `group "home" CA expired at 2035-06-01T12:00:00Z`},
		{"own CA as leaf", [][]byte{home.CACert.Raw}, testNow, ErrUntrustedPeer, `peer presented a CA certificate ("ipop CA home")`},
		{"other CA as leaf", [][]byte{other.CACert.Raw}, testNow, ErrUntrustedPeer, `not signed by group "home" CA (issuer "ipop CA other")`},
		{"garbage", [][]byte{[]byte("garbage")}, testNow, ErrUntrustedPeer, "not valid X.509"},
		{"empty chain", nil, testNow, ErrNoCertificate, "no certificate presented"},
		{"empty leaf", [][]byte{{}}, testNow, ErrNoCertificate, "no certificate presented"},
		{"zero time", [][]byte{bob.NodeCert.Raw}, time.Time{}, ErrInvalidOption, "time is zero"},
		{"wrong group name", [][]byte{signRaw(t, home, func(c *x509.Certificate) { c.Subject.Organization = []string{"other"} })}, testNow,
			ErrUntrustedPeer, `peer certificate "mallory": belongs to group "other", not "home"`},
		{"node id mismatch", [][]byte{signRaw(t, home, func(c *x509.Certificate) { c.URIs[0].Opaque = "node/0123456789abcdef" })}, testNow,
			ErrUntrustedPeer, `claims node id "0123456789abcdef"`},
		{"no node uri", [][]byte{signRaw(t, home, func(c *x509.Certificate) { c.URIs = nil })}, testNow, ErrUntrustedPeer, "lacks the URI ipop:node/"},
		{"address outside subnet", [][]byte{signRaw(t, home, func(c *x509.Certificate) { c.IPAddresses = []net.IP{net.ParseIP("192.0.2.1")} })}, testNow,
			ErrUntrustedPeer, "address 192.0.2.1 is outside the group subnet"},
		{"no address", [][]byte{signRaw(t, home, func(c *x509.Certificate) { c.IPAddresses = nil })}, testNow, ErrUntrustedPeer, "0 IP addresses"},
		{"CA flag signed by our CA", [][]byte{signRaw(t, home, func(c *x509.Certificate) { c.IsCA = true; c.KeyUsage |= x509.KeyUsageCertSign })}, testNow,
			ErrUntrustedPeer, "peer presented a CA certificate"},
		{"bad name", [][]byte{signRaw(t, home, func(c *x509.Certificate) { c.Subject.CommonName = "a b" })}, testNow, ErrUntrustedPeer, "node name"},
		{"code signing only", [][]byte{signRaw(t, home, func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning} })}, testNow,
			ErrUntrustedPeer, "server and client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := home.VerifyPeer(tt.chain, tt.now)
			if tt.kind == nil {
				if err != nil {
					t.Fatal(err)
				}
				want := Identity{NodeID: bob.NodeID, Name: "bob", Group: "home", Address: bob.Address, Pool: bob.Pool, NotAfter: bob.NodeCert.NotAfter, Serial: serialHex(bob.NodeCert)}
				if id != want {
					t.Errorf("identity %+v, want %+v", id, want)
				}
				return
			}
			wantErr(t, err, tt.kind, tt.frag)
			if id != (Identity{}) {
				t.Errorf("identity %+v returned with an error", id)
			}
		})
	}
}

func TestTLSCertificateAndPool(t *testing.T) {
	home := newOwner(t, "home")
	bob := newMember(t, home, "bob")
	c := bob.TLSCertificate()
	if len(c.Certificate) != 1 || c.Leaf != bob.NodeCert || c.PrivateKey != bob.NodeKey {
		t.Errorf("TLSCertificate = %d certs", len(c.Certificate))
	}
	chains, err := bob.NodeCert.Verify(x509.VerifyOptions{Roots: home.CAPool(), CurrentTime: testNow, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil || len(chains) != 1 {
		t.Errorf("verify with CAPool: %v", err)
	}
	if _, err := bob.NodeCert.Verify(x509.VerifyOptions{Roots: newOwner(t, "x").CAPool(), CurrentTime: testNow}); err == nil {
		t.Error("another group's pool accepted the certificate")
	}
	var unknown x509.UnknownAuthorityError
	if _, err := bob.NodeCert.Verify(x509.VerifyOptions{Roots: newOwner(t, "y").CAPool(), CurrentTime: testNow}); !errors.As(err, &unknown) {
		t.Errorf("want UnknownAuthorityError, got %v", err)
	}
}
