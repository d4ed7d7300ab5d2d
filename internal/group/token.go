package group

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/ipopd/ipopd/internal/cbor"
)

// Invite token format.
//
// A token is "ipop1" followed by the unpadded base64url of
//
//	CBOR || checksum
//
// where CBOR is the Core Deterministic encoding of the array
// [group, CA fingerprint (32-byte string), [endpoint...], invite id
// (8-byte string), secret (16-byte string), expiry (Unix seconds)] and the
// checksum is the first 4 bytes of the SHA-256 of CBOR. base64url uses
// only letters, digits, '-' and '_', so a token survives shells, chat and
// e-mail; whitespace inside it (line wrapping) is ignored when decoding.
const (
	TokenPrefix   = "ipop1"
	tokenChecksum = 4
	// MaxEndpoints and MaxEndpointLen bound the bootstrap endpoints of a
	// token.
	MaxEndpoints   = 16
	MaxEndpointLen = 255
	// maxTokenLen bounds the text DecodeToken looks at: 16 endpoints of
	// 255 characters and the fixed fields fit in well under 6 KiB.
	maxTokenLen = 8 << 10
)

// Token is an invite: what a new router needs to find the group, check
// that it talks to the right group and prove it was invited. Secret is a
// credential; String leaves it out.
type Token struct {
	Group         string
	CAFingerprint [32]byte // SHA-256 of the group CA certificate's DER
	Endpoints     []string // bootstrap members, "host:port"
	ID            [8]byte
	Secret        [16]byte
	Expires       time.Time // whole seconds
}

// tokenWire is the CBOR form of a Token.
type tokenWire struct {
	_             struct{} `cbor:",toarray"`
	Group         string
	CAFingerprint []byte
	Endpoints     []string
	ID            []byte
	Secret        []byte
	Expires       int64
}

// cborDec is the decoder of every message this package decodes; the
// encoding (cbor.Marshal) is Core Deterministic, so that one value has one
// encoding, and the decoder accepts only that encoding, within tight
// limits: no indefinite lengths, duplicate or unknown keys, or tags.
var cborDec = cbor.DecOptions{
	MaxDepth:    4,
	MaxArrayLen: MaxEndpoints + 8,
	MaxMapPairs: 16,
}

// String describes the token without its secret.
func (t Token) String() string {
	return fmt.Sprintf("invite %s to group %q (CA %s), endpoints %v, expires %s",
		hex.EncodeToString(t.ID[:]), t.Group, hex.EncodeToString(t.CAFingerprint[:8]), t.Endpoints, t.Expires.UTC().Format(time.RFC3339))
}

// GoString keeps %#v from printing the secret too.
func (t Token) GoString() string { return t.String() }

// IDString is the invite id as the owner's invite list shows it.
func (t Token) IDString() string { return hex.EncodeToString(t.ID[:]) }

// Encode returns the token text. Expires is encoded in whole seconds.
func (t Token) Encode() string {
	w := tokenWire{
		Group:         t.Group,
		CAFingerprint: t.CAFingerprint[:],
		Endpoints:     t.Endpoints,
		ID:            t.ID[:],
		Secret:        t.Secret[:],
		Expires:       t.Expires.Unix(),
	}
	if w.Endpoints == nil {
		w.Endpoints = []string{}
	}
	// Strings, byte strings and an integer always encode.
	body, _ := cbor.Marshal(w)
	return encodeTokenBody(body)
}

// encodeTokenBody adds the checksum and the text form to a token's CBOR.
func encodeTokenBody(body []byte) string {
	sum := sha256.Sum256(body)
	body = append(body[:len(body):len(body)], sum[:tokenChecksum]...)
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(body)
}

// DecodeToken parses a token as a person pasted it: surrounding and
// embedded whitespace is ignored. A token whose checksum does not match,
// or that holds a character no token has, matches ErrTokenTypo; anything
// else wrong matches ErrBadToken. It does not check expiry: the owner
// decides that.
func DecodeToken(s string) (Token, error) {
	if len(s) > maxTokenLen {
		return Token{}, errorf(ErrBadToken, "group: token is %d characters long; a token has at most %d", len(s), maxTokenLen)
	}
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
	if s == "" {
		return Token{}, errorf(ErrBadToken, "group: token is empty")
	}
	if !strings.HasPrefix(s, TokenPrefix) {
		if strings.HasPrefix(strings.ToLower(s), "ipop") {
			return Token{}, errorf(ErrBadToken, "group: token starts with %q; this ipopd reads %q tokens (from another ipopd version?)", shorten(s[:min(len(s), len(TokenPrefix))]), TokenPrefix)
		}
		return Token{}, errorf(ErrBadToken, "group: this is not an ipopd invite token (it should start with %q)", TokenPrefix)
	}
	body := s[len(TokenPrefix):]
	for i := 0; i < len(body); i++ {
		if c := body[i]; !isAlnum(c) && c != '-' && c != '_' {
			return Token{}, errorf(ErrTokenTypo, "group: the token has a typo: character %d (%q) cannot appear in a token; check it was copied whole", len(TokenPrefix)+i+1, c)
		}
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(body)
	if err != nil || len(raw) <= tokenChecksum {
		return Token{}, errorf(ErrTokenTypo, "group: the token has a typo: it is incomplete; check it was copied whole")
	}
	cb, sum := raw[:len(raw)-tokenChecksum], raw[len(raw)-tokenChecksum:]
	want := sha256.Sum256(cb)
	if !bytes.Equal(sum, want[:tokenChecksum]) {
		return Token{}, errorf(ErrTokenTypo, "group: the token has a typo (checksum mismatch): check it was copied whole")
	}
	var w tokenWire
	if err := cborDec.Unmarshal(cb, &w); err != nil {
		return Token{}, errorf(ErrBadToken, "group: token contents do not decode: %w", err)
	}
	t := Token{Group: w.Group, Endpoints: w.Endpoints, Expires: time.Unix(w.Expires, 0).UTC()}
	if err := ValidateName(w.Group); err != nil {
		return Token{}, errorf(ErrBadToken, "group: token: group name: %w", err)
	}
	if len(w.CAFingerprint) != len(t.CAFingerprint) || len(w.ID) != len(t.ID) || len(w.Secret) != len(t.Secret) {
		return Token{}, errorf(ErrBadToken, "group: token: CA fingerprint, id or secret has the wrong length")
	}
	copy(t.CAFingerprint[:], w.CAFingerprint)
	copy(t.ID[:], w.ID)
	copy(t.Secret[:], w.Secret)
	if err := validateEndpoints(w.Endpoints); err != nil {
		return Token{}, errorf(ErrBadToken, "group: token: %w", err)
	}
	if w.Expires <= 0 {
		return Token{}, errorf(ErrBadToken, "group: token: expiry time is not set")
	}
	// One token, one text: refuse CBOR that is valid but not in the
	// deterministic form Encode writes.
	if again := t.Encode(); again != s {
		return Token{}, errorf(ErrBadToken, "group: token is not in canonical form")
	}
	return t, nil
}

// validateEndpoints checks a token's bootstrap endpoints: 1..MaxEndpoints
// of "host:port" with a numeric port, printable ASCII without spaces.
func validateEndpoints(eps []string) error {
	if len(eps) == 0 {
		return errorf(ErrInvalidOption, "no bootstrap endpoint")
	}
	if len(eps) > MaxEndpoints {
		return errorf(ErrInvalidOption, "%d bootstrap endpoints; the limit is %d", len(eps), MaxEndpoints)
	}
	for i, ep := range eps {
		if err := ValidateEndpoint(ep); err != nil {
			return errorf(ErrInvalidOption, "endpoint %d: %w", i+1, err)
		}
	}
	return nil
}

// ValidateEndpoint checks one bootstrap endpoint: "host:port" (an IPv6
// address in brackets, or a DNS name), at most MaxEndpointLen printable
// ASCII characters, with a port of 1..65535 (see checkEndpointHost).
func ValidateEndpoint(ep string) error {
	if ep == "" {
		return errorf(ErrInvalidOption, "endpoint is empty")
	}
	if len(ep) > MaxEndpointLen {
		return errorf(ErrInvalidOption, "endpoint %q is %d characters long; the limit is %d", shorten(ep), len(ep), MaxEndpointLen)
	}
	for i := 0; i < len(ep); i++ {
		if ep[i] <= ' ' || ep[i] > '~' {
			return errorf(ErrInvalidOption, "endpoint %q contains %q", shorten(ep), ep[i])
		}
	}
	host, port, err := net.SplitHostPort(ep)
	if err != nil || host == "" {
		return errorf(ErrInvalidOption, "endpoint %q is not host:port (such as 203.0.113.7:6464, home.example.net:6464 or [2001:db8::1]:6464)", shorten(ep))
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 || strconv.FormatUint(n, 10) != port {
		return errorf(ErrInvalidOption, "endpoint %q: port %q is not a number in 1..65535", shorten(ep), shorten(port))
	}
	return checkEndpointHost(ep, host, strings.HasPrefix(ep, "["))
}
