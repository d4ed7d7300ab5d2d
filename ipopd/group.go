package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/ipopd/ipopd/internal/group"
)

func cmdGroupCreate(args []string) error {
	c := newCommand("group create", "", `Create a group. This router becomes its owner and holds the group CA key
(keep a backup of the state directory).

The subnet holds one address per router, in a range at its start, and one
DHCP pool per router for its LAN, from the rest. The pool size fixes how
many routers the group can hold, for its whole life: a /16 holds 255 with
pools of 256 addresses (the default), 508 with 128, 1008 with 64, 1984 with
32 and 3840 with 16. Choose it with --pool-size, or give --members and the
largest pool size that holds them is taken.`)
	_, state := commonFlags(c)
	name := c.fs.String("name", "", "group `name` (required)")
	subnet := c.fs.String("subnet", group.DefaultSubnet.String(), "virtual `subnet` of the group")
	nodeName := c.fs.String("node-name", "", "this router's `name` in the group (default: host name)")
	poolSize := c.fs.Int("pool-size", 0, "`addresses` in each router's DHCP pool: a power of two, at least 16\n(default: a 256th of the subnet, 256 in a /16)")
	members := c.fs.Int("members", 0, "`number` of routers the group must hold; without --pool-size, takes\nthe largest pool size that holds them (--members 1000 in a /16: pools of 64)")
	_, err := c.parseN(args, 0)
	if err != nil {
		return err
	}
	if *name == "" {
		return usageError{"group create: --name is required"}
	}
	pfx, err := netip.ParsePrefix(*subnet)
	if err != nil {
		return usageError{fmt.Sprintf("group create: --subnet %q is not a CIDR prefix like 10.77.0.0/16", *subnet)}
	}
	st, err := group.Create(*state, group.CreateOptions{Name: *name, Subnet: pfx, NodeName: *nodeName, PoolSize: *poolSize, Members: *members, Now: time.Now()})
	if err != nil {
		return err
	}
	fmt.Printf("created group %q (subnet %s) in %s\naddress plan: %s\nthis router: %q, node id %s, address %s\nCA fingerprint: %s\n",
		st.Name, st.Subnet, st.Dir, st.Layout, st.NodeName, st.NodeID, st.Address, group.Fingerprint(st.CACert))
	fmt.Println("next: 'ipopd group issue --name NODE --out NODE.bundle' for each other router")
	return nil
}

func cmdGroupIssue(args []string) error {
	c := newCommand("group issue", "", "Issue a certificate bundle for another router (owner only). The bundle\nholds that router's private key: move it over a safe channel, then delete it.")
	_, state := commonFlags(c)
	name := c.fs.String("name", "", "the other router's `name` (required)")
	addr := c.fs.String("address", "", "its virtual `address` (default: the next free one)")
	out := c.fs.String("out", "", "bundle `file` to write (required; not overwritten)")
	_, err := c.parseN(args, 0)
	if err != nil {
		return err
	}
	if *name == "" || *out == "" {
		return usageError{"group issue: --name and --out are required"}
	}
	var a netip.Addr
	if *addr != "" {
		var err error
		if a, err = netip.ParseAddr(*addr); err != nil {
			return usageError{fmt.Sprintf("group issue: --address %q is not an IP address", *addr)}
		}
	}
	// Check the output first: Issue records the allocation, and a bundle
	// that cannot be written would waste the name and address.
	if _, err := os.Lstat(*out); err == nil {
		return fmt.Errorf("group issue: %s already exists; not overwriting it", *out)
	}
	st, err := group.Load(*state)
	if err != nil {
		return err
	}
	bundle, err := st.Issue(*name, a, time.Now())
	if err != nil {
		return err
	}
	if err := group.WriteBundleFile(*out, bundle); err != nil {
		return fmt.Errorf("%w (the name %q is now allocated; issue again under another name)", err, *name)
	}
	b, err := group.ParseBundle(bundle)
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s for %q (address %s) in group %q\ninstall it there with: ipopd group install %s\n",
		*out, *name, b.Address, st.Name, *out)
	return nil
}

func cmdGroupInstall(args []string) error {
	c := newCommand("group install", "FILE", "Install a bundle from the group owner: this router becomes a member.")
	_, state := commonFlags(c)
	force := c.fs.Bool("force", false, "replace another group or node already installed here")
	pos, err := c.parseN(args, 1)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		return fmt.Errorf("group install: %w", err)
	}
	st, err := group.Install(*state, data, group.InstallOptions{Now: time.Now(), Force: *force})
	if err != nil {
		return err
	}
	fmt.Printf("installed: router %q (node id %s, address %s) in group %q, state in %s\n",
		st.NodeName, st.NodeID, st.Address, st.Name, st.Dir)
	fmt.Println("add the owner or another member as 'list endpoint' in the config, then start ipopd")
	return nil
}

func cmdGroupShow(args []string) error {
	c := newCommand("group show", "", "Show this router's group membership (never keys).")
	_, state := commonFlags(c)
	_, err := c.parseN(args, 0)
	if err != nil {
		return err
	}
	st, err := group.Load(*state)
	if err != nil {
		if errors.Is(err, group.ErrNoGroup) {
			return fmt.Errorf("%w: create one with 'ipopd group create' or install a bundle with 'ipopd group install'", err)
		}
		return err
	}
	fmt.Printf("group:          %s\nsubnet:         %s\nnode:           %s\nnode id:        %s\naddress:        %s\nowner:          %t\ncertificate:    valid until %s\nCA fingerprint: %s\n",
		st.Name, st.Subnet, st.NodeName, st.NodeID, st.Address, st.Owner(), st.NodeCert.NotAfter.Format(time.RFC3339), group.Fingerprint(st.CACert))
	if st.Owner() {
		fmt.Printf("address plan:   %s\n", st.Layout)
	}
	return nil
}
