package group

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
)

// DefaultDir is the state directory unless --state says otherwise.
const DefaultDir = "/etc/ipop"

// Names of the files in the state directory.
const (
	FileCACert      = "ca.crt"
	FileCAKey       = "ca.key"
	FileNodeCert    = "node.crt"
	FileNodeKey     = "node.key"
	FileGroup       = "group.json"
	FileAllocations = "allocations.json"
	FileInvites     = "invites.json"
	FileCRL         = "crl.der"
)

// stateFiles lists every file this package keeps in a state directory.
var stateFiles = []string{FileCACert, FileCAKey, FileNodeCert, FileNodeKey, FileGroup, FileAllocations, FileInvites, FileCRL}

// State is this node's membership in a group, as held in its state
// directory. Its fields are read-only after Create, Load, Install or
// InstallJoined (RenewSelf and InstallRenamed replace NodeCert: call them
// from the goroutine that owns the State). The revocation list lives
// behind an atomic pointer, so the DTLS layer may call VerifyPeer from
// many goroutines while ApplyCRL or Revoke runs.
type State struct {
	Dir      string
	Name     string // group name
	Subnet   netip.Prefix
	NodeName string
	CACert   *x509.Certificate
	CAKey    *ecdsa.PrivateKey // nil unless this node owns the group
	NodeCert *x509.Certificate
	NodeKey  *ecdsa.PrivateKey
	NodeID   string
	Address  netip.Addr
	Pool     netip.Prefix // this node's DHCP pool slice; zero if it has none
	// Layout is the group's address plan, from which the owner allocates;
	// zero on other members, which do not keep it.
	Layout Layout

	crl *crlHolder // current revocation list; shared by copies of the State
}

// Owner reports whether this node holds the group CA key.
func (s *State) Owner() bool { return s.CAKey != nil }

// String describes the state without keys, so printing a State with %v
// cannot leak them into a log.
func (s State) String() string {
	return fmt.Sprintf("group %q subnet %s: node %q (%s) address %s pool %s, owner %t, state %s",
		s.Name, s.Subnet, s.NodeName, s.NodeID, s.Address, s.Pool, s.CAKey != nil, s.Dir)
}

// GoString keeps %#v from printing the keys too.
func (s State) GoString() string { return s.String() }

// groupFile is the content of group.json.
type groupFile struct {
	Name     string `json:"name"`
	Subnet   string `json:"subnet"`
	NodeName string `json:"node_name"`
	Owner    bool   `json:"owner"`
	// PoolSize is the number of addresses of a member's DHCP pool (see
	// layout.go), written on the owner only; 0: no pools. Absent in files
	// written before it existed, and on members: the legacy rule.
	PoolSize *int `json:"pool_size,omitempty"`
}

// Load reads and cross-checks the state in dir. It returns an error
// matching ErrNoGroup if dir holds no group, and for a damaged or
// inconsistent file an error naming that file (ErrCorrupt, or
// ErrPermissions for a key readable by others). It does not check validity
// periods: the caller decides what an expired certificate means.
func Load(dir string) (*State, error) {
	if dir == "" {
		return nil, errorf(ErrInvalidOption, "group: state directory is not set")
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, errorf(ErrNoGroup, "group: no group in %s (the directory does not exist)", dir)
	}
	unlock, err := lockDir(dir, false)
	if err != nil {
		return nil, fmt.Errorf("group: %w", err)
	}
	defer unlock()
	return load(dir)
}

// load is Load for a caller that holds the directory lock.
func load(dir string) (*State, error) {
	gpath := filepath.Join(dir, FileGroup)
	data, err := readFileLimited(gpath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errorf(ErrNoGroup, "group: no group in %s (%s not found)", dir, FileGroup)
	}
	if err != nil {
		return nil, errorf(ErrCorrupt, "group: %w", err)
	}
	g, plan, err := parseGroupFile(data)
	if err != nil {
		return nil, fmt.Errorf("group: %s: %w", gpath, err)
	}
	s := &State{Dir: dir, Name: g.Name, Subnet: plan.Subnet, NodeName: g.NodeName, crl: &crlHolder{}}

	if s.CACert, err = readCert(dir, FileCACert); err != nil {
		return nil, err
	}
	if err := checkCA(s.CACert, s.Name, ErrCorrupt); err != nil {
		return nil, fmt.Errorf("group: %s: %w", filepath.Join(dir, FileCACert), err)
	}

	npath := filepath.Join(dir, FileNodeCert)
	if s.NodeCert, err = readCert(dir, FileNodeCert); err != nil {
		return nil, err
	}
	if err := s.NodeCert.CheckSignatureFrom(s.CACert); err != nil {
		return nil, errorf(ErrCorrupt, "group: %s: not signed by the group CA in %s", npath, FileCACert)
	}
	m, err := checkMember(s.NodeCert, s.Name, s.Subnet, ErrCorrupt)
	if err != nil {
		return nil, fmt.Errorf("group: %s: %w", npath, err)
	}
	if m.Name != s.NodeName {
		return nil, errorf(ErrCorrupt, "group: %s: certificate is for node %q but %s names %q", npath, m.Name, FileGroup, s.NodeName)
	}
	s.NodeID, s.Address, s.Pool = m.NodeID, m.Address, m.Pool
	rev, err := readCRL(dir, s.CACert)
	if err != nil {
		return nil, err
	}
	s.crl.set(rev)

	if s.NodeKey, err = readKey(dir, FileNodeKey); err != nil {
		return nil, err
	}
	if !s.NodeKey.PublicKey.Equal(s.NodeCert.PublicKey) {
		return nil, errorf(ErrCorrupt, "group: %s: key does not match %s", filepath.Join(dir, FileNodeKey), FileNodeCert)
	}

	kpath := filepath.Join(dir, FileCAKey)
	if !g.Owner {
		if g.PoolSize != nil {
			return nil, errorf(ErrCorrupt, "group: %s: has pool_size, which only the owner keeps, but says this node is not the owner", gpath)
		}
		if _, err := os.Lstat(kpath); err == nil {
			return nil, errorf(ErrCorrupt, "group: %s exists but %s says this node is not the group owner", kpath, FileGroup)
		}
		return s, nil
	}
	if s.CAKey, err = readKey(dir, FileCAKey); err != nil {
		return nil, err
	}
	if !s.CAKey.PublicKey.Equal(s.CACert.PublicKey) {
		return nil, errorf(ErrCorrupt, "group: %s: key does not match %s", kpath, FileCACert)
	}
	s.Layout = plan
	allocs, err := readAllocations(dir, s.Layout)
	if err != nil {
		return nil, err
	}
	if a, ok := findName(allocs, s.NodeName); !ok || a.Address != s.Address || a.Pool != s.Pool {
		return nil, errorf(ErrCorrupt, "group: %s: does not record this node %q at %s with pool %s", filepath.Join(dir, FileAllocations), s.NodeName, s.Address, s.Pool)
	}
	return s, nil
}

// parseGroupFile decodes and validates group.json and returns the
// group's address plan (its Subnet is the group subnet). Unknown fields
// are accepted so that a downgraded ipopd still reads a newer file.
func parseGroupFile(data []byte) (groupFile, Layout, error) {
	var g groupFile
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&g); err != nil {
		return g, Layout{}, errorf(ErrCorrupt, "not valid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return g, Layout{}, errorf(ErrCorrupt, "unexpected data after the JSON object")
	}
	if err := ValidateName(g.Name); err != nil {
		return g, Layout{}, errorf(ErrCorrupt, "group name: %w", err)
	}
	if err := ValidateName(g.NodeName); err != nil {
		return g, Layout{}, errorf(ErrCorrupt, "node name: %w", err)
	}
	p, err := parseStoredSubnet(g.Subnet)
	if err != nil {
		return g, Layout{}, errorf(ErrCorrupt, "%w", err)
	}
	plan, err := layoutFor(p, g.PoolSize)
	if err != nil {
		return g, Layout{}, err
	}
	return g, plan, nil
}

func encodeGroupFile(g groupFile) []byte {
	// Marshalling a struct of strings, a bool and an int cannot fail.
	b, _ := json.MarshalIndent(g, "", "  ")
	return append(b, '\n')
}

// readCert reads a one-certificate PEM file from the state directory.
func readCert(dir, name string) (*x509.Certificate, error) {
	path := filepath.Join(dir, name)
	data, err := readStateFile(path)
	if err != nil {
		return nil, err
	}
	b, err := decodeSingleBlock(data, pemCertificate, ErrCorrupt)
	if err != nil {
		return nil, fmt.Errorf("group: %s: %w", path, err)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, errorf(ErrCorrupt, "group: %s: %w", path, err)
	}
	return c, nil
}

// readKey reads a private key file, refusing one that others can read.
func readKey(dir, name string) (*ecdsa.PrivateKey, error) {
	path := filepath.Join(dir, name)
	info, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errorf(ErrCorrupt, "group: %s is missing", path)
	}
	if err != nil {
		return nil, errorf(ErrCorrupt, "group: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, errorf(ErrCorrupt, "group: %s is not a regular file", path)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, errorf(ErrPermissions, "group: %s: permissions %04o are too open for a private key; run chmod 600 %s", path, info.Mode().Perm(), path)
	}
	data, err := readStateFile(path)
	if err != nil {
		return nil, err
	}
	b, err := decodeSingleBlock(data, pemECKey, ErrCorrupt)
	if err != nil {
		return nil, fmt.Errorf("group: %s: %w", path, err)
	}
	k, err := parseKeyBlock(b, ErrCorrupt)
	if err != nil {
		return nil, fmt.Errorf("group: %s: %w", path, err)
	}
	return k, nil
}

// presentStateFiles returns which of the package's files exist in dir.
func presentStateFiles(dir string) ([]string, error) {
	var present []string
	for _, n := range stateFiles {
		_, err := os.Lstat(filepath.Join(dir, n))
		if err == nil {
			present = append(present, n)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return present, nil
}

// readStateFile reads a file that a loaded group needs; a missing one is
// reported as such, not as an open error.
func readStateFile(path string) ([]byte, error) {
	data, err := readFileLimited(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errorf(ErrCorrupt, "group: %s is missing", path)
	}
	if err != nil {
		return nil, errorf(ErrCorrupt, "group: %w", err)
	}
	return data, nil
}

// lockForWrite takes the state directory's exclusive lock and checks that
// the files still say what this State was loaded from, so that the CLI
// and the daemon never write over each other. The caller defers unlock.
func (s *State) lockForWrite() (unlock func(), err error) {
	unlock, err = lockDir(s.Dir, true)
	if err != nil {
		return nil, fmt.Errorf("group: %w", err)
	}
	if err := s.checkUnchanged(); err != nil {
		unlock()
		return nil, err
	}
	return unlock, nil
}
