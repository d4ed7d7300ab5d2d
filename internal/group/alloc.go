package group

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Allocation records one member the owner admitted. Entries are never
// removed, so an address or pool is never handed out twice, even to a node
// that left; revocation marks an entry rather than deleting it. Files
// written before pools existed lack pool, past_serials and revoked; they
// still load.
type Allocation struct {
	Name     string       `json:"name"`
	Address  netip.Addr   `json:"address"`
	Pool     netip.Prefix `json:"pool,omitzero"` // DHCP pool slice; zero in small subnets and old files
	NodeID   string       `json:"node_id"`
	Serial   string       `json:"serial"` // hex, of the current certificate
	IssuedAt time.Time    `json:"issued_at"`
	// PastSerials are the serials of the certificates that renewal
	// replaced; revocation lists them too, since they stay valid until
	// they expire.
	PastSerials []string  `json:"past_serials,omitempty"`
	Revoked     time.Time `json:"revoked,omitzero"` // zero unless revoked
}

// IsRevoked reports whether the owner revoked this member.
func (a Allocation) IsRevoked() bool { return !a.Revoked.IsZero() }

// serials returns every serial issued to the member, current first.
func (a Allocation) serials() []string { return append([]string{a.Serial}, a.PastSerials...) }

// allocationsFile is the content of allocations.json.
type allocationsFile struct {
	Nodes []Allocation `json:"nodes"`
}

// findName returns the allocation of a node name. Names compare without
// case: two nodes called "Attic" and "attic" would confuse people.
func findName(allocs []Allocation, name string) (Allocation, bool) {
	for _, a := range allocs {
		if strings.EqualFold(a.Name, name) {
			return a, true
		}
	}
	return Allocation{}, false
}

// readAllocations reads allocations.json and validates it against the
// group's plan; the caller holds the directory lock.
func readAllocations(dir string, plan Layout) ([]Allocation, error) {
	if !plan.Subnet.IsValid() {
		return nil, errorf(ErrInvalidOption, "group: the state has no address plan (only an owner's state loaded with Load has one)")
	}
	path := filepath.Join(dir, FileAllocations)
	data, err := readStateFile(path)
	if err != nil {
		return nil, err
	}
	allocs, err := parseAllocations(data, plan)
	if err != nil {
		return nil, fmt.Errorf("group: %s: %w", path, err)
	}
	return allocs, nil
}

func parseAllocations(data []byte, plan Layout) ([]Allocation, error) {
	subnet := plan.Subnet
	var f allocationsFile
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&f); err != nil {
		return nil, errorf(ErrCorrupt, "not valid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errorf(ErrCorrupt, "unexpected data after the JSON object")
	}
	names := make(map[string]bool, len(f.Nodes))
	addrs := make(map[netip.Addr]bool, len(f.Nodes))
	ids := make(map[string]bool, len(f.Nodes))
	for i, a := range f.Nodes {
		if err := ValidateName(a.Name); err != nil {
			return nil, errorf(ErrCorrupt, "entry %d: %w", i+1, err)
		}
		if err := checkHostAddress(subnet, a.Address); err != nil {
			return nil, errorf(ErrCorrupt, "entry %d (%s): %w", i+1, a.Name, err)
		}
		if !validNodeID(a.NodeID) {
			return nil, errorf(ErrCorrupt, "entry %d (%s): node id %q is not %d hex digits", i+1, a.Name, shorten(a.NodeID), NodeIDLen)
		}
		for _, sn := range a.serials() {
			if _, err := hex.DecodeString(sn); err != nil || sn == "" {
				return nil, errorf(ErrCorrupt, "entry %d (%s): serial %q is not hex", i+1, a.Name, shorten(sn))
			}
		}
		if a.Pool.IsValid() {
			if err := checkPool(subnet, a.Pool, a.Address); err != nil {
				return nil, errorf(ErrCorrupt, "entry %d (%s): %w", i+1, a.Name, err)
			}
		}

		if a.IssuedAt.IsZero() {
			return nil, errorf(ErrCorrupt, "entry %d (%s): issued_at is missing", i+1, a.Name)
		}
		key := strings.ToLower(a.Name)
		if names[key] {
			return nil, errorf(ErrCorrupt, "entry %d: node name %q appears twice", i+1, a.Name)
		}
		if addrs[a.Address] {
			return nil, errorf(ErrCorrupt, "entry %d (%s): address %s appears twice", i+1, a.Name, a.Address)
		}
		if ids[a.NodeID] {
			return nil, errorf(ErrCorrupt, "entry %d (%s): node id %s appears twice", i+1, a.Name, a.NodeID)
		}
		names[key], addrs[a.Address], ids[a.NodeID] = true, true, true
		if err := plan.checkAllocation(a); err != nil {
			return nil, errorf(ErrCorrupt, "entry %d (%s): %w", i+1, a.Name, err)
		}
	}
	if err := checkPoolsApart(f.Nodes); err != nil {
		return nil, err
	}
	return f.Nodes, nil
}

// checkPoolsApart checks that no two pools overlap and no pool holds
// another node's address. It sorts instead of comparing every pair, since
// a group may have thousands of members and every allocation reads the
// file.
func checkPoolsApart(nodes []Allocation) error {
	pooled := make([]int, 0, len(nodes)) // indexes of nodes with a pool, by pool start
	byAddr := make([]int, len(nodes))    // indexes of all nodes, by address
	for i, a := range nodes {
		byAddr[i] = i
		if a.Pool.IsValid() {
			pooled = append(pooled, i)
		}
	}
	slices.SortFunc(pooled, func(i, j int) int {
		if c := nodes[i].Pool.Addr().Compare(nodes[j].Pool.Addr()); c != 0 {
			return c
		}
		return nodes[i].Pool.Bits() - nodes[j].Pool.Bits()
	})
	// Prefixes nest or are apart: if one contains a later one, it also
	// contains the pool right after it in this order.
	for k := 1; k < len(pooled); k++ {
		i, j := pooled[k-1], pooled[k]
		if nodes[i].Pool.Overlaps(nodes[j].Pool) {
			i, j = min(i, j), max(i, j)
			return errorf(ErrCorrupt, "entries %d and %d: pools %s and %s overlap", i+1, j+1, nodes[i].Pool, nodes[j].Pool)
		}
	}
	slices.SortFunc(byAddr, func(i, j int) int { return nodes[i].Address.Compare(nodes[j].Address) })
	for _, i := range pooled {
		a := nodes[i]
		k, _ := slices.BinarySearchFunc(byAddr, a.Pool.Addr(), func(j int, x netip.Addr) int { return nodes[j].Address.Compare(x) })
		for ; k < len(byAddr) && a.Pool.Contains(nodes[byAddr[k]].Address); k++ {
			if j := byAddr[k]; j != i {
				b := nodes[j]
				return errorf(ErrCorrupt, "entry %d (%s): address %s lies in the pool %s of %q", j+1, b.Name, b.Address, a.Pool, a.Name)
			}
		}
	}
	return nil
}

func encodeAllocations(allocs []Allocation) []byte {
	sorted := slices.Clone(allocs)
	slices.SortFunc(sorted, func(a, b Allocation) int { return a.Address.Compare(b.Address) })
	// Strings, addresses and times always marshal.
	b, _ := json.MarshalIndent(allocationsFile{Nodes: sorted}, "", "  ")
	return append(b, '\n')
}

// nextFree returns the lowest host address of subnet that is neither
// allocated nor inside a member's pool.
func nextFree(subnet netip.Prefix, allocs []Allocation) (netip.Addr, error) {
	used := make(map[netip.Addr]bool, len(allocs))
	for _, a := range allocs {
		used[a.Address] = true
	}
	last := broadcastAddr(subnet)
	for a := firstHost(subnet); a.Less(last); {
		if p, ok := poolOwner(a, allocs); ok {
			a = broadcastAddr(p.Pool).Next() // skip the whole pool
			continue
		}
		if !used[a] {
			return a, nil
		}
		a = a.Next()
	}
	return netip.Addr{}, errorf(ErrSubnetFull, "every host address of %s is allocated", subnet)
}

// Allocations returns every certificate the owner has issued, read fresh
// from allocations.json and sorted by address.
func (s *State) Allocations() ([]Allocation, error) {
	if s.CAKey == nil {
		return nil, errorf(ErrNotOwner, "group: only the owner of group %q keeps allocations", s.Name)
	}
	unlock, err := lockDir(s.Dir, false)
	if err != nil {
		return nil, fmt.Errorf("group: %w", err)
	}
	defer unlock()
	return readAllocations(s.Dir, s.Layout)
}

// Issue creates a member certificate and key for nodeName and returns them
// as a bundle (see Bundle.Encode and WriteBundleFile). addr picks the
// node's address; the zero Addr takes the lowest free one. The node also
// gets the lowest free DHCP pool of the group's plan (see layout.go). An
// address inside a member's pool is refused (ErrAddressTaken), and so is
// one outside the router range of a group with a chosen pool size
// (ErrInvalidAddress); a node is refused when no address or pool is left
// (ErrSubnetFull, naming the fix). Only the owner
// can issue (ErrNotOwner). A name or address issued before is refused
// (ErrNameTaken, ErrAddressTaken). The allocation is recorded only after
// everything else succeeded, in one atomic write of allocations.json.
func (s *State) Issue(nodeName string, addr netip.Addr, now time.Time) ([]byte, error) {
	if s.CAKey == nil {
		return nil, errorf(ErrNotOwner, "group: this node is not the owner of group %q; only the owner (the node that created it) can issue certificates", s.Name)
	}
	if now.IsZero() {
		return nil, errorf(ErrInvalidOption, "group: issue: time is zero")
	}
	if err := ValidateName(nodeName); err != nil {
		return nil, fmt.Errorf("group: issue: node name: %w", err)
	}
	if addr.IsValid() {
		addr = addr.Unmap()
		if err := checkHostAddress(s.Subnet, addr); err != nil {
			return nil, fmt.Errorf("group: issue %q: %w", nodeName, err)
		}
	}
	if err := checkValidity(s.CACert, fmt.Sprintf("group %q CA", s.Name), now); err != nil {
		return nil, fmt.Errorf("group: issue: %w", err)
	}

	unlock, err := s.lockForWrite()
	if err != nil {
		return nil, err
	}
	defer unlock()
	// Work from the files, not from memory: the CLI and the daemon may
	// both issue from one directory.
	allocs, err := readAllocations(s.Dir, s.Layout)
	if err != nil {
		return nil, err
	}
	if a, ok := findName(allocs, nodeName); ok {
		return nil, errorf(ErrNameTaken, "group: issue: node name %q was already issued (as %q, address %s)", nodeName, a.Name, a.Address)
	}
	if addr.IsValid() {
		for _, a := range allocs {
			if a.Address == addr {
				return nil, errorf(ErrAddressTaken, "group: issue %q: address %s is already allocated to %q", nodeName, addr, a.Name)
			}
		}
		if a, ok := poolOwner(addr, allocs); ok {
			return nil, errorf(ErrAddressTaken, "group: issue %q: address %s lies in the DHCP pool %s of %q", nodeName, addr, a.Pool, a.Name)
		}
		if err := s.Layout.checkRouterAddress(addr); err != nil {
			return nil, fmt.Errorf("group: issue %q: %w", nodeName, err)
		}
	} else if addr, err = s.Layout.nextAddress(allocs); err != nil {
		return nil, fmt.Errorf("group: issue %q: %w", nodeName, err)
	}
	pool, err := s.Layout.nextPool(allocs, addr)
	if err != nil {
		return nil, fmt.Errorf("group: issue %q: %w", nodeName, err)
	}

	key, err := generateKey()
	if err != nil {
		return nil, fmt.Errorf("group: issue: %w", err)
	}
	cert, err := newNodeCert(s.CACert, s.CAKey, s.Name, nodeName, addr, pool, &key.PublicKey, now)
	if err != nil {
		return nil, fmt.Errorf("group: issue: %w", err)
	}
	bd := &Bundle{Group: s.Name, Subnet: s.Subnet, CACert: s.CACert, NodeCert: cert, NodeKey: key}
	out, err := bd.Encode()
	if err != nil {
		return nil, err
	}
	// Parse our own output: never hand out a bundle Install would refuse.
	check, err := parseBundle(out)
	if err != nil {
		return nil, fmt.Errorf("group: issue: generated bundle does not validate: %w", err)
	}
	allocs = append(allocs, Allocation{
		Name:     nodeName,
		Address:  addr,
		Pool:     pool,
		NodeID:   check.NodeID,
		Serial:   serialHex(cert),
		IssuedAt: now.UTC(),
	})
	if err := commitFiles(s.Dir, []fileSpec{{name: FileAllocations, data: encodeAllocations(allocs), perm: publicMode}}); err != nil {
		return nil, fmt.Errorf("group: issue: recording allocation: %w", err)
	}
	return out, nil
}

// checkUnchanged refuses to issue if the directory now holds another CA
// than the one s was loaded with (the group was re-created meanwhile).
func (s *State) checkUnchanged() error {
	c, err := readCert(s.Dir, FileCACert)
	if err != nil {
		return err
	}
	if !c.Equal(s.CACert) {
		return errorf(ErrCorrupt, "group: %s changed since the state was loaded; load it again", filepath.Join(s.Dir, FileCACert))
	}
	return nil
}
