package group

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testBinding stands in for the DTLS exported keying material of a session.
var testBinding = bytes.Repeat([]byte{0x5a}, 32)

// joinRequest builds a request for tok with a fresh key.
func joinRequest(t *testing.T, tok Token, name string, binding []byte) (JoinRequest, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := NewNodeKey()
	if err != nil {
		t.Fatal(err)
	}
	return JoinRequest{InviteID: tok.ID, Proof: Proof(tok.Secret, binding), NodeName: name, PublicKey: MarshalPublicKey(key)}, key
}

// joinNode runs a whole join of name into owner's group through the wire
// encodings, as the network protocol would, and installs it.
func joinNode(t *testing.T, owner *State, name string) *State {
	t.Helper()
	tok := newInvite(t, owner, InviteOptions{})
	tok, err := DecodeToken(tok.Encode())
	if err != nil {
		t.Fatal(err)
	}
	req, key := joinRequest(t, tok, name, testBinding)
	wireReq, err := MarshalJoinRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	gotReq, err := UnmarshalJoinRequest(wireReq)
	if err != nil {
		t.Fatal(err)
	}
	res, err := owner.AcceptJoin(gotReq, testBinding, testNow)
	if err != nil {
		t.Fatalf("AcceptJoin(%q): %v", name, err)
	}
	wireRes, err := MarshalJoinResult(res)
	if err != nil {
		t.Fatal(err)
	}
	gotRes, err := UnmarshalJoinResult(wireRes)
	if err != nil {
		t.Fatal(err)
	}
	s, err := InstallJoined(filepath.Join(t.TempDir(), "state"), key, gotRes, tok, InstallOptions{Now: testNow, LocalPrefixes: testLocal})
	if err != nil {
		t.Fatalf("InstallJoined(%q): %v", name, err)
	}
	return s
}

func TestJoin(t *testing.T) {
	owner := newOwner(t, "home")
	bob := joinNode(t, owner, "bob")
	carol := joinNode(t, owner, "carol")
	if bob.Name != "home" || bob.NodeName != "bob" || bob.Owner() || bob.Address != netip.MustParseAddr("10.77.0.2") || bob.Pool != netip.MustParsePrefix("10.77.2.0/24") {
		t.Errorf("bob: %v", bob)
	}
	if carol.Address != netip.MustParseAddr("10.77.0.3") || carol.Pool != netip.MustParsePrefix("10.77.3.0/24") {
		t.Errorf("carol: %v", carol)
	}
	if owner.Pool != netip.MustParsePrefix("10.77.1.0/24") {
		t.Errorf("owner pool %s", owner.Pool)
	}
	// The state loads, and all three accept each other.
	l, err := Load(bob.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if l.Pool != bob.Pool || l.NodeID != bob.NodeID || !l.NodeKey.Equal(bob.NodeKey) {
		t.Errorf("Load = %v, want %v", l, bob)
	}
	for _, a := range []*State{owner, bob, carol} {
		for _, b := range []*State{owner, bob, carol} {
			id, err := a.VerifyPeer(b.TLSCertificate().Certificate, testNow)
			if err != nil || id.Name != b.NodeName || id.Pool != b.Pool || id.Address != b.Address {
				t.Errorf("%s verifies %s: %+v, %v", a.NodeName, b.NodeName, id, err)
			}
		}
	}
	allocs, err := owner.Allocations()
	if err != nil {
		t.Fatal(err)
	}
	if len(allocs) != 3 || allocs[1].Name != "bob" || allocs[1].Pool != bob.Pool || allocs[1].NodeID != bob.NodeID || allocs[1].Serial != serialHex(bob.NodeCert) {
		t.Errorf("allocations %+v", allocs)
	}
	list, err := owner.Invites(testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Status != InviteUsed || len(list[0].UsedBy) != 1 || list[0].UsedBy[0] != "bob" {
		t.Errorf("invites %+v", list)
	}
	// Issue (bundles) and join share the allocations.
	b, err := owner.Issue("dave", netip.Addr{}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	bd, err := ParseBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	if bd.Address != netip.MustParseAddr("10.77.0.4") || bd.Pool != netip.MustParsePrefix("10.77.4.0/24") {
		t.Errorf("issued dave %v", bd)
	}
}

func TestJoinRetryIsIdempotent(t *testing.T) {
	owner := newOwner(t, "home")
	tok := newInvite(t, owner, InviteOptions{})
	req, key := joinRequest(t, tok, "bob", testBinding)
	first, err := owner.AcceptJoin(req, testBinding, testNow)
	if err != nil {
		t.Fatal(err)
	}
	// The reply was lost; the joiner asks again on a new session.
	other := bytes.Repeat([]byte{7}, 32)
	req.Proof = Proof(tok.Secret, other)
	before := takeSnapshot(t, owner.Dir)
	again, err := owner.AcceptJoin(req, other, testNow.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	assertUnchanged(t, before, owner.Dir)
	if !bytes.Equal(first.NodeCert, again.NodeCert) || first.Address != again.Address || first.Pool != again.Pool {
		t.Errorf("retry gave a different result")
	}
	if _, err := InstallJoined(filepath.Join(t.TempDir(), "s"), key, again, tok, InstallOptions{Now: testNow, LocalPrefixes: testLocal}); err != nil {
		t.Fatal(err)
	}
	// Same name, other key: the name is taken.
	req2, _ := joinRequest(t, tok, "bob", other)
	_, err = owner.AcceptJoin(req2, other, testNow)
	wantErr(t, err, ErrInviteUsed, "already used")
	// Once revoked, a retry gets nothing.
	if _, err := owner.Revoke("bob", testNow); err != nil {
		t.Fatal(err)
	}
	_, err = owner.AcceptJoin(req, other, testNow)
	wantErr(t, err, ErrRevoked, `node "bob" was revoked`)
}

func TestAcceptJoinRefusals(t *testing.T) {
	owner := newOwner(t, "home")
	member := newMember(t, owner, "carol")
	used := newInvite(t, owner, InviteOptions{})
	usedReq, _ := joinRequest(t, used, "bob", testBinding)
	if _, err := owner.AcceptJoin(usedReq, testBinding, testNow); err != nil {
		t.Fatal(err)
	}
	valid := newInvite(t, owner, InviteOptions{Uses: 5})
	short := newInvite(t, owner, InviteOptions{TTL: time.Hour})
	cancelled := newInvite(t, owner, InviteOptions{})
	if err := owner.CancelInvite(cancelled.IDString()); err != nil {
		t.Fatal(err)
	}
	unknown := valid
	unknown.ID[0] ^= 0xff
	otherGroup := newInvite(t, newOwner(t, "away"), InviteOptions{})

	req := func(tok Token, name string) JoinRequest { r, _ := joinRequest(t, tok, name, testBinding); return r }
	edit := func(r JoinRequest, f func(*JoinRequest)) JoinRequest { f(&r); return r }
	bobKey, err := x509.ParsePKIXPublicKey(usedReq.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	_ = bobKey
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384DER, err := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		s       *State
		req     JoinRequest
		binding []byte
		now     time.Time
		kind    error
		frag    string
	}{
		{"reused token", owner, req(used, "dave"), testBinding, testNow, ErrInviteUsed, "was already used (by \"bob\")"},
		{"expired token", owner, req(short, "dave"), testBinding, testNow.Add(2 * time.Hour), ErrInviteExpired, "expired at 2025-06-01T13:00:00Z"},
		{"cancelled", owner, req(cancelled, "dave"), testBinding, testNow, ErrInviteUnknown, "was cancelled"},
		{"unknown invite", owner, req(unknown, "dave"), testBinding, testNow, ErrInviteUnknown, "is unknown to the owner"},
		{"other group's token", owner, req(otherGroup, "dave"), testBinding, testNow, ErrInviteUnknown, "unknown"},
		{"proof for another session", owner, req(valid, "dave"), bytes.Repeat([]byte{1}, 32), testNow, ErrBadProof, "does not prove the invite's secret"},
		{"wrong secret", owner, edit(req(valid, "dave"), func(r *JoinRequest) { r.Proof = Proof([16]byte{}, testBinding) }), testBinding, testNow, ErrBadProof, "does not prove"},
		{"key taken", owner, edit(req(valid, "dave"), func(r *JoinRequest) { r.PublicKey = usedReq.PublicKey }), testBinding, testNow, ErrKeyTaken, `already belongs to member "bob"`},
		{"bad name", owner, req(valid, "da ve"), testBinding, testNow, ErrBadMessage, "node name"},
		{"P-384 key", owner, edit(req(valid, "dave"), func(r *JoinRequest) { r.PublicKey = p384DER }), testBinding, testNow, ErrBadMessage, "not ECDSA P-256"},
		{"garbage key", owner, edit(req(valid, "dave"), func(r *JoinRequest) { r.PublicKey = []byte("key") }), testBinding, testNow, ErrBadMessage, "does not parse"},
		{"short proof", owner, edit(req(valid, "dave"), func(r *JoinRequest) { r.Proof = r.Proof[:8] }), testBinding, testNow, ErrBadMessage, "proof is 8 bytes"},
		{"no binding", owner, req(valid, "dave"), nil, testNow, ErrInvalidOption, "session binding"},
		{"zero time", owner, req(valid, "dave"), testBinding, time.Time{}, ErrInvalidOption, "time is zero"},
		{"not owner", member, req(valid, "dave"), testBinding, testNow, ErrNotOwner, "only the owner admits"},
		{"CA expired", owner, req(valid, "dave"), testBinding, testNow.AddDate(11, 0, 0), ErrExpired, "CA expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := takeSnapshot(t, tt.s.Dir)
			res, err := tt.s.AcceptJoin(tt.req, tt.binding, tt.now)
			wantErr(t, err, tt.kind, tt.frag)
			if res != nil {
				t.Error("result returned with an error")
			}
			assertUnchanged(t, before, tt.s.Dir)
		})
	}
	// A failed commit changes nothing either.
	before := takeSnapshot(t, owner.Dir)
	failRename(t, 1)
	_, err = owner.AcceptJoin(req(valid, "dave"), testBinding, testNow)
	wantErr(t, err, errInjected, "injected")
	assertUnchanged(t, before, owner.Dir)
}

func TestJoinSubnetFull(t *testing.T) {
	owner, err := Create(filepath.Join(t.TempDir(), "s"), CreateOptions{Name: "lab", NodeName: "r1", Subnet: netip.MustParsePrefix("10.5.5.0/27"), Now: testNow, LocalPrefixes: testLocal})
	if err != nil {
		t.Fatal(err)
	}
	// A /27 has two /28 slices: slice 0 for routers, slice 1 the owner's
	// pool. The next member gets no pool, so it is refused.
	if owner.Pool != netip.MustParsePrefix("10.5.5.16/28") {
		t.Fatalf("owner pool %s", owner.Pool)
	}
	tok := newInvite(t, owner, InviteOptions{})
	r, _ := joinRequest(t, tok, "r2", testBinding)
	before := takeSnapshot(t, owner.Dir)
	_, err = owner.AcceptJoin(r, testBinding, testNow)
	wantErr(t, err, ErrSubnetFull, "every DHCP pool slice (/28) of 10.5.5.0/27 is allocated")
	assertUnchanged(t, before, owner.Dir)
}

func TestInstallJoinedRefusals(t *testing.T) {
	owner := newOwner(t, "home")
	away := newOwner(t, "away")
	tok := newInvite(t, owner, InviteOptions{})
	req, key := joinRequest(t, tok, "bob", testBinding)
	res, err := owner.AcceptJoin(req, testBinding, testNow)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _ := NewNodeKey()
	awayTok := newInvite(t, away, InviteOptions{})
	edit := func(f func(r *JoinResult)) *JoinResult { c := *res; f(&c); return &c }
	tokEdit := func(f func(t *Token)) Token { c := tok; f(&c); return c }
	carolDir := newMember(t, owner, "carol").Dir
	ownerDir := owner.Dir
	tests := []struct {
		name string
		dir  string
		key  *ecdsa.PrivateKey
		res  *JoinResult
		tok  Token
		o    InstallOptions
		kind error
		frag string
	}{
		{"fingerprint mismatch", "", key, res, tokEdit(func(t *Token) { t.CAFingerprint[0] ^= 1 }), InstallOptions{}, ErrUntrustedPeer, "is not the one the token names"},
		{"token of another group", "", key, res, awayTok, InstallOptions{}, ErrUntrustedPeer, `the answer is for group "home", but the token invites to group "away"`},
		{"other key", "", otherKey, res, tok, InstallOptions{}, ErrUntrustedPeer, "not for this node's key"},
		{"address mismatch", "", key, edit(func(r *JoinResult) { r.Address = netip.MustParseAddr("10.77.0.99") }), tok, InstallOptions{}, ErrUntrustedPeer, "says address 10.77.0.2"},
		{"node cert swapped", "", key, edit(func(r *JoinResult) { r.NodeCert = owner.NodeCert.Raw }), tok, InstallOptions{}, ErrUntrustedPeer, ""},
		{"nil result", "", key, nil, tok, InstallOptions{}, ErrBadMessage, "missing"},
		{"nil key", "", nil, res, tok, InstallOptions{}, ErrInvalidOption, "not an ECDSA P-256 key"},
		{"expired", "", key, res, tok, InstallOptions{Now: testNow.AddDate(2, 0, 0)}, ErrExpired, "expired"},
		{"other member's dir", carolDir, key, res, tok, InstallOptions{}, ErrExists, "use --force"},
		{"owner's dir", ownerDir, key, res, tok, InstallOptions{Force: true}, ErrCAKeyPresent, "holds the CA key"},
		{"overlap", "", key, res, tok, InstallOptions{LocalPrefixes: func() ([]netip.Prefix, error) { return []netip.Prefix{netip.MustParsePrefix("10.77.9.1/24")}, nil }}, ErrSubnetOverlap, "overlaps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir
			if dir == "" {
				dir = filepath.Join(t.TempDir(), "state")
			}
			if tt.o.Now.IsZero() {
				tt.o.Now = testNow
			}
			if tt.o.LocalPrefixes == nil {
				tt.o.LocalPrefixes = testLocal
			}
			before := takeSnapshot(t, dir)
			s, err := InstallJoined(dir, tt.key, tt.res, tt.tok, tt.o)
			wantErr(t, err, tt.kind, tt.frag)
			if s != nil {
				t.Error("state returned with an error")
			}
			assertUnchanged(t, before, dir)
		})
	}
	// With force, a member's directory of another node is replaced.
	s, err := InstallJoined(carolDir, key, res, tok, InstallOptions{Now: testNow, Force: true, LocalPrefixes: testLocal})
	if err != nil || s.NodeName != "bob" {
		t.Fatalf("forced install: %v, %v", s, err)
	}
}

func TestJoinResultCodec(t *testing.T) {
	owner := newOwner(t, "home")
	tok := newInvite(t, owner, InviteOptions{})
	req, _ := joinRequest(t, tok, "bob", testBinding)
	res, err := owner.AcceptJoin(req, testBinding, testNow)
	if err != nil {
		t.Fatal(err)
	}
	b, err := MarshalJoinResult(res)
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalJoinResult(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Group != res.Group || got.Subnet != res.Subnet || got.Address != res.Address || got.Pool != res.Pool ||
		!bytes.Equal(got.CACert, res.CACert) || !bytes.Equal(got.NodeCert, res.NodeCert) || len(got.CRL) != 0 {
		t.Errorf("round trip: %+v", got)
	}
	for _, tt := range []struct {
		name string
		in   []byte
		frag string
	}{
		{"empty", nil, "does not decode"},
		{"trailing", append(bytes.Clone(b), 0), "does not decode"},
		{"truncated", b[:len(b)-5], "does not decode"},
		{"not a map", []byte{0x80}, "does not decode"},
		{"unknown field", []byte{0xa1, 0x18, 0x63, 0x00}, "does not decode"},
		{"too big", make([]byte, maxJoinResult+1), "limit"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := UnmarshalJoinResult(tt.in)
			wantErr(t, err, ErrBadMessage, tt.frag)
		})
	}
	bad := *res
	bad.Address = netip.MustParseAddr("192.0.2.1")
	if _, err := MarshalJoinResult(&bad); !errors.Is(err, ErrBadMessage) {
		t.Errorf("marshal of a bad result: %v", err)
	}
}

func TestJoinRequestCodec(t *testing.T) {
	tok := testToken()
	req, _ := joinRequest(t, tok, "bob", testBinding)
	b, err := MarshalJoinRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 0xa4 || b[1] != 0x01 || b[2] != 0x48 {
		t.Errorf("encoding starts % x; want a 4-pair map with key 1 an 8-byte string", b[:3])
	}
	got, err := UnmarshalJoinRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.InviteID != req.InviteID || got.NodeName != req.NodeName || !bytes.Equal(got.Proof, req.Proof) || !bytes.Equal(got.PublicKey, req.PublicKey) {
		t.Errorf("round trip: %+v", got)
	}
	// Invite id of 7 bytes: decodes into [8]byte, but is not canonical.
	short := bytes.Clone(b)
	short[2] = 0x47
	short = append(short[:3+7], short[3+8:]...)
	_, err = UnmarshalJoinRequest(short)
	wantErr(t, err, ErrBadMessage, "")
	if _, err := MarshalJoinRequest(JoinRequest{NodeName: "bob"}); !errors.Is(err, ErrBadMessage) {
		t.Errorf("marshal of an empty request: %v", err)
	}
}

// fuzzOwner is the owner state that FuzzJoinRequest feeds requests to,
// made once per process.
var fuzzOwner struct {
	s   *State
	tok Token
}

// FuzzJoinRequest feeds arbitrary bytes to UnmarshalJoinRequest and what it
// accepts to AcceptJoin: neither may panic, errors must carry their
// sentinels, an accepted request re-encodes to the same bytes, and the
// owner's state changes only for a valid proof.
func FuzzJoinRequest(f *testing.F) {
	dir := filepath.Join(f.TempDir(), "owner")
	owner, err := Create(dir, CreateOptions{Name: "home", NodeName: "owner", Now: testNow, LocalPrefixes: testLocal})
	if err != nil {
		f.Fatal(err)
	}
	tok, err := owner.CreateInvite(InviteOptions{Uses: MaxInviteUses, Endpoints: testEndpoints, Now: testNow})
	if err != nil {
		f.Fatal(err)
	}
	fuzzOwner.s, fuzzOwner.tok = owner, tok
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := UnmarshalJoinRequest(data)
		if err != nil {
			if !errors.Is(err, ErrBadMessage) {
				t.Fatalf("error %q does not match ErrBadMessage", err)
			}
			return
		}
		again, err := MarshalJoinRequest(req)
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("accepted request re-encodes differently: %v", err)
		}
		// The fuzzer cannot forge an HMAC; point the request at the
		// real invite so that the proof check itself is exercised.
		req.InviteID = fuzzOwner.tok.ID
		_, err = fuzzOwner.s.AcceptJoin(req, testBinding, testNow)
		if err == nil {
			t.Fatalf("a fuzzed request was admitted")
		}
		if !errors.Is(err, ErrBadProof) && !errors.Is(err, ErrNameTaken) && !errors.Is(err, ErrKeyTaken) {
			t.Fatalf("unexpected error kind: %v", err)
		}
	})
}

// TestJoinRequestSeedCorpus checks the committed corpus of FuzzJoinRequest:
// the valid seeds decode, the others do not. With -update-seeds it
// regenerates it.
func TestJoinRequestSeedCorpus(t *testing.T) {
	const dir = "testdata/fuzz/FuzzJoinRequest"
	if *updateSeeds {
		req, _ := joinRequest(t, testToken(), "bob", testBinding)
		good, err := MarshalJoinRequest(req)
		if err != nil {
			t.Fatal(err)
		}
		owner := req
		owner.NodeName = "owner"
		ownerReq, err := MarshalJoinRequest(owner)
		if err != nil {
			t.Fatal(err)
		}
		seeds := map[string][]byte{
			"valid_request":      good,
			"valid_owner_name":   ownerReq,
			"truncated":          good[:len(good)/2],
			"trailing":           append(bytes.Clone(good), 0xf6),
			"empty":              {},
			"empty_map":          {0xa0},
			"array":              {0x84, 0x01, 0x02, 0x03, 0x04},
			"indefinite_map":     {0xbf, 0x01, 0x40, 0xff},
			"duplicate_key":      {0xa2, 0x03, 0x61, 0x61, 0x03, 0x61, 0x62},
			"unknown_key":        {0xa1, 0x05, 0x00},
			"tagged":             append([]byte{0xd8, 0x18}, good...),
			"bad_key_type":       bytes.Replace(bytes.Clone(good), []byte{0x04, 0x58, 0x5b}, []byte{0x04, 0x78, 0x5b}, 1),
			"name_with_space":    bytes.Replace(bytes.Clone(good), []byte("bob"), []byte("b b"), 1),
			"huge_length_prefix": {0xa1, 0x04, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range seeds {
			content := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(data)))
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 5 {
		t.Fatalf("only %d seeds in %s", len(entries), dir)
	}
	for _, e := range entries {
		data := readSeed(t, filepath.Join(dir, e.Name()))
		_, err := UnmarshalJoinRequest(data)
		if valid := strings.HasPrefix(e.Name(), "valid"); valid != (err == nil) {
			t.Errorf("seed %s: UnmarshalJoinRequest error %v", e.Name(), err)
		}
	}
}
