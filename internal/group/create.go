package group

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"
)

// CreateOptions configure Create.
type CreateOptions struct {
	Name     string       // group name
	Subnet   netip.Prefix // zero: DefaultSubnet; masked before use
	NodeName string       // this node's name; "" takes the host name's first label
	// PoolSize is the number of addresses of each member's DHCP pool: a
	// power of two, at least MinPoolSize. 0 takes the largest that holds
	// Members, or DefaultPoolSize if Members is 0. See PlanLayout.
	PoolSize int
	// Members, if not 0, is how many members (owner included) the group
	// must be able to hold; Create refuses a plan that holds fewer.
	Members int
	Now     time.Time // required; the CLI passes time.Now()
	// LocalPrefixes returns the prefixes configured on this machine, to
	// refuse an overlapping subnet; nil reads the interface addresses.
	LocalPrefixes func() ([]netip.Prefix, error)
}

// Create makes a new group in dir with this node as its owner: the CA, this
// node's certificate at the subnet's first host address with the first
// DHCP pool, group.json (with the pool size) and allocations.json. It
// refuses a dir that already holds group state (ErrExists), a subnet that
// overlaps a local interface prefix (ErrSubnetOverlap) and a pool size or
// member count the subnet cannot hold (ErrInvalidOption, saying what
// would). On failure dir is left as it was.
func Create(dir string, o CreateOptions) (*State, error) {
	if dir == "" {
		return nil, errorf(ErrInvalidOption, "group: create: state directory is not set")
	}
	if o.Now.IsZero() {
		return nil, errorf(ErrInvalidOption, "group: create: time is zero")
	}
	if err := ValidateName(o.Name); err != nil {
		return nil, fmt.Errorf("group: create: group name: %w", err)
	}
	nodeName := o.NodeName
	if nodeName == "" {
		var err error
		if nodeName, err = defaultNodeName(); err != nil {
			return nil, fmt.Errorf("group: create: %w", err)
		}
	} else if err := ValidateName(nodeName); err != nil {
		return nil, fmt.Errorf("group: create: node name: %w", err)
	}
	subnet := o.Subnet
	if !subnet.IsValid() {
		subnet = DefaultSubnet
	}
	subnet, err := ValidateSubnet(subnet)
	if err != nil {
		return nil, fmt.Errorf("group: create: %w", err)
	}
	plan, err := PlanLayout(subnet, o.PoolSize, o.Members)
	if err != nil {
		return nil, fmt.Errorf("group: create: %w", err)
	}
	if err := checkLocalOverlap(subnet, o.LocalPrefixes); err != nil {
		return nil, fmt.Errorf("group: create: %w", err)
	}

	created, err := ensureDir(dir)
	if err != nil {
		return nil, fmt.Errorf("group: create: %w", err)
	}
	s, err := create(dir, o.Name, nodeName, plan, o.Now)
	if err != nil {
		if created {
			// Only removes the directory if it is still empty.
			_ = os.Remove(dir)
		}
		return nil, err
	}
	return s, nil
}

func create(dir, groupName, nodeName string, plan Layout, now time.Time) (*State, error) {
	subnet := plan.Subnet
	unlock, err := lockDir(dir, true)
	if err != nil {
		return nil, fmt.Errorf("group: create: %w", err)
	}
	defer unlock()
	present, err := presentStateFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("group: create: %w", err)
	}
	if len(present) > 0 {
		what := "group state (" + strings.Join(present, ", ") + ")"
		if g, err := load(dir); err == nil {
			what = fmt.Sprintf("group %q (node %q)", g.Name, g.NodeName)
		}
		return nil, errorf(ErrExists, "group: create: %s already holds %s; use another --state directory or remove it first", dir, what)
	}

	caKey, err := generateKey()
	if err != nil {
		return nil, fmt.Errorf("group: create: %w", err)
	}
	ca, err := newCACert(groupName, caKey, now)
	if err != nil {
		return nil, fmt.Errorf("group: create: %w", err)
	}
	nodeKey, err := generateKey()
	if err != nil {
		return nil, fmt.Errorf("group: create: %w", err)
	}
	addr, err := plan.nextAddress(nil)
	if err != nil {
		return nil, fmt.Errorf("group: create: %w", err)
	}
	pool, err := plan.nextPool(nil, addr)
	if err != nil {
		return nil, fmt.Errorf("group: create: %w", err)
	}
	cert, err := newNodeCert(ca, caKey, groupName, nodeName, addr, pool, &nodeKey.PublicKey, now)
	if err != nil {
		return nil, fmt.Errorf("group: create: %w", err)
	}
	id, err := NodeIDFromPublicKey(&nodeKey.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("group: create: %w", err)
	}
	caKeyPEM, err := encodeKey(caKey)
	if err != nil {
		return nil, fmt.Errorf("group: create: %w", err)
	}
	nodeKeyPEM, err := encodeKey(nodeKey)
	if err != nil {
		return nil, fmt.Errorf("group: create: %w", err)
	}
	allocs := []Allocation{{Name: nodeName, Address: addr, Pool: pool, NodeID: id, Serial: serialHex(cert), IssuedAt: now.UTC()}}
	files := []fileSpec{
		{name: FileCACert, data: certPEM(ca), perm: publicMode},
		{name: FileCAKey, data: caKeyPEM, perm: secretMode},
		{name: FileNodeCert, data: certPEM(cert), perm: publicMode},
		{name: FileNodeKey, data: nodeKeyPEM, perm: secretMode},
		{name: FileAllocations, data: encodeAllocations(allocs), perm: publicMode},
		// Last: group.json makes the directory a group.
		{name: FileGroup, data: encodeGroupFile(groupFile{Name: groupName, Subnet: subnet.String(), NodeName: nodeName, Owner: true, PoolSize: &plan.PoolSize}), perm: publicMode},
	}
	if err := commitFiles(dir, files); err != nil {
		return nil, fmt.Errorf("group: create: %w", err)
	}
	if err := tightenDir(dir); err != nil {
		return nil, fmt.Errorf("group: create: group written, but: %w", err)
	}
	return &State{
		Dir: dir, Name: groupName, Subnet: subnet, NodeName: nodeName,
		CACert: ca, CAKey: caKey, NodeCert: cert, NodeKey: nodeKey, NodeID: id, Address: addr, Pool: pool,
		Layout: plan, crl: &crlHolder{},
	}, nil
}
