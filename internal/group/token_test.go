package group

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/cbor"
)

func testToken() Token {
	t := Token{
		Group:     "home",
		Endpoints: []string{"203.0.113.7:4789", "[2001:db8::1]:4789", "owner.example.net:4789"},
		Expires:   testNow.Add(24 * time.Hour),
	}
	for i := range t.CAFingerprint {
		t.CAFingerprint[i] = byte(i)
	}
	copy(t.ID[:], "invite01")
	copy(t.Secret[:], "0123456789abcdef")
	return t
}

func tokensEqual(a, b Token) bool {
	return a.Group == b.Group && a.CAFingerprint == b.CAFingerprint && a.ID == b.ID && a.Secret == b.Secret &&
		a.Expires.Equal(b.Expires) && strings.Join(a.Endpoints, "\n") == strings.Join(b.Endpoints, "\n")
}

func TestTokenRoundTrip(t *testing.T) {
	tok := testToken()
	s := tok.Encode()
	if !strings.HasPrefix(s, TokenPrefix) {
		t.Fatalf("token %q lacks the prefix", s)
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			t.Fatalf("token holds %q, which is not copy-paste safe", c)
		}
	}
	t.Logf("token (%d characters): %s", len(s), s)
	for _, in := range []string{s, "  " + s + "\n", s[:20] + "\n" + s[20:40] + " \t" + s[40:]} {
		got, err := DecodeToken(in)
		if err != nil {
			t.Fatalf("DecodeToken: %v", err)
		}
		if !tokensEqual(got, tok) {
			t.Errorf("round trip: %v, want %v", got, tok)
		}
	}
	if str := fmt.Sprintf("%v %#v %s", tok, tok, tok); strings.Contains(str, "0123456789abcdef") || strings.Contains(str, fmt.Sprint(tok.Secret[:])) {
		t.Errorf("printing a token shows its secret: %s", str)
	}
}

// TestTokenTypos changes every character of a token in turn: each change
// must be reported as a typo, never accepted and never as another error.
func TestTokenTypos(t *testing.T) {
	s := testToken().Encode()
	for i := len(TokenPrefix); i < len(s); i++ {
		for _, repl := range []byte{'A', 'z', '9', '-', '!', '/'} {
			if s[i] == repl {
				continue
			}
			bad := s[:i] + string(repl) + s[i+1:]
			_, err := DecodeToken(bad)
			if !errors.Is(err, ErrTokenTypo) {
				t.Fatalf("char %d -> %q: got %v, want ErrTokenTypo", i, repl, err)
			}
		}
	}
	for _, bad := range []string{s[:len(s)-1], s[:len(s)/2], s + "A", s[:30] + s[31:]} {
		if _, err := DecodeToken(bad); !errors.Is(err, ErrTokenTypo) {
			t.Errorf("truncated/extended token: %v, want ErrTokenTypo", err)
		}
	}
	_, err := DecodeToken(s[:40] + "x" + s[41:])
	wantErr(t, err, ErrTokenTypo, "the token has a typo")
}

func TestTokenBad(t *testing.T) {
	mod := func(f func(*Token)) string { tok := testToken(); f(&tok); return tok.Encode() }
	long := strings.Repeat(strings.Repeat("a", 49)+".", 5) + ":1" // 250 characters of DNS name
	tests := []struct {
		name string
		in   string
		kind error
		frag string
	}{
		{"empty", "", ErrBadToken, "empty"},
		{"blank", " \n\t", ErrBadToken, "empty"},
		{"not a token", "hello world", ErrBadToken, "not an ipopd invite token"},
		{"other version", "ipop2" + testToken().Encode()[5:], ErrBadToken, "ipop2"},
		{"prefix only", TokenPrefix, ErrTokenTypo, "incomplete"},
		{"too long", TokenPrefix + strings.Repeat("A", maxTokenLen), ErrBadToken, "characters long"},
		{"bad group", mod(func(t *Token) { t.Group = "no spaces" }), ErrBadToken, "group name"},
		{"no endpoints", mod(func(t *Token) { t.Endpoints = nil }), ErrBadToken, "no bootstrap endpoint"},
		{"too many endpoints", mod(func(t *Token) { t.Endpoints = strings.Split(strings.Repeat("h:1,", 17)[:4*17-1], ",") }), ErrBadToken, "17 bootstrap endpoints"},
		{"endpoint too long", mod(func(t *Token) { t.Endpoints = []string{strings.Repeat("a", 254) + ":1"} }), ErrBadToken, "limit is 255"},
		{"endpoint no port", mod(func(t *Token) { t.Endpoints = []string{"host"} }), ErrBadToken, "not host:port"},
		{"endpoint port 0", mod(func(t *Token) { t.Endpoints = []string{"host:0"} }), ErrBadToken, "port"},
		{"endpoint space", mod(func(t *Token) { t.Endpoints = []string{"ho st:1"} }), ErrBadToken, "contains"},
		{"no expiry", mod(func(t *Token) { t.Expires = time.Unix(0, 0) }), ErrBadToken, "expiry"},
	}
	if _, err := DecodeToken(mod(func(t *Token) { t.Endpoints = []string{long} })); err != nil {
		t.Fatalf("an endpoint of 252 characters: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeToken(tt.in)
			wantErr(t, err, tt.kind, tt.frag)
		})
	}
}

func TestTokenNonCanonical(t *testing.T) {
	// A token whose CBOR is valid but not deterministic (a 1-byte integer
	// written in 2 bytes) must not decode, though its checksum is right.
	tok := testToken()
	good := tok.Encode()
	w := tokenWire{Group: tok.Group, CAFingerprint: tok.CAFingerprint[:], Endpoints: tok.Endpoints, ID: tok.ID[:], Secret: tok.Secret[:], Expires: tok.Expires.Unix()}
	body, err := cbor.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	// Array header 0x86 -> 0x98 0x06 (length in a following byte).
	if body[0] != 0x86 {
		t.Fatalf("unexpected CBOR head %#x", body[0])
	}
	bad := encodeTokenBody(append([]byte{0x98, 0x06}, body[1:]...))
	if _, err := DecodeToken(bad); err == nil {
		t.Fatalf("non-canonical token accepted")
	} else if !errors.Is(err, ErrBadToken) {
		t.Errorf("non-canonical token: %v, want ErrBadToken", err)
	}
	if again := encodeTokenBody(body); again != good {
		t.Fatalf("encodeTokenBody disagrees with Encode")
	}
}

// FuzzDecodeToken: DecodeToken never panics, tags every error with
// ErrTokenTypo or ErrBadToken, and what it accepts encodes back to the
// same text (whitespace aside) and decodes to the same token.
func FuzzDecodeToken(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := DecodeToken(s)
		if err != nil {
			if !errors.Is(err, ErrTokenTypo) && !errors.Is(err, ErrBadToken) {
				t.Fatalf("error %q matches neither ErrTokenTypo nor ErrBadToken", err)
			}
			return
		}
		enc := tok.Encode()
		if enc != strings.Join(strings.Fields(s), "") {
			t.Fatalf("accepted %q but encodes to %q", s, enc)
		}
		again, err := DecodeToken(enc)
		if err != nil || !tokensEqual(again, tok) {
			t.Fatalf("re-decode: %v, %v != %v", err, again, tok)
		}
	})
}

// TestTokenSeedCorpus checks the committed corpus: the valid seeds decode,
// the others do not. With -update-seeds it regenerates it.
func TestTokenSeedCorpus(t *testing.T) {
	const dir = "testdata/fuzz/FuzzDecodeToken"
	if *updateSeeds {
		good := testToken().Encode()
		one := testToken()
		one.Endpoints = one.Endpoints[:1]
		seeds := map[string]string{
			"valid_token":        good,
			"valid_one_endpoint": one.Encode(),
			"valid_wrapped":      " " + good[:30] + "\n" + good[30:] + "\n",
			"typo":               good[:40] + "x" + good[41:],
			"truncated":          good[:len(good)-3],
			"bad_char":           good[:20] + "+" + good[21:],
			"not_token":          "hello",
			"prefix_only":        TokenPrefix,
			"empty":              "",
			"bad_group":          func() string { tk := testToken(); tk.Group = "a b"; return tk.Encode() }(),
		}
		writeStringSeeds(t, dir, seeds)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 5 {
		t.Fatalf("only %d seeds in %s", len(entries), dir)
	}
	for _, e := range entries {
		s := readStringSeed(t, filepath.Join(dir, e.Name()))
		_, err := DecodeToken(s)
		if valid := strings.HasPrefix(e.Name(), "valid"); valid != (err == nil) {
			t.Errorf("seed %s: DecodeToken error %v", e.Name(), err)
		}
	}
}

func writeStringSeeds(t *testing.T, dir string, seeds map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, s := range seeds {
		content := fmt.Sprintf("go test fuzz v1\nstring(%s)\n", strconv.Quote(s))
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readStringSeed(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	header, body, ok := strings.Cut(string(raw), "\n")
	body = strings.TrimSpace(body)
	if !ok || header != "go test fuzz v1" || !strings.HasPrefix(body, "string(") || !strings.HasSuffix(body, ")") {
		t.Fatalf("%s is not a string corpus file", path)
	}
	s, err := strconv.Unquote(body[len("string(") : len(body)-1])
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}
