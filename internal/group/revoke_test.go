package group

import (
	"crypto/x509"
	"errors"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestRevoke(t *testing.T) {
	owner := newOwner(t, "home")
	bob := joinNode(t, owner, "bob")
	carol := newMember(t, owner, "carol")
	if owner.CRL() != nil || owner.CRLNumber().Sign() != 0 {
		t.Fatal("fresh group has a revocation list")
	}

	der, err := owner.Revoke("bob", testNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	rl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if rl.Number.Cmp(big.NewInt(1)) != 0 || len(rl.RevokedCertificateEntries) != 1 || rl.RevokedCertificateEntries[0].SerialNumber.Cmp(bob.NodeCert.SerialNumber) != 0 {
		t.Errorf("CRL number %v entries %d", rl.Number, len(rl.RevokedCertificateEntries))
	}
	if !owner.IsRevoked(bob.NodeCert.SerialNumber) || owner.IsRevoked(carol.NodeCert.SerialNumber) {
		t.Error("IsRevoked on the owner")
	}
	_, err = owner.VerifyPeer(bob.TLSCertificate().Certificate, testNow)
	wantErr(t, err, ErrRevoked, `node "bob"`)

	// Carol takes the list; then refuses bob, also after a restart.
	if _, err := carol.VerifyPeer(bob.TLSCertificate().Certificate, testNow); err != nil {
		t.Fatalf("before the list: %v", err)
	}
	changed, err := carol.ApplyCRL(der, testNow)
	if err != nil || !changed {
		t.Fatalf("ApplyCRL: %v %v", changed, err)
	}
	_, err = carol.VerifyPeer(bob.TLSCertificate().Certificate, testNow)
	wantErr(t, err, ErrRevoked, "has been revoked")
	again, err := Load(carol.Dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = again.VerifyPeer(bob.TLSCertificate().Certificate, testNow)
	wantErr(t, err, ErrRevoked, "revoked")
	if _, err := again.VerifyPeer(owner.TLSCertificate().Certificate, testNow); err != nil {
		t.Errorf("owner refused after revoking bob: %v", err)
	}
	// The owner after a restart too.
	o2, err := Load(owner.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !o2.IsRevoked(bob.NodeCert.SerialNumber) || o2.CRLNumber().Int64() != 1 {
		t.Error("owner forgot the revocation after Load")
	}
	// Same list again: nothing changes.
	before := takeSnapshot(t, carol.Dir)
	if changed, err := carol.ApplyCRL(der, testNow); err != nil || changed {
		t.Errorf("second ApplyCRL: %v %v", changed, err)
	}
	assertUnchanged(t, before, carol.Dir)

	// A second revocation lists both, with a higher number; an older list
	// is then ignored.
	der2, err := o2.Revoke(carol.NodeID, testNow.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	rl2, _ := x509.ParseRevocationList(der2)
	if rl2.Number.Int64() != 2 || len(rl2.RevokedCertificateEntries) != 2 {
		t.Errorf("second CRL: number %v, %d entries", rl2.Number, len(rl2.RevokedCertificateEntries))
	}
	if changed, err := again.ApplyCRL(der2, testNow); err != nil || !changed {
		t.Fatalf("ApplyCRL 2: %v %v", changed, err)
	}
	before = takeSnapshot(t, carol.Dir)
	if changed, err := again.ApplyCRL(der, testNow); err != nil || changed {
		t.Errorf("older list: %v %v", changed, err)
	}
	assertUnchanged(t, before, carol.Dir)
	if again.CRLNumber().Int64() != 2 {
		t.Errorf("number %v after an older list", again.CRLNumber())
	}
	// The stale carol State sees the newer list on disk when offered the old one.
	if changed, err := carol.ApplyCRL(der, testNow); err != nil || changed || carol.CRLNumber().Int64() != 1 {
		t.Errorf("stale state: %v %v %v", changed, err, carol.CRLNumber())
	}

	allocs, err := o2.Allocations()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range allocs {
		if (a.Name == "bob" || a.Name == "carol") != a.IsRevoked() {
			t.Errorf("allocation %s revoked=%v", a.Name, a.IsRevoked())
		}
	}
}

func TestRevokeRefusals(t *testing.T) {
	owner := newOwner(t, "home")
	bob := newMember(t, owner, "bob")
	newMember(t, owner, "carol")
	if _, err := owner.Revoke("carol", testNow); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		s    *State
		node string
		now  time.Time
		kind error
		frag string
	}{
		{"unknown", owner, "dave", testNow, ErrUnknownNode, `named "dave"`},
		{"already revoked", owner, "CAROL", testNow, ErrRevoked, `node "carol"`},
		{"owner itself", owner, "owner", testNow, ErrInvalidOption, "cannot revoke itself"},
		{"owner by id", owner, owner.NodeID, testNow, ErrInvalidOption, "cannot revoke itself"},
		{"empty", owner, "", testNow, ErrInvalidOption, "no node"},
		{"zero time", owner, "bob", time.Time{}, ErrInvalidOption, "time is zero"},
		{"not owner", bob, "carol", testNow, ErrNotOwner, "only the owner can revoke"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := takeSnapshot(t, tt.s.Dir)
			der, err := tt.s.Revoke(tt.node, tt.now)
			wantErr(t, err, tt.kind, tt.frag)
			if der != nil {
				t.Error("list returned with an error")
			}
			assertUnchanged(t, before, tt.s.Dir)
		})
	}
	before := takeSnapshot(t, owner.Dir)
	failRename(t, 1)
	_, err := owner.Revoke("bob", testNow)
	wantErr(t, err, errInjected, "injected")
	assertUnchanged(t, before, owner.Dir)
	if owner.IsRevoked(bob.NodeCert.SerialNumber) {
		t.Error("failed revocation took effect in memory")
	}
}

func TestApplyCRLRefusals(t *testing.T) {
	owner := newOwner(t, "home")
	away := newOwner(t, "away")
	newMember(t, away, "x")
	bob := newMember(t, owner, "bob")
	newMember(t, owner, "carol")
	foreign, err := away.Revoke("x", testNow)
	if err != nil {
		t.Fatal(err)
	}
	good, err := owner.Revoke("carol", testNow)
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)-5] ^= 1
	tests := []struct {
		name string
		s    *State
		der  []byte
		now  time.Time
		kind error
		frag string
	}{
		{"other CA", bob, foreign, testNow, ErrBadCRL, "not signed by the group CA"},
		{"damaged signature", bob, flipped, testNow, ErrBadCRL, ""},
		{"garbage", bob, []byte("garbage"), testNow, ErrBadCRL, "does not parse"},
		{"empty", bob, nil, testNow, ErrBadCRL, "empty"},
		{"too big", bob, make([]byte, maxCRLSize+1), testNow, ErrBadCRL, "limit"},
		{"zero time", bob, good, time.Time{}, ErrInvalidOption, "time is zero"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := takeSnapshot(t, tt.s.Dir)
			changed, err := tt.s.ApplyCRL(tt.der, tt.now)
			wantErr(t, err, tt.kind, tt.frag)
			if changed {
				t.Error("changed with an error")
			}
			assertUnchanged(t, before, tt.s.Dir)
		})
	}
	// A damaged crl.der makes Load fail with ErrCorrupt.
	if _, err := bob.ApplyCRL(good, testNow); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bob.Dir, FileCRL), flipped, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(bob.Dir)
	wantErr(t, err, ErrCorrupt, "crl.der")
}

// TestVerifyPeerDuringApplyCRL runs VerifyPeer from several goroutines
// while the list changes; run with -race.
func TestVerifyPeerDuringApplyCRL(t *testing.T) {
	owner := newOwner(t, "home")
	bob := newMember(t, owner, "bob")
	carol := newMember(t, owner, "carol")
	var lists [][]byte
	for _, n := range []string{"d1", "d2", "d3"} {
		newMember(t, owner, n)
		der, err := owner.Revoke(n, testNow)
		if err != nil {
			t.Fatal(err)
		}
		lists = append(lists, der)
	}
	chain := carol.TLSCertificate().Certificate
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := bob.VerifyPeer(chain, testNow); err != nil {
					errs <- err
					return
				}
				_ = bob.CRL()
			}
		}()
	}
	for _, der := range lists {
		if _, err := bob.ApplyCRL(der, testNow); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("VerifyPeer: %v", err)
	}
	if bob.CRLNumber().Int64() != 3 {
		t.Errorf("number %v", bob.CRLNumber())
	}
}

func TestOwnerRefusesForeignNewerList(t *testing.T) {
	owner := newOwner(t, "home")
	newMember(t, owner, "bob")
	newMember(t, owner, "carol")
	// A copy of the owner (a restored backup) signs lists of its own.
	twin, err := Load(copyDir(t, owner.Dir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := twin.Revoke("bob", testNow); err != nil {
		t.Fatal(err)
	}
	der, err := twin.Revoke("carol", testNow)
	if err != nil {
		t.Fatal(err)
	}
	before := takeSnapshot(t, owner.Dir)
	changed, err := owner.ApplyCRL(der, testNow)
	if changed || !errors.Is(err, ErrBadCRL) {
		t.Errorf("owner took a newer foreign list: %v %v", changed, err)
	}
	assertUnchanged(t, before, owner.Dir)
}

// TestInstallKeepsOrDropsCRL: a renewal bundle keeps the stored list, a
// forced install of another group drops it, and a join brings the list.
func TestInstallKeepsOrDropsCRL(t *testing.T) {
	owner := newOwner(t, "home")
	away := newOwner(t, "away")
	bob := newMember(t, owner, "bob")
	der, err := owner.Revoke(newMember(t, owner, "carol").NodeID, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.ApplyCRL(der, testNow); err != nil {
		t.Fatal(err)
	}
	// A join now carries the list.
	dave := joinNode(t, owner, "dave")
	if dave.CRLNumber().Int64() != 1 {
		t.Errorf("joined member has list %v", dave.CRLNumber())
	}
	b, err := away.Issue("eve", netip.Addr{}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Install(bob.Dir, b, InstallOptions{Now: testNow, Force: true, LocalPrefixes: testLocal})
	if err != nil {
		t.Fatal(err)
	}
	if s.CRL() != nil {
		t.Error("state of the new group has the old group's list")
	}
	if _, err := os.Stat(filepath.Join(bob.Dir, FileCRL)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("crl.der of the old group survived: %v", err)
	}
	if _, err := Load(bob.Dir); err != nil {
		t.Fatal(err)
	}
}
