package group

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"net/netip"

	"github.com/ipopd/ipopd/internal/cbor"
)

// Join messages. A joiner sends a JoinRequest over a DTLS session whose
// server it checked against the token's CA fingerprint; the owner answers
// with a JoinResult. Both travel as CBOR maps with small integer keys,
// encoded deterministically; the decoders refuse any other encoding of the
// same value, so one message has exactly one byte form.

// Size limits of join messages.
const (
	ProofLen          = sha256.Size
	maxJoinRequest    = 1 << 10
	maxPublicKeyDER   = 128 // a P-256 SubjectPublicKeyInfo is 91 bytes
	maxCertDER        = 8 << 10
	maxJoinResult     = maxCRLSize + 32<<10
	minBindingLen     = 16
	maxBindingLen     = 256
	proofContextLabel = "ipop join v1"
)

// JoinRequest is what a joiner sends to be admitted: the invite it uses,
// the proof that it knows the invite's secret on this session, the name it
// proposes (the owner may give another: the invite's name hint, or the
// proposal with a suffix when it is taken) and its public key (PKIX DER of a P-256 key; the private key never
// leaves the joiner).
type JoinRequest struct {
	InviteID  [8]byte `cbor:"1,keyasint"`
	Proof     []byte  `cbor:"2,keyasint"`
	NodeName  string  `cbor:"3,keyasint"`
	PublicKey []byte  `cbor:"4,keyasint"`
}

// JoinResult is the owner's answer to an accepted JoinRequest: everything
// the joiner needs to install its membership (see InstallJoined).
type JoinResult struct {
	Group    string
	Subnet   netip.Prefix
	CACert   []byte       // DER
	NodeCert []byte       // DER, for the joiner's key
	Address  netip.Addr   // the joiner's address in Subnet
	Pool     netip.Prefix // the joiner's DHCP pool slice; zero if none
	CRL      []byte       // current revocation list (DER); nil if none
}

// Name returns the node name the owner gave the joiner: the common name
// of NodeCert ("" if it does not parse). It may differ from the name the
// joiner proposed (see AcceptJoin).
func (r *JoinResult) Name() string {
	c, err := x509.ParseCertificate(r.NodeCert)
	if err != nil {
		return ""
	}
	return c.Subject.CommonName
}

// joinResultWire is the CBOR form of a JoinResult.
type joinResultWire struct {
	Group    string `cbor:"1,keyasint"`
	Subnet   string `cbor:"2,keyasint"`
	CACert   []byte `cbor:"3,keyasint"`
	NodeCert []byte `cbor:"4,keyasint"`
	Address  string `cbor:"5,keyasint"`
	Pool     string `cbor:"6,keyasint,omitempty"`
	CRL      []byte `cbor:"7,keyasint,omitempty"`
}

// Proof returns HMAC-SHA256(secret, "ipop join v1" || binding). binding is
// the keying material exported from the joiner's DTLS session (both ends
// derive the same bytes), so a proof seen on one session is worthless on
// another.
func Proof(secret [16]byte, binding []byte) []byte {
	m := hmac.New(sha256.New, secret[:])
	m.Write([]byte(proofContextLabel))
	m.Write(binding)
	return m.Sum(nil)
}

// NewNodeKey generates a joiner's key pair (ECDSA P-256).
func NewNodeKey() (*ecdsa.PrivateKey, error) { return generateKey() }

// MarshalPublicKey returns the PKIX DER of key's public key, the form
// JoinRequest.PublicKey carries; nil for a nil or unusable key.
func MarshalPublicKey(key *ecdsa.PrivateKey) []byte {
	if key == nil || !isP256(&key.PublicKey) || key.X == nil || key.Y == nil {
		return nil
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil
	}
	return der
}

// parseJoinKey parses a JoinRequest's public key: a P-256 key in the
// exact DER MarshalPublicKey writes.
func parseJoinKey(der []byte) (*ecdsa.PublicKey, error) {
	if len(der) == 0 {
		return nil, errorf(ErrBadMessage, "public key is missing")
	}
	if len(der) > maxPublicKeyDER {
		return nil, errorf(ErrBadMessage, "public key is %d bytes; a P-256 key has %d at most", len(der), maxPublicKeyDER)
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, errorf(ErrBadMessage, "public key does not parse: %w", err)
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok || !isP256(pub) {
		return nil, errorf(ErrBadMessage, "public key is not ECDSA P-256")
	}
	if again, err := x509.MarshalPKIXPublicKey(pub); err != nil || !bytes.Equal(again, der) {
		return nil, errorf(ErrBadMessage, "public key is not in canonical DER")
	}
	return pub, nil
}

// validateJoinRequest checks the fields of a request and returns its key.
func validateJoinRequest(r JoinRequest) (*ecdsa.PublicKey, error) {
	if len(r.Proof) != ProofLen {
		return nil, errorf(ErrBadMessage, "proof is %d bytes, want %d", len(r.Proof), ProofLen)
	}
	if err := ValidateName(r.NodeName); err != nil {
		return nil, errorf(ErrBadMessage, "node name: %w", err)
	}
	return parseJoinKey(r.PublicKey)
}

// MarshalJoinRequest validates and encodes a request. Errors match
// ErrBadMessage.
func MarshalJoinRequest(r JoinRequest) ([]byte, error) {
	if _, err := validateJoinRequest(r); err != nil {
		return nil, errorf(ErrBadMessage, "group: join request: %w", err)
	}
	b, err := cbor.Marshal(r)
	if err != nil {
		return nil, errorf(ErrBadMessage, "group: join request: %w", err)
	}
	return b, nil
}

// UnmarshalJoinRequest decodes and validates a request from the network.
// Errors match ErrBadMessage and never panic, whatever b holds.
func UnmarshalJoinRequest(b []byte) (JoinRequest, error) {
	if len(b) > maxJoinRequest {
		return JoinRequest{}, errorf(ErrBadMessage, "group: join request is %d bytes; the limit is %d", len(b), maxJoinRequest)
	}
	var r JoinRequest
	if err := cborDec.Unmarshal(b, &r); err != nil {
		return JoinRequest{}, errorf(ErrBadMessage, "group: join request does not decode: %w", err)
	}
	if _, err := validateJoinRequest(r); err != nil {
		return JoinRequest{}, errorf(ErrBadMessage, "group: join request: %w", err)
	}
	if again, err := cbor.Marshal(r); err != nil || !bytes.Equal(again, b) {
		return JoinRequest{}, errorf(ErrBadMessage, "group: join request is not in canonical CBOR")
	}
	return r, nil
}

// validateJoinResult checks the fields of a result that do not need the
// certificates parsed (InstallJoined checks those).
func validateJoinResult(r *JoinResult) error {
	if err := ValidateName(r.Group); err != nil {
		return errorf(ErrBadMessage, "group name: %w", err)
	}
	if !r.Subnet.IsValid() || r.Subnet.Masked() != r.Subnet {
		return errorf(ErrBadMessage, "subnet %s is not a masked prefix", r.Subnet)
	}
	if _, err := ValidateSubnet(r.Subnet); err != nil {
		return errorf(ErrBadMessage, "%w", err)
	}
	if len(r.CACert) == 0 || len(r.CACert) > maxCertDER || len(r.NodeCert) == 0 || len(r.NodeCert) > maxCertDER {
		return errorf(ErrBadMessage, "CA or node certificate is missing or longer than %d bytes", maxCertDER)
	}
	if err := checkHostAddress(r.Subnet, r.Address); err != nil {
		return errorf(ErrBadMessage, "%w", err)
	}
	if r.Pool.IsValid() {
		if err := checkPool(r.Subnet, r.Pool, r.Address); err != nil {
			return errorf(ErrBadMessage, "%w", err)
		}
	}
	if len(r.CRL) > maxCRLSize {
		return errorf(ErrBadMessage, "revocation list is longer than %d bytes", maxCRLSize)
	}
	return nil
}

func (r *JoinResult) wire() joinResultWire {
	w := joinResultWire{
		Group: r.Group, Subnet: r.Subnet.String(), CACert: r.CACert, NodeCert: r.NodeCert,
		Address: r.Address.String(), CRL: r.CRL,
	}
	if r.Pool.IsValid() {
		w.Pool = r.Pool.String()
	}
	if len(w.CRL) == 0 {
		w.CRL = nil
	}
	return w
}

// MarshalJoinResult validates and encodes a result. Errors match
// ErrBadMessage.
func MarshalJoinResult(r *JoinResult) ([]byte, error) {
	if r == nil {
		return nil, errorf(ErrBadMessage, "group: join result is nil")
	}
	if err := validateJoinResult(r); err != nil {
		return nil, errorf(ErrBadMessage, "group: join result: %w", err)
	}
	b, err := cbor.Marshal(r.wire())
	if err != nil {
		return nil, errorf(ErrBadMessage, "group: join result: %w", err)
	}
	return b, nil
}

// UnmarshalJoinResult decodes and validates a result from the network.
// Errors match ErrBadMessage.
func UnmarshalJoinResult(b []byte) (*JoinResult, error) {
	if len(b) > maxJoinResult {
		return nil, errorf(ErrBadMessage, "group: join result is %d bytes; the limit is %d", len(b), maxJoinResult)
	}
	var w joinResultWire
	if err := cborDec.Unmarshal(b, &w); err != nil {
		return nil, errorf(ErrBadMessage, "group: join result does not decode: %w", err)
	}
	r := &JoinResult{Group: w.Group, CACert: w.CACert, NodeCert: w.NodeCert, CRL: w.CRL}
	var err error
	if r.Subnet, err = netip.ParsePrefix(w.Subnet); err != nil {
		return nil, errorf(ErrBadMessage, "group: join result: subnet %q is not a prefix", shorten(w.Subnet))
	}
	if r.Address, err = netip.ParseAddr(w.Address); err != nil {
		return nil, errorf(ErrBadMessage, "group: join result: address %q is not an IP address", shorten(w.Address))
	}
	if w.Pool != "" {
		if r.Pool, err = netip.ParsePrefix(w.Pool); err != nil {
			return nil, errorf(ErrBadMessage, "group: join result: pool %q is not a prefix", shorten(w.Pool))
		}
	}
	if err := validateJoinResult(r); err != nil {
		return nil, errorf(ErrBadMessage, "group: join result: %w", err)
	}
	if again, err := cbor.Marshal(r.wire()); err != nil || !bytes.Equal(again, b) {
		return nil, errorf(ErrBadMessage, "group: join result is not in canonical CBOR")
	}
	return r, nil
}
