package group

import (
	"bytes"
	"crypto/x509"
	"net/netip"
	"testing"
	"time"
)

// TestRename: the owner renames a member; the old name is free at once;
// the member's new certificate (same key, address and pool) is signed
// when it shows its old one, and installs with its new name.
func TestRename(t *testing.T) {
	owner := newOwner(t, "home")
	joinAs(t, owner, newInvite(t, owner, InviteOptions{}), "OpenWrt")
	m := joinAs(t, owner, newInvite(t, owner, InviteOptions{}), "OpenWrt")
	if m.NodeName != "OpenWrt-2" {
		t.Fatalf("second OpenWrt joined as %q", m.NodeName)
	}
	later := testNow.Add(time.Hour)
	res, err := owner.Rename("openwrt-2", "garage", later)
	if err != nil {
		t.Fatal(err)
	}
	if res.OldName != "OpenWrt-2" || res.NewName != "garage" || res.NodeID != m.NodeID || res.State != nil {
		t.Errorf("result %+v", res)
	}
	renamed, err := owner.RenamedMembers()
	if err != nil || len(renamed) != 1 || !renamed[m.NodeID] {
		t.Errorf("RenamedMembers = %v, %v", renamed, err)
	}
	// The member shows its old certificate: it gets one for "garage".
	der, err := owner.RenamedCert(m.NodeCert, later)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject.CommonName != "garage" || !m.NodeKey.PublicKey.Equal(c.PublicKey) {
		t.Errorf("renamed certificate for %q", c.Subject.CommonName)
	}
	// Asking again (the push was lost) gives the same certificate.
	before := takeSnapshot(t, owner.Dir)
	again, err := owner.RenamedCert(m.NodeCert, later.Add(time.Minute))
	if err != nil || !bytes.Equal(again, der) {
		t.Errorf("second RenamedCert: same %t, %v", bytes.Equal(again, der), err)
	}
	assertUnchanged(t, before, owner.Dir)
	// So does a Renew with the old certificate, due or not.
	viaRenew, err := owner.RenewMember(m.NodeCert, later)
	if err != nil || !bytes.Equal(viaRenew, der) {
		t.Errorf("RenewMember with the old name: same %t, %v", bytes.Equal(viaRenew, der), err)
	}
	ns, err := m.InstallRenamed(der, later)
	if err != nil {
		t.Fatal(err)
	}
	if ns.NodeName != "garage" || m.NodeName != "OpenWrt-2" || ns.Address != m.Address || ns.Pool != m.Pool {
		t.Errorf("installed %v (old state %v)", ns, m)
	}
	l, err := Load(m.Dir)
	if err != nil || l.NodeName != "garage" || !l.NodeCert.Equal(c) {
		t.Fatalf("Load after the rename: %v, %v", l, err)
	}
	if again, err := ns.InstallRenamed(der, later); err != nil || again != ns {
		t.Errorf("installing the same certificate twice: %v", err)
	}
	// With its new certificate, nothing is pending for it.
	if der, err := owner.RenamedCert(ns.NodeCert, later); err != nil || der != nil {
		t.Errorf("RenamedCert of the current certificate = %d bytes, %v", len(der), err)
	}
	// and the owner has stopped listing it as renamed (after a restart,
	// it would push nothing to it again).
	if renamed, err := owner.RenamedMembers(); err != nil || len(renamed) != 0 {
		t.Errorf("RenamedMembers after delivery = %v, %v", renamed, err)
	}
	id, err := owner.VerifyPeer(ns.TLSCertificate().Certificate, later)
	if err != nil || id.Name != "garage" {
		t.Errorf("owner verifies the renamed member: %+v %v", id, err)
	}
	// The old name is free: a new router may take it.
	if s := joinAs(t, owner, newInvite(t, owner, InviteOptions{}), "OpenWrt"); s.NodeName != "OpenWrt-2" {
		t.Errorf("after the rename, a joiner got %q", s.NodeName)
	}
	// A renewal later clears the marks.
	due := testNow.AddDate(0, 9, 0)
	if _, err := owner.RenewMember(ns.NodeCert, due); err != nil {
		t.Fatal(err)
	}
	if renamed, _ := owner.RenamedMembers(); len(renamed) != 0 {
		t.Errorf("after a renewal, RenamedMembers = %v", renamed)
	}
}

func TestRenameOwnerItself(t *testing.T) {
	owner := newOwner(t, "home")
	res, err := owner.Rename("owner", "gateway", testNow)
	if err != nil {
		t.Fatal(err)
	}
	if res.State == nil || res.State.NodeName != "gateway" || owner.NodeName != "owner" || res.State.NodeCert.Subject.CommonName != "gateway" {
		t.Fatalf("result %+v", res)
	}
	l, err := Load(owner.Dir)
	if err != nil || l.NodeName != "gateway" || l.Layout != owner.Layout {
		t.Fatalf("Load: %v, %v", l, err)
	}
	// The renamed state goes on working: it invites and admits.
	if s := joinAs(t, res.State, newInvite(t, res.State, InviteOptions{}), "owner"); s.NodeName != "owner" {
		t.Errorf("the owner's old name went to %q", s.NodeName)
	}
}

func TestRenameRefusals(t *testing.T) {
	owner := newOwner(t, "home")
	bob := newMember(t, owner, "bob")
	newMember(t, owner, "carol")
	eve := newMember(t, owner, "eve")
	if _, err := owner.Revoke("eve", testNow); err != nil {
		t.Fatal(err)
	}
	hint := newInvite(t, owner, InviteOptions{NameHint: "cabin"})
	tests := []struct {
		name          string
		s             *State
		node, newName string
		kind          error
		frag          string
	}{
		{"taken", owner, "bob", "Carol", ErrNameTaken, `rename "bob": the name "Carol" is taken (member "carol", 10.77.0.3)`},
		{"reserved", owner, "bob", "cabin", ErrNameTaken, "reserved by invite " + hint.IDString()},
		{"unknown", owner, "dave", "dan", ErrUnknownNode, `no member of group "home" is named "dave"`},
		{"revoked", owner, eve.NodeID, "evelyn", ErrRevoked, `node "eve" was revoked`},
		{"same", owner, "bob", "bob", ErrInvalidOption, "already has that name"},
		{"bad name", owner, "bob", "bo b", ErrInvalidName, "new name"},
		{"empty node", owner, "", "x", ErrInvalidOption, "no node name"},
		{"member", bob, "bob", "robert", ErrNotOwner, "only the owner renames"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := takeSnapshot(t, owner.Dir)
			_, err := tt.s.Rename(tt.node, tt.newName, testNow)
			wantErr(t, err, tt.kind, tt.frag)
			assertUnchanged(t, before, owner.Dir)
		})
	}
	// Only the case changes: allowed.
	if _, err := owner.Rename("bob", "Bob", testNow); err != nil {
		t.Errorf("case-only rename: %v", err)
	}
	// A member installs only a certificate for itself.
	carolCert, err := owner.Issue("dave", netip.Addr{}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	bd, err := ParseBundle(carolCert)
	if err != nil {
		t.Fatal(err)
	}
	_, err = bob.InstallRenamed(bd.NodeCert.Raw, testNow)
	wantErr(t, err, ErrUntrustedPeer, "not this node")
	_, err = bob.InstallRenamed([]byte("junk"), testNow)
	wantErr(t, err, ErrUntrustedPeer, "does not parse")
	// The revoked member's old certificate gets nothing.
	_, err = owner.RenamedCert(eve.NodeCert, testNow)
	wantErr(t, err, ErrRevoked, "revoked")
}
