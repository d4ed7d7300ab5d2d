package group

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"testing"
)

// A fixed P-256 public key and its node id, computed independently with
// openssl ec -pubin -outform DER | openssl dgst -sha256 (first 16 digits).
const (
	testSPKI = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEN2Xn34M4/JMkmNFk7f1+gnEB6wx2
7XAwmOv7W1qpyN4HyuOrEhGvqbAwLDz3UvM9XJ40hNIadfl1qxc2uPAZpw==
-----END PUBLIC KEY-----
`
	testSPKINodeID = "5148f4cdee416bac"
)

func TestNodeIDFromPublicKey(t *testing.T) {
	blk, _ := pem.Decode([]byte(testSPKI))
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	want := testSPKINodeID
	id, err := NodeIDFromPublicKey(pub)
	if err != nil || id != want || !validNodeID(id) {
		t.Errorf("NodeIDFromPublicKey = %q, %v; want %q", id, err, want)
	}

	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	bad := []struct {
		name string
		pub  any
	}{
		{"nil", nil},
		{"nil ecdsa", (*ecdsa.PublicKey)(nil)},
		{"empty ecdsa", &ecdsa.PublicKey{}},
		{"ecdsa by value", k.PublicKey},
		{"private key", k},
		{"string", "key"},
	}
	for _, tt := range bad {
		if id, err := NodeIDFromPublicKey(tt.pub); err == nil || !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%s: NodeIDFromPublicKey = %q, %v; want an error", tt.name, id, err)
		}
	}
	// Other key types get an id too; they are refused elsewhere.
	if id, err := NodeIDFromPublicKey(edPub); err != nil || len(id) != NodeIDLen {
		t.Errorf("ed25519: %q, %v", id, err)
	}
}

func TestFingerprint(t *testing.T) {
	if Fingerprint(nil) != "" {
		t.Error("Fingerprint(nil) not empty")
	}
	s := newOwner(t, "home")
	sum := sha256.Sum256(s.CACert.Raw)
	if got := Fingerprint(s.CACert); got != hex.EncodeToString(sum[:]) || len(got) != 64 {
		t.Errorf("Fingerprint = %q", got)
	}
}

func TestParseKeyBlockRefusesOtherCurves(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	_, err = parseKeyBlock(&pem.Block{Type: pemECKey, Bytes: der}, ErrBadBundle)
	wantErr(t, err, ErrBadBundle, "curve P-384, want P-256")
}
