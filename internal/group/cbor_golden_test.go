package group

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"net/netip"
	"testing"
)

// The golden encodings below are what github.com/fxamacker/cbor/v2 v2.9.6
// (CoreDetEncOptions) wrote before ipopd switched to internal/cbor: tokens
// and join messages of old and new versions must be the same bytes.

// goldenPublicKey is the PKIX DER of the P-256 base point, a valid key
// that needs no randomness.
const goldenPublicKey = "3059301306072a8648ce3d020106082a8648ce3d030107034200046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTokenGolden(t *testing.T) {
	one := testToken()
	one.Endpoints = one.Endpoints[:1]
	for _, tc := range []struct {
		name string
		tok  Token
		want string // hex of the CBOR inside the token text
	}{
		{"three endpoints", testToken(), "8664686f6d655820000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f83703230332e302e3131332e373a34373839725b323030313a6462383a3a315d3a34373839766f776e65722e6578616d706c652e6e65743a3437383948696e76697465303150303132333435363738396162636465661a683d9240"},
		{"one endpoint", one, "8664686f6d655820000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f81703230332e302e3131332e373a3437383948696e76697465303150303132333435363738396162636465661a683d9240"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.tok.Encode()
			raw, err := base64.RawURLEncoding.DecodeString(s[len(TokenPrefix):])
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(raw[:len(raw)-tokenChecksum]); got != tc.want {
				t.Fatalf("token CBOR = %s\nwant        %s", got, tc.want)
			}
			back, err := DecodeToken(s)
			if err != nil || !tokensEqual(back, tc.tok) {
				t.Fatalf("DecodeToken: %v, %v", back, err)
			}
		})
	}
}

func TestJoinRequestGolden(t *testing.T) {
	req := JoinRequest{InviteID: [8]byte{'i', 'n', 'v', 'i', 't', 'e', '0', '1'}, Proof: bytes.Repeat([]byte{0xa5}, ProofLen), NodeName: "bob", PublicKey: mustHex(t, goldenPublicKey)}
	const want = "a40148696e766974653031025820a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a50363626f6204585b3059301306072a8648ce3d020106082a8648ce3d030107034200046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"
	b, err := MarshalJoinRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(b); got != want {
		t.Fatalf("MarshalJoinRequest = %s\nwant                 %s", got, want)
	}
	back, err := UnmarshalJoinRequest(b)
	if err != nil || back.InviteID != req.InviteID || back.NodeName != req.NodeName || !bytes.Equal(back.Proof, req.Proof) || !bytes.Equal(back.PublicKey, req.PublicKey) {
		t.Fatalf("UnmarshalJoinRequest: %+v, %v", back, err)
	}
}

func TestJoinResultGolden(t *testing.T) {
	full := &JoinResult{
		Group: "home", Subnet: netip.MustParsePrefix("10.77.0.0/16"), CACert: []byte{0x30, 1, 2}, NodeCert: bytes.Repeat([]byte{0x30}, 24),
		Address: netip.MustParseAddr("10.77.0.2"), Pool: netip.MustParsePrefix("10.77.2.0/24"), CRL: []byte{0x30, 0},
	}
	bare := &JoinResult{
		Group: "lab", Subnet: netip.MustParsePrefix("10.5.5.0/27"), CACert: []byte{1}, NodeCert: []byte{2},
		Address: netip.MustParseAddr("10.5.5.3"),
	}
	for _, tc := range []struct {
		name string
		res  *JoinResult
		want string
	}{
		{"full", full, "a70164686f6d65026c31302e37372e302e302f31360343300102045818303030303030303030303030303030303030303030303030056931302e37372e302e32066c31302e37372e322e302f323407423000"},
		{"no pool no crl", bare, "a501636c6162026b31302e352e352e302f3237034101044102056831302e352e352e33"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := MarshalJoinResult(tc.res)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(b); got != tc.want {
				t.Fatalf("MarshalJoinResult = %s\nwant                %s", got, tc.want)
			}
			back, err := UnmarshalJoinResult(b)
			if err != nil {
				t.Fatal(err)
			}
			if back.Group != tc.res.Group || back.Subnet != tc.res.Subnet || back.Address != tc.res.Address || back.Pool != tc.res.Pool ||
				!bytes.Equal(back.CACert, tc.res.CACert) || !bytes.Equal(back.NodeCert, tc.res.NodeCert) || !bytes.Equal(back.CRL, tc.res.CRL) {
				t.Fatalf("UnmarshalJoinResult = %+v", back)
			}
		})
	}
}
