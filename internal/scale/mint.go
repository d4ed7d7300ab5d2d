package scale

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/ipopd/ipopd/internal/group"
)

// Provisioner issues member bundles from an owner's group state for a
// large group. It uses group.State.Issue while the group has DHCP pool
// slices left; past that (a subnet has 255 slices, so Issue refuses the
// 256th member with ErrSubnetFull) it mints a certificate without a pool
// the same way Issue would, signed by the group CA, so that groups of
// 1000 can be measured. Minted members are not in allocations.json: the
// owner cannot revoke them by name.
type Provisioner struct {
	owner *group.State
	// Issued and Minted count the bundles made each way.
	Issued, Minted int
	// FullAt is the member number Issue first refused (0: never).
	FullAt int
}

// NewProvisioner works from the owner's state (which must hold the CA key).
func NewProvisioner(owner *group.State) (*Provisioner, error) {
	if !owner.Owner() {
		return nil, fmt.Errorf("scale: %s is not the group owner", owner.NodeName)
	}
	return &Provisioner{owner: owner}, nil
}

// Bundle returns the bundle of member name, the n-th member (the owner is
// member 0). Minted members get address n of the subnet's first slice,
// where Issue puts router addresses, so the two never collide as long as
// the subnet's first slice is large enough (a /12 has 4094 addresses there).
func (p *Provisioner) Bundle(name string, n int, now time.Time) ([]byte, error) {
	if p.FullAt == 0 {
		b, err := p.owner.Issue(name, netip.Addr{}, now)
		if err == nil {
			p.Issued++
			return b, nil
		}
		if !errors.Is(err, group.ErrSubnetFull) {
			return nil, err
		}
		p.FullAt = n
	}
	b, err := p.mint(name, n, now)
	if err != nil {
		return nil, err
	}
	p.Minted++
	return b, nil
}

// String says how the bundles were made.
func (p *Provisioner) String() string {
	if p.FullAt == 0 {
		return fmt.Sprintf("%d issued", p.Issued)
	}
	return fmt.Sprintf("%d issued, %d minted without a DHCP pool slice (Issue refused member %d: the subnet's 255 pool slices were used up)", p.Issued, p.Minted, p.FullAt)
}

// mint makes a member certificate like group's newNodeCert, without a
// pool slice. The URI form is taken from the owner's own certificate.
func (p *Provisioner) mint(name string, n int, now time.Time) ([]byte, error) {
	o := p.owner
	addr := o.Subnet.Masked().Addr()
	for range n + 1 {
		addr = addr.Next()
	}
	if !o.Subnet.Contains(addr) {
		return nil, fmt.Errorf("scale: member %d does not fit subnet %s", n, o.Subnet)
	}
	if len(o.NodeCert.URIs) != 1 || !strings.HasSuffix(o.NodeCert.URIs[0].Opaque, o.NodeID) {
		return nil, fmt.Errorf("scale: owner certificate has no node URI to copy")
	}
	uriPrefix := strings.TrimSuffix(o.NodeCert.URIs[0].Opaque, o.NodeID)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	id, err := group.NodeIDFromPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial.Add(serial, big.NewInt(1)),
		Subject:               pkix.Name{CommonName: name, Organization: []string{o.Name}},
		NotBefore:             o.NodeCert.NotBefore,
		NotAfter:              o.NodeCert.NotAfter,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:           []net.IP{addr.AsSlice()},
		URIs:                  []*url.URL{{Scheme: o.NodeCert.URIs[0].Scheme, Opaque: uriPrefix + id}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, o.CACert, &key.PublicKey, o.CAKey)
	if err != nil {
		return nil, fmt.Errorf("scale: minting %s: %w", name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	bd := &group.Bundle{Group: o.Name, Subnet: o.Subnet, CACert: o.CACert, NodeCert: cert, NodeKey: key}
	return bd.Encode()
}
