package group

import (
	"crypto/x509"
	"testing"
	"time"
)

func TestNeedsRenewal(t *testing.T) {
	c := &x509.Certificate{NotBefore: testNow, NotAfter: testNow.Add(300 * time.Hour)}
	tests := []struct {
		name string
		cert *x509.Certificate
		now  time.Time
		want bool
	}{
		{"fresh", c, testNow, false},
		{"just before window", c, testNow.Add(200*time.Hour - time.Second), false},
		{"window start", c, testNow.Add(200 * time.Hour), true},
		{"near expiry", c, testNow.Add(299 * time.Hour), true},
		{"expired", c, testNow.Add(400 * time.Hour), true},
		{"nil", nil, testNow, true},
	}
	for _, tt := range tests {
		if got := NeedsRenewal(tt.cert, tt.now); got != tt.want {
			t.Errorf("%s: NeedsRenewal = %t", tt.name, got)
		}
	}
}

func TestRenewMember(t *testing.T) {
	owner := newOwner(t, "home")
	bob := joinNode(t, owner, "bob")
	later := testNow.AddDate(0, 9, 0) // in the last third of a year
	if !NeedsRenewal(bob.NodeCert, later) {
		t.Fatal("not due after 9 months")
	}
	old := bob.NodeCert
	der, err := owner.RenewMember(bob.NodeCert, later)
	if err != nil {
		t.Fatal(err)
	}
	if bob, err = bob.InstallRenamed(der, later); err != nil {
		t.Fatal(err)
	}
	c := bob.NodeCert
	if c.Subject.CommonName != "bob" || !c.NotAfter.Equal(later.AddDate(1, 0, 0)) || c.SerialNumber.Cmp(old.SerialNumber) == 0 {
		t.Errorf("renewed cert %s until %s", c.Subject.CommonName, c.NotAfter)
	}
	id, err := owner.VerifyPeer(bob.TLSCertificate().Certificate, later)
	if err != nil || id.Address != bob.Address || id.Pool != bob.Pool || id.NodeID != bob.NodeID {
		t.Errorf("renewed cert: %+v %v", id, err)
	}
	l, err := Load(bob.Dir)
	if err != nil || !l.NodeCert.Equal(c) {
		t.Fatalf("Load after renewal: %v", err)
	}
	// Installing it twice is fine.
	if _, err := bob.InstallRenamed(der, later); err != nil {
		t.Errorf("second install: %v", err)
	}
	allocs, _ := owner.Allocations()
	for _, a := range allocs {
		if a.Name == "bob" && (a.Serial != serialHex(c) || len(a.PastSerials) != 1 || a.PastSerials[0] != serialHex(old)) {
			t.Errorf("allocation after renewal %+v", a)
		}
	}
	// Revoking lists the old serial too.
	if _, err := owner.Revoke("bob", later); err != nil {
		t.Fatal(err)
	}
	if !owner.IsRevoked(old.SerialNumber) || !owner.IsRevoked(c.SerialNumber) {
		t.Error("revocation misses a serial of bob")
	}
	before := takeSnapshot(t, owner.Dir)
	_, err = owner.RenewMember(c, later.AddDate(0, 9, 0))
	wantErr(t, err, ErrRevoked, "revoked")
	assertUnchanged(t, before, owner.Dir)
}

func TestRenewMemberRefusals(t *testing.T) {
	owner := newOwner(t, "home")
	away := newOwner(t, "away")
	bob := newMember(t, owner, "bob")
	eve := newMember(t, away, "eve")
	later := testNow.AddDate(0, 9, 0)
	forged := signRaw(t, owner, func(c *x509.Certificate) {}) // "mallory", never allocated
	mallory, err := x509.ParseCertificate(forged)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		s    *State
		cert *x509.Certificate
		now  time.Time
		kind error
		frag string
	}{
		{"not due", owner, bob.NodeCert, testNow.AddDate(0, 2, 0), ErrRenewalNotDue, "not due for renewal before"},
		{"expired", owner, bob.NodeCert, testNow.AddDate(1, 1, 0), ErrExpired, "joins again"},
		{"other group", owner, eve.NodeCert, later, ErrUntrustedPeer, "not signed by group"},
		{"not allocated", owner, mallory, later, ErrUntrustedPeer, `node "mallory" is not in allocations.json`},
		{"owner's own", owner, owner.NodeCert, later, ErrInvalidOption, "RenewSelf"},
		{"not owner", bob, bob.NodeCert, later, ErrNotOwner, "only the owner renews"},
		{"nil", owner, nil, later, ErrInvalidOption, "no certificate"},
		{"zero time", owner, bob.NodeCert, time.Time{}, ErrInvalidOption, "time is zero"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := takeSnapshot(t, tt.s.Dir)
			der, err := tt.s.RenewMember(tt.cert, tt.now)
			wantErr(t, err, tt.kind, tt.frag)
			if der != nil {
				t.Error("certificate returned with an error")
			}
			assertUnchanged(t, before, tt.s.Dir)
		})
	}
}

func TestInstallRenamedRefusals(t *testing.T) {
	owner := newOwner(t, "home")
	bob := newMember(t, owner, "bob")
	carol := newMember(t, owner, "carol")
	later := testNow.AddDate(0, 9, 0)
	carolNew, err := owner.RenewMember(carol.NodeCert, later)
	if err != nil {
		t.Fatal(err)
	}
	bobNew, err := owner.RenewMember(bob.NodeCert, later)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		der  []byte
		now  time.Time
		kind error
		frag string
	}{
		{"other node's", carolNew, later, ErrUntrustedPeer, `is for node "carol"`},
		{"garbage", []byte("x"), later, ErrUntrustedPeer, "does not parse"},
		{"other CA", newOwner(t, "away").NodeCert.Raw, later, ErrUntrustedPeer, "not signed by group"},
		{"not yet valid", bobNew, testNow, ErrExpired, "not valid before"},
		{"empty", nil, later, ErrInvalidOption, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := takeSnapshot(t, bob.Dir)
			_, err := bob.InstallRenamed(tt.der, tt.now)
			wantErr(t, err, tt.kind, tt.frag)
			assertUnchanged(t, before, bob.Dir)
		})
	}
	old := bob.NodeCert.Raw
	if bob, err = bob.InstallRenamed(bobNew, later); err != nil {
		t.Fatal(err)
	}
	before := takeSnapshot(t, bob.Dir)
	_, err = bob.InstallRenamed(old, later)
	wantErr(t, err, ErrInvalidOption, "not after the installed one")
	assertUnchanged(t, before, bob.Dir)
}

func TestRenewSelf(t *testing.T) {
	owner := newOwner(t, "home")
	bob := newMember(t, owner, "bob")
	before := takeSnapshot(t, owner.Dir)
	if renewed, err := owner.RenewSelf(testNow.AddDate(0, 1, 0), false); err != nil || renewed {
		t.Fatalf("RenewSelf early: %v %v", renewed, err)
	}
	assertUnchanged(t, before, owner.Dir)
	later := testNow.AddDate(0, 10, 0)
	old := owner.NodeCert
	renewed, err := owner.RenewSelf(later, false)
	if err != nil || !renewed {
		t.Fatalf("RenewSelf: %v %v", renewed, err)
	}
	if !owner.NodeCert.NotAfter.Equal(later.AddDate(1, 0, 0)) || owner.NodeCert.Equal(old) {
		t.Errorf("owner cert until %s", owner.NodeCert.NotAfter)
	}
	l, err := Load(owner.Dir)
	if err != nil || !l.NodeCert.Equal(owner.NodeCert) || l.Pool != owner.Pool {
		t.Fatalf("Load after RenewSelf: %v", err)
	}
	if _, err := bob.VerifyPeer(l.TLSCertificate().Certificate, later); err != nil {
		t.Errorf("member refuses renewed owner: %v", err)
	}
	// A stale State (loaded before) must not overwrite the new cert.
	before = takeSnapshot(t, owner.Dir)
	stale := *l
	stale.NodeCert = old
	_, err = stale.RenewSelf(later, true)
	wantErr(t, err, ErrCorrupt, "changed since the state was loaded")
	assertUnchanged(t, before, owner.Dir)
	_, err = bob.RenewSelf(later, true)
	wantErr(t, err, ErrNotOwner, "members renew through the owner")
}
