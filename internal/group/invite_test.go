package group

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testEndpoints = []string{"198.51.100.1:4789"}

// newInvite makes an invite on owner with default options.
func newInvite(t *testing.T, owner *State, o InviteOptions) Token {
	t.Helper()
	if o.Endpoints == nil {
		o.Endpoints = testEndpoints
	}
	if o.Now.IsZero() {
		o.Now = testNow
	}
	tok, err := owner.CreateInvite(o)
	if err != nil {
		t.Fatalf("CreateInvite: %v", err)
	}
	return tok
}

func TestCreateInvite(t *testing.T) {
	owner := newOwner(t, "home")
	tok := newInvite(t, owner, InviteOptions{NameHint: "bob", Now: testNow.Add(500 * time.Millisecond)})
	if tok.Group != "home" || tok.CAFingerprint != sha256.Sum256(owner.CACert.Raw) || !tok.Expires.Equal(testNow.Add(24*time.Hour)) ||
		len(tok.Endpoints) != 1 || tok.Endpoints[0] != testEndpoints[0] {
		t.Errorf("token %v", tok)
	}
	if hex.EncodeToString(tok.CAFingerprint[:]) != Fingerprint(owner.CACert) {
		t.Errorf("fingerprint differs from Fingerprint()")
	}
	// The token text decodes to the same token.
	got, err := DecodeToken(tok.Encode())
	if err != nil || !tokensEqual(got, tok) {
		t.Fatalf("DecodeToken: %v, %v", got, err)
	}
	checkMode(t, filepath.Join(owner.Dir, FileInvites), 0o600)
	data, err := os.ReadFile(filepath.Join(owner.Dir, FileInvites))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), hex.EncodeToString(tok.Secret[:])) {
		t.Errorf("invites.json does not hold the secret")
	}

	tok2 := newInvite(t, owner, InviteOptions{TTL: 30 * 24 * time.Hour, Uses: 3, Now: testNow.Add(time.Minute)})
	if tok2.ID == tok.ID || tok2.Secret == tok.Secret {
		t.Errorf("two invites share id or secret")
	}
	list, err := owner.Invites(testNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != tok.IDString() || list[0].NameHint != "bob" || list[0].UsesLeft != 1 || list[0].Status != InviteValid ||
		list[1].Uses != 3 || list[1].UsesLeft != 3 || !list[1].Expires.Equal(testNow.Add(time.Minute+30*24*time.Hour)) {
		t.Errorf("Invites = %+v", list)
	}
	for _, in := range list {
		if strings.Contains(sprintf("%+v", in), hex.EncodeToString(tok.Secret[:])) {
			t.Errorf("invite info shows the secret")
		}
	}
	// Later the first one is expired, and later still pruned.
	list, _ = owner.Invites(testNow.Add(25 * time.Hour))
	if list[0].Status != InviteExpired || list[0].UsesLeft != 0 {
		t.Errorf("after expiry: %+v", list[0])
	}
	list, _ = owner.Invites(testNow.Add(24*time.Hour + invitePruneAfter + time.Second))
	if len(list) != 1 || list[0].ID != tok2.IDString() {
		t.Errorf("after pruning: %+v", list)
	}
	// A write prunes the file too.
	newInvite(t, owner, InviteOptions{Now: testNow.Add(24*time.Hour + invitePruneAfter + time.Second)})
	recs, err := readInvites(owner.Dir)
	if err != nil || len(recs) != 2 {
		t.Errorf("after a pruning write: %d records, %v", len(recs), err)
	}
}

func TestCreateInviteRefusals(t *testing.T) {
	owner := newOwner(t, "home")
	member := newMember(t, owner, "carol")
	tests := []struct {
		name string
		s    *State
		o    InviteOptions
		kind error
		frag string
	}{
		{"not owner", member, InviteOptions{Endpoints: testEndpoints, Now: testNow}, ErrNotOwner, "only the owner can invite"},
		{"zero time", owner, InviteOptions{Endpoints: testEndpoints}, ErrInvalidOption, "time is zero"},
		{"ttl too long", owner, InviteOptions{TTL: 31 * 24 * time.Hour, Endpoints: testEndpoints, Now: testNow}, ErrInvalidOption, "longer than the limit"},
		{"ttl negative", owner, InviteOptions{TTL: -time.Hour, Endpoints: testEndpoints, Now: testNow}, ErrInvalidOption, "too short"},
		{"uses too many", owner, InviteOptions{Uses: 101, Endpoints: testEndpoints, Now: testNow}, ErrInvalidOption, "101 uses"},
		{"uses negative", owner, InviteOptions{Uses: -1, Endpoints: testEndpoints, Now: testNow}, ErrInvalidOption, "-1 uses"},
		{"bad hint", owner, InviteOptions{NameHint: "a b", Endpoints: testEndpoints, Now: testNow}, ErrInvalidName, "name hint"},
		{"no endpoints", owner, InviteOptions{Now: testNow}, ErrInvalidOption, "no bootstrap endpoint"},
		{"bad endpoint", owner, InviteOptions{Endpoints: []string{"nohost"}, Now: testNow}, ErrInvalidOption, "not host:port"},
		{"CA expired", owner, InviteOptions{Endpoints: testEndpoints, Now: testNow.AddDate(11, 0, 0)}, ErrExpired, "CA expired"},
		{"outlives CA", owner, InviteOptions{Endpoints: testEndpoints, Now: owner.CACert.NotAfter.Add(-time.Hour)}, ErrExpired, "before the invite would"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := takeSnapshot(t, tt.s.Dir)
			_, err := tt.s.CreateInvite(tt.o)
			wantErr(t, err, tt.kind, tt.frag)
			assertUnchanged(t, before, tt.s.Dir)
		})
	}
	if _, err := member.Invites(testNow); err == nil {
		t.Errorf("member lists invites")
	}
}

func TestCancelInvite(t *testing.T) {
	owner := newOwner(t, "home")
	tok := newInvite(t, owner, InviteOptions{})
	other := newInvite(t, owner, InviteOptions{})
	before := takeSnapshot(t, owner.Dir)
	for _, tt := range []struct {
		id   string
		kind error
		frag string
	}{
		{"ffffffffffffffff", ErrInviteUnknown, "no invite"},
		{"ab", ErrInvalidOption, "too short"},
	} {
		wantErr(t, owner.CancelInvite(tt.id), tt.kind, tt.frag)
	}
	assertUnchanged(t, before, owner.Dir)
	if err := owner.CancelInvite(strings.ToUpper(tok.IDString()[:8])); err != nil {
		t.Fatal(err)
	}
	if err := owner.CancelInvite(tok.IDString()); err != nil {
		t.Errorf("second cancel: %v", err)
	}
	list, err := owner.Invites(testNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range list {
		want := InviteValid
		if in.ID == tok.IDString() {
			want = InviteCancelled
		}
		if in.Status != want {
			t.Errorf("invite %s: status %s, want %s", in.ID, in.Status, want)
		}
	}
	_ = other
}

func TestInvitesFileDamaged(t *testing.T) {
	owner := newOwner(t, "home")
	tok := newInvite(t, owner, InviteOptions{})
	path := filepath.Join(owner.Dir, FileInvites)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	secret := hex.EncodeToString(tok.Secret[:])
	for _, tt := range []struct {
		name, old, new, frag string
	}{
		{"bad id", tok.IDString(), "xyz", "is not 16 lowercase hex digits"},
		{"bad secret", secret, "00", "secret is not 32 hex digits"},
		{"no uses", `"uses": 1`, `"uses": 0`, "0 uses"},
		{"garbage", "{", "[", "not valid JSON"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(path, []byte(strings.Replace(string(good), tt.old, tt.new, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := owner.Invites(testNow)
			wantErr(t, err, ErrCorrupt, tt.frag)
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error shows the secret")
			}
		})
	}
}
