package netlab

import "strings"

// Link joins host a and host b with a veth pair named aIf inside a and bIf
// inside b, both up. a and b may be the same host if the names differ.
//
// The pair is created in the root namespace under two random names, each end
// is moved into its namespace at once and renamed there, so a failure can
// only ever leave behind an interface we created (and it is deleted).
func (l *Lab) Link(a *Host, aIf string, b *Host, bIf string) {
	l.t.Helper()
	for _, n := range []string{aIf, bIf} {
		if err := checkIfName(n); err != nil {
			l.fatalf("Link: %v", err)
		}
	}
	if a == b && aIf == bIf {
		l.fatalf("Link: both ends in host %s are called %s", a.name, aIf)
	}
	for _, e := range []struct {
		h      *Host
		ifname string
	}{{a, aIf}, {b, bIf}} {
		if _, err := e.h.ip("link", "show", "dev", e.ifname); err == nil {
			l.fatalf("Link: %v: host %s already has an interface %s", ErrInvalid, e.h.name, e.ifname)
		}
	}
	if err := l.link(a, aIf, b, bIf); err != nil {
		l.fatalf("Link(%s/%s, %s/%s): %v", a.name, aIf, b.name, bIf, err)
	}
}

func (l *Lab) link(a *Host, aIf string, b *Host, bIf string) error {
	var tmpA, tmpB string
	for {
		var err error
		if tmpA, err = randomIfName(); err != nil {
			return err
		}
		if tmpB, err = randomIfName(); err != nil {
			return err
		}
		if tmpA != tmpB {
			break
		}
	}
	if _, err := runTimeout(setupTimeout, "ip", "link", "add", tmpA, "type", "veth", "peer", "name", tmpB); err != nil {
		return err
	}
	// From here on a failure must remove the pair from the root namespace.
	// Deleting one end deletes both; an end already moved away is gone from
	// the root namespace and dies with its namespace.
	removeLeftovers := func() {
		for _, n := range []string{tmpA, tmpB} {
			if _, err := runTimeout(setupTimeout, "ip", "link", "show", "dev", n); err == nil {
				_, _ = runTimeout(setupTimeout, "ip", "link", "del", "dev", n)
			}
		}
	}
	if _, err := runTimeout(setupTimeout, "ip", "link", "set", "dev", tmpA, "netns", a.ns); err != nil {
		removeLeftovers()
		return err
	}
	if _, err := runTimeout(setupTimeout, "ip", "link", "set", "dev", tmpB, "netns", b.ns); err != nil {
		removeLeftovers()
		return err
	}
	for _, e := range []struct {
		h        *Host
		tmp, dst string
	}{{a, tmpA, aIf}, {b, tmpB, bIf}} {
		if _, err := e.h.ip("link", "set", "dev", e.tmp, "name", e.dst); err != nil {
			return err
		}
		if _, err := e.h.ip("link", "set", "dev", e.dst, "up"); err != nil {
			return err
		}
	}
	return nil
}

// Bridge creates (or, if it exists, reconfigures) bridge name inside the host,
// enslaves ports and sets everything up. STP is off and the forward delay is
// 0, so ports forward at once; multicast snooping is off, so multicast
// (IPv6 ND, RAs, mDNS) is flooded like on a dumb switch.
func (h *Host) Bridge(name string, ports ...string) {
	h.lab.t.Helper()
	for _, n := range append([]string{name}, ports...) {
		if err := checkIfName(n); err != nil {
			h.lab.fatalf("host %s: Bridge: %v", h.name, err)
		}
	}
	opts := []string{"type", "bridge", "stp_state", "0", "forward_delay", "0", "mcast_snooping", "0"}
	if _, err := h.ip("link", "show", "dev", name); err != nil {
		h.mustIP(append([]string{"link", "add", "name", name}, opts...)...)
	} else {
		out := h.mustIP("-d", "link", "show", "dev", name)
		if !strings.Contains(out, "bridge ") {
			h.lab.fatalf("host %s: Bridge(%q): %v: interface exists and is not a bridge:\n%s", h.name, name, ErrInvalid, out)
		}
		h.mustIP(append([]string{"link", "set", "dev", name}, opts...)...)
	}
	for _, p := range ports {
		if p == name {
			h.lab.fatalf("host %s: Bridge(%q): %v: bridge cannot be its own port", h.name, name, ErrInvalid)
		}
		h.mustIP("link", "set", "dev", p, "master", name)
		h.mustIP("link", "set", "dev", p, "up")
	}
	h.mustIP("link", "set", "dev", name, "up")
}
