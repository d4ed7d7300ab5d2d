package group

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"time"
)

// InstallOptions configure Install.
type InstallOptions struct {
	Now time.Time // required; the CLI passes time.Now()
	// Force replaces a different group or node already in the directory.
	// It never replaces an owner's state: that would destroy the CA key.
	Force bool
	// LocalPrefixes returns the prefixes configured on this machine, to
	// refuse a group subnet that overlaps them; nil reads the interface
	// addresses. Not consulted when renewing the node already installed,
	// whose own overlay interface sits in the subnet.
	LocalPrefixes func() ([]netip.Prefix, error)
}

// Install makes this node a member using a bundle from the group owner. It
// validates the bundle, its validity at o.Now and the subnet before it
// touches dir. A bundle for the node already installed (same CA, same node
// name) replaces it, as renewal does; a different group or node needs
// o.Force (else ErrExists); an owner's directory is always refused
// (ErrCAKeyPresent). On failure dir is left as it was.
func Install(dir string, bundle []byte, o InstallOptions) (*State, error) {
	if dir == "" {
		return nil, errorf(ErrInvalidOption, "group: install: state directory is not set")
	}
	if o.Now.IsZero() {
		return nil, errorf(ErrInvalidOption, "group: install: time is zero")
	}
	bd, err := parseBundle(bundle)
	if err != nil {
		return nil, fmt.Errorf("group: install: bundle: %w", err)
	}
	if err := checkValidity(bd.CACert, fmt.Sprintf("group %q CA certificate", bd.Group), o.Now); err != nil {
		return nil, fmt.Errorf("group: install: %w", err)
	}
	if err := checkValidity(bd.NodeCert, fmt.Sprintf("node certificate %q", bd.NodeName), o.Now); err != nil {
		return nil, fmt.Errorf("group: install: %w", err)
	}
	created, err := ensureDir(dir)
	if err != nil {
		return nil, fmt.Errorf("group: install: %w", err)
	}
	s, err := install(dir, bd, o, nil)
	if err != nil {
		if created {
			_ = os.Remove(dir)
		}
		return nil, err
	}
	return s, nil
}

// install writes bd into dir. crlDER, if not nil, is a revocation list of
// the bundle's CA (already verified) to store with it; a renewal keeps the
// stored list unless crlDER is newer. A different group's list is removed.
func install(dir string, bd *Bundle, o InstallOptions, crlDER []byte) (*State, error) {
	unlock, err := lockDir(dir, true)
	if err != nil {
		return nil, fmt.Errorf("group: install: %w", err)
	}
	defer unlock()
	present, err := presentStateFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("group: install: %w", err)
	}
	if slices.Contains(present, FileCAKey) || slices.Contains(present, FileAllocations) || slices.Contains(present, FileInvites) {
		what := "a group"
		if cur, err := load(dir); err == nil {
			what = fmt.Sprintf("group %q", cur.Name)
		}
		return nil, errorf(ErrCAKeyPresent, "group: install: %s holds the CA key of %s (this node created it); installing a bundle would destroy the group; use another --state directory", dir, what)
	}
	renewal := false
	if len(present) > 0 {
		cur, lerr := load(dir)
		switch {
		case lerr == nil && cur.CACert.Equal(bd.CACert) && cur.Name == bd.Group && cur.NodeName == bd.NodeName:
			renewal = true
		case o.Force:
		case lerr == nil:
			return nil, errorf(ErrExists, "group: install: %s already holds node %q of group %q (CA %s); the bundle is for node %q of group %q (CA %s); use --force to replace it",
				dir, cur.NodeName, cur.Name, shortFingerprint(cur.CACert), bd.NodeName, bd.Group, shortFingerprint(bd.CACert))
		case errors.Is(lerr, ErrNoGroup):
			return nil, errorf(ErrExists, "group: install: %s holds leftover group files; use --force to replace them", dir)
		default:
			return nil, errorf(ErrExists, "group: install: %s holds damaged group state (%w); use --force to replace it", dir, lerr)
		}
	}
	if !renewal {
		if err := checkLocalOverlap(bd.Subnet, o.LocalPrefixes); err != nil {
			return nil, fmt.Errorf("group: install: %w", err)
		}
	}
	keyPEM, err := encodeKey(bd.NodeKey)
	if err != nil {
		return nil, fmt.Errorf("group: install: %w", err)
	}
	files := []fileSpec{
		{name: FileCACert, data: certPEM(bd.CACert), perm: publicMode},
		{name: FileNodeCert, data: certPEM(bd.NodeCert), perm: publicMode},
		{name: FileNodeKey, data: keyPEM, perm: secretMode},
	}
	crlSpec, err := installCRLSpec(dir, bd.CACert, renewal, crlDER)
	if err != nil {
		return nil, fmt.Errorf("group: install: %w", err)
	}
	if crlSpec != nil {
		files = append(files, *crlSpec)
	}
	// Last: group.json makes the directory a group.
	files = append(files, fileSpec{name: FileGroup, data: encodeGroupFile(groupFile{Name: bd.Group, Subnet: bd.Subnet.String(), NodeName: bd.NodeName}), perm: publicMode})
	if err := commitFiles(dir, files); err != nil {
		return nil, fmt.Errorf("group: install: %w", err)
	}
	if err := tightenDir(dir); err != nil {
		return nil, fmt.Errorf("group: install: bundle installed, but: %w", err)
	}
	s := &State{
		Dir: dir, Name: bd.Group, Subnet: bd.Subnet, NodeName: bd.NodeName,
		CACert: bd.CACert, NodeCert: bd.NodeCert, NodeKey: bd.NodeKey, NodeID: bd.NodeID, Address: bd.Address, Pool: bd.Pool,
		crl: &crlHolder{},
	}
	rev, err := readCRL(dir, bd.CACert)
	if err != nil {
		return nil, fmt.Errorf("group: install: installed, but: %w", err)
	}
	s.crl.set(rev)
	return s, nil
}

// installCRLSpec decides what install does with crl.der: write crlDER,
// remove a list of the group being replaced, or (nil) leave it.
func installCRLSpec(dir string, ca *x509.Certificate, renewal bool, crlDER []byte) (*fileSpec, error) {
	if !renewal {
		if crlDER != nil {
			return &fileSpec{name: FileCRL, data: crlDER, perm: publicMode}, nil
		}
		return &fileSpec{name: FileCRL, remove: true}, nil
	}
	if crlDER == nil {
		return nil, nil
	}
	rev, err := parseCRL(crlDER, ca)
	if err != nil {
		return nil, err
	}
	cur, err := readCRL(dir, ca)
	if err != nil {
		return nil, err
	}
	if cur != nil && rev.number.Cmp(cur.number) <= 0 {
		return nil, nil
	}
	return &fileSpec{name: FileCRL, data: crlDER, perm: publicMode}, nil
}

// shortFingerprint is enough of a CA fingerprint to tell two CAs apart in
// a message.
func shortFingerprint(c *x509.Certificate) string {
	fp := Fingerprint(c)
	if len(fp) > 16 {
		return fp[:16]
	}
	return fp
}
