package group

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
)

// PEM block types used in state files and bundles.
const (
	pemCertificate = "CERTIFICATE"
	pemECKey       = "EC PRIVATE KEY"
)

// NodeIDLen is the length of a node id in hex characters (8 bytes).
const NodeIDLen = 16

// NodeIDFromPublicKey returns the node id of a public key: the lowercase hex
// of the first 8 bytes of the SHA-256 of its DER SubjectPublicKeyInfo.
func NodeIDFromPublicKey(pub crypto.PublicKey) (string, error) {
	if k, ok := pub.(*ecdsa.PublicKey); ok && (k == nil || k.Curve == nil || !validPoint(k)) {
		return "", errorf(ErrInvalidOption, "node id: incomplete ECDSA public key")
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", errorf(ErrInvalidOption, "node id: %w", err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:NodeIDLen/2]), nil
}

// Fingerprint returns the lowercase hex SHA-256 of the certificate's DER,
// the form in which invites and the CLI name a group CA. It returns "" for
// a nil certificate.
func Fingerprint(cert *x509.Certificate) string {
	if cert == nil {
		return ""
	}
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// validNodeID reports whether s looks like a node id.
func validNodeID(s string) bool {
	if len(s) != NodeIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}

func generateKey() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating ECDSA P-256 key: %w", err)
	}
	return k, nil
}

// encodeKey returns the key as an "EC PRIVATE KEY" PEM block.
func encodeKey(k *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("encoding private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemECKey, Bytes: der}), nil
}

// parseKeyBlock parses an "EC PRIVATE KEY" block holding a P-256 key. Its
// errors never quote the block's bytes: they are secret.
func parseKeyBlock(b *pem.Block, kind error) (*ecdsa.PrivateKey, error) {
	if b.Type != pemECKey {
		return nil, errorf(kind, "PEM block is %q, want %q", shorten(b.Type), pemECKey)
	}
	if len(b.Headers) > 0 {
		if strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED") {
			return nil, errorf(kind, "the private key is encrypted; only unencrypted keys are supported")
		}
		return nil, errorf(kind, "unexpected PEM headers on the private key")
	}
	k, err := x509.ParseECPrivateKey(b.Bytes)
	if err != nil {
		return nil, errorf(kind, "private key is not a valid EC key")
	}
	if k.Curve != elliptic.P256() {
		return nil, errorf(kind, "private key uses curve %s, want P-256", k.Curve.Params().Name)
	}
	// ParseECPrivateKey derives the public key from the scalar and ignores
	// the copy stored beside it. We only read keys we wrote, so demand the
	// exact encoding: a damaged byte anywhere is then caught.
	if again, err := x509.MarshalECPrivateKey(k); err != nil || !bytes.Equal(again, b.Bytes) {
		return nil, errorf(kind, "private key encoding is damaged (it does not re-encode to the same bytes)")
	}
	return k, nil
}

// randomSerial returns a random positive 128-bit certificate serial.
func randomSerial() (*big.Int, error) {
	var b [16]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("generating serial number: %w", err)
		}
		n := new(big.Int).SetBytes(b[:])
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// isP256 reports whether pub is an ECDSA P-256 public key.
func isP256(pub any) bool {
	k, ok := pub.(*ecdsa.PublicKey)
	return ok && k != nil && k.Curve == elliptic.P256()
}

// certPEM returns the certificate as a CERTIFICATE PEM block.
func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: pemCertificate, Bytes: c.Raw})
}

// serialHex is the certificate serial as even-length lowercase hex.
func serialHex(c *x509.Certificate) string { return hex.EncodeToString(c.SerialNumber.Bytes()) }

// validPoint reports whether an ECDSA public key holds a point (without
// the deprecated big.Int coordinates).
func validPoint(k *ecdsa.PublicKey) bool {
	_, err := k.Bytes()
	return err == nil
}
