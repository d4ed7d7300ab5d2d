package group

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
)

// Bundle is what a new member needs to join: the group CA and the member's
// certificate and key. ParseBundle fills the derived fields (NodeName,
// NodeID, Address, Pool) from the node certificate.
type Bundle struct {
	Group    string
	Subnet   netip.Prefix
	CACert   *x509.Certificate
	NodeCert *x509.Certificate
	NodeKey  *ecdsa.PrivateKey

	NodeName string
	NodeID   string
	Address  netip.Addr
	Pool     netip.Prefix // the node's DHCP pool slice; zero if none
}

// PEM headers on the CA block of a bundle.
const (
	headerGroup  = "Ipop-Group"
	headerSubnet = "Ipop-Subnet"
)

// maxBundleSize bounds what ParseBundle reads; a real bundle is about 2 KiB.
const maxBundleSize = 64 << 10

// BundleFileMode is the mode of a bundle file: it holds a private key.
const BundleFileMode = 0o600

// String describes the bundle without its key, so that printing a Bundle
// with %v cannot leak the key into a log.
func (b Bundle) String() string {
	return fmt.Sprintf("bundle{node %q (%s) address %s pool %s in group %q subnet %s}", b.NodeName, b.NodeID, b.Address, b.Pool, b.Group, b.Subnet)
}

// GoString keeps %#v from printing the key too.
func (b Bundle) GoString() string { return b.String() }

// ParseBundle parses and validates a bundle: block order and types, the
// group and subnet headers, that the CA is a CA of that group, that the
// node certificate is a member certificate signed by it and that the key
// matches. It does not check validity periods (see Install). Every error
// matches ErrBadBundle.
func ParseBundle(b []byte) (*Bundle, error) {
	bd, err := parseBundle(b)
	if err != nil {
		return nil, fmt.Errorf("group: bundle: %w", err)
	}
	return bd, nil
}

func parseBundle(b []byte) (*Bundle, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, errorf(ErrBadBundle, "bundle is empty")
	}
	if len(b) > maxBundleSize {
		return nil, errorf(ErrBadBundle, "bundle is %d bytes; the limit is %d", len(b), maxBundleSize)
	}
	s := &pemScanner{data: b, kind: ErrBadBundle}
	blocks := make([]*pem.Block, 0, 3)
	names := []string{"group CA certificate", "node certificate", "node key"}
	for i, name := range names {
		blk, err := s.next()
		if err != nil {
			return nil, errorf(ErrBadBundle, "block %d (%s): %w", i+1, name, err)
		}
		if blk == nil {
			if i == 0 {
				return nil, errorf(ErrBadBundle, "no PEM data")
			}
			return nil, errorf(ErrBadBundle, "missing block %d (%s)", i+1, name)
		}
		blocks = append(blocks, blk)
	}
	if extra, err := s.next(); err != nil {
		return nil, errorf(ErrBadBundle, "trailing data after the node key: %w", err)
	} else if extra != nil {
		return nil, errorf(ErrBadBundle, "unexpected extra PEM block %q after the node key", shorten(extra.Type))
	}

	bd := &Bundle{}
	var err error
	if bd.CACert, err = parseCertBlock(blocks[0], 1, names[0]); err != nil {
		return nil, err
	}
	if !bd.CACert.IsCA {
		return nil, errorf(ErrBadBundle, "block 1 is not a CA certificate; a bundle starts with the group CA (blocks out of order?)")
	}
	if bd.Group, bd.Subnet, err = parseBundleHeaders(blocks[0].Headers); err != nil {
		return nil, err
	}
	if o := bd.CACert.Subject.Organization; len(o) == 1 && o[0] != bd.Group {
		return nil, errorf(ErrBadBundle, "block 1: %s header says %q but the CA certificate is for group %q", headerGroup, bd.Group, shorten(o[0]))
	}
	if err := checkCA(bd.CACert, bd.Group, ErrBadBundle); err != nil {
		return nil, errorf(ErrBadBundle, "block 1: %w", err)
	}

	if bd.NodeCert, err = parseCertBlock(blocks[1], 2, names[1]); err != nil {
		return nil, err
	}
	if bd.NodeCert.IsCA {
		return nil, errorf(ErrBadBundle, "block 2 is a CA certificate, want the node certificate")
	}
	if len(blocks[1].Headers) > 0 {
		return nil, errorf(ErrBadBundle, "block 2 (node certificate): unexpected PEM headers")
	}
	if err := bd.NodeCert.CheckSignatureFrom(bd.CACert); err != nil {
		return nil, errorf(ErrBadBundle, "block 2: node certificate %q is not signed by the group CA in block 1", shorten(bd.NodeCert.Subject.CommonName))
	}
	m, err := checkMember(bd.NodeCert, bd.Group, bd.Subnet, ErrBadBundle)
	if err != nil {
		return nil, errorf(ErrBadBundle, "block 2: %w", err)
	}
	bd.NodeName, bd.NodeID, bd.Address, bd.Pool = m.Name, m.NodeID, m.Address, m.Pool

	if blocks[2].Type != pemECKey {
		return nil, errorf(ErrBadBundle, "block 3 is %q, want %q (the node key)", shorten(blocks[2].Type), pemECKey)
	}
	if bd.NodeKey, err = parseKeyBlock(blocks[2], ErrBadBundle); err != nil {
		return nil, errorf(ErrBadBundle, "block 3: %w", err)
	}
	if !bd.NodeKey.PublicKey.Equal(bd.NodeCert.PublicKey) {
		return nil, errorf(ErrBadBundle, "block 3: the key does not match the node certificate %q", bd.NodeName)
	}
	return bd, nil
}

func parseCertBlock(b *pem.Block, n int, name string) (*x509.Certificate, error) {
	if b.Type != pemCertificate {
		return nil, errorf(ErrBadBundle, "block %d is %q, want %q (the %s)", n, shorten(b.Type), pemCertificate, name)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, errorf(ErrBadBundle, "block %d (%s): %w", n, name, err)
	}
	return c, nil
}

// parseBundleHeaders reads the group name and subnet from the CA block.
// Unknown headers are refused rather than ignored: a bundle from a newer
// ipopd may depend on them.
func parseBundleHeaders(h map[string]string) (string, netip.Prefix, error) {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k != headerGroup && k != headerSubnet {
			return "", netip.Prefix{}, errorf(ErrBadBundle, "block 1: unknown PEM header %q (bundle from a newer ipopd?)", shorten(k))
		}
	}
	g, ok := h[headerGroup]
	if !ok {
		return "", netip.Prefix{}, errorf(ErrBadBundle, "block 1: %s header is missing", headerGroup)
	}
	if err := ValidateName(g); err != nil {
		return "", netip.Prefix{}, errorf(ErrBadBundle, "block 1: %s header: %w", headerGroup, err)
	}
	sn, ok := h[headerSubnet]
	if !ok {
		return "", netip.Prefix{}, errorf(ErrBadBundle, "block 1: %s header is missing", headerSubnet)
	}
	p, err := parseStoredSubnet(sn)
	if err != nil {
		return "", netip.Prefix{}, errorf(ErrBadBundle, "block 1: %s header: %w", headerSubnet, err)
	}
	return g, p, nil
}

// Encode writes the bundle in its file format. The result holds the node's
// private key: write it with WriteBundleFile.
func (b *Bundle) Encode() ([]byte, error) {
	if b.CACert == nil || b.NodeCert == nil || b.NodeKey == nil {
		return nil, errorf(ErrBadBundle, "group: bundle: encode: CA certificate, node certificate and key are required")
	}
	if err := ValidateName(b.Group); err != nil {
		return nil, errorf(ErrBadBundle, "group: bundle: encode: group name: %w", err)
	}
	subnet, err := ValidateSubnet(b.Subnet)
	if err != nil {
		return nil, errorf(ErrBadBundle, "group: bundle: encode: %w", err)
	}
	node := b.NodeCert.Subject.CommonName
	if err := ValidateName(node); err != nil {
		return nil, errorf(ErrBadBundle, "group: bundle: encode: node name: %w", err)
	}
	key, err := encodeKey(b.NodeKey)
	if err != nil {
		return nil, errorf(ErrBadBundle, "group: bundle: encode: %w", err)
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# ipopd group bundle: node %s in group %s\n", node, b.Group)
	fmt.Fprintf(&buf, "# Secret: it holds the node's private key. Install it with: ipopd group install FILE\n")
	// pem.Encode into a bytes.Buffer fails only on invalid header keys,
	// and ours are constants.
	if err := pem.Encode(&buf, &pem.Block{
		Type:    pemCertificate,
		Headers: map[string]string{headerGroup: b.Group, headerSubnet: subnet.String()},
		Bytes:   b.CACert.Raw,
	}); err != nil {
		return nil, errorf(ErrBadBundle, "group: bundle: encode: %w", err)
	}
	if err := pem.Encode(&buf, &pem.Block{Type: pemCertificate, Bytes: b.NodeCert.Raw}); err != nil {
		return nil, errorf(ErrBadBundle, "group: bundle: encode: %w", err)
	}
	buf.Write(key)
	return buf.Bytes(), nil
}

// WriteBundleFile writes a bundle to path with mode 0600, atomically. It
// refuses to replace an existing file (ErrExists), which might be another
// node's bundle; the CLI should check before it calls Issue, since Issue
// already records the allocation.
func WriteBundleFile(path string, bundle []byte) error {
	if _, err := os.Lstat(path); err == nil {
		return errorf(ErrExists, "group: %s already exists; not overwriting it", path)
	} else if !os.IsNotExist(err) {
		return fmt.Errorf("group: %w", err)
	}
	dir, name := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := commitFiles(dir, []fileSpec{{name: name, data: bundle, perm: BundleFileMode}}); err != nil {
		return fmt.Errorf("group: writing bundle: %w", err)
	}
	return nil
}
