package main

import (
	"bytes"
	"crypto/cipher"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/ipopd/ipopd/uci"
	"github.com/ipopd/ipopd/uci/ipopconf"
)

func TestSelftestPasses(t *testing.T) {
	var out bytes.Buffer
	if err := runSelfChecks(&out, selfChecks()); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(selfChecks()) {
		t.Fatalf("got %d lines, want one per check:\n%s", len(lines), out.String())
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "ok ") {
			t.Errorf("line %q is not ok", l)
		}
	}
}

func TestRunSelfChecksReportsEveryFailure(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name     string
		checks   []selfCheck
		wantErr  bool
		wantText []string
	}{
		{"all ok", []selfCheck{{"a", func() error { return nil }}}, false, []string{"ok   a"}},
		{"one fails, later still runs", []selfCheck{
			{"a", func() error { return boom }},
			{"b", func() error { return nil }},
		}, true, []string{"FAIL a", "boom", "ok   b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := runSelfChecks(&out, tc.checks)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			for _, w := range tc.wantText {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

// leakyAEAD wraps an AEAD but ignores the additional data on Open, as a
// broken cipher implementation might.
type leakyAEAD struct {
	cipher.AEAD
	ad []byte
}

func (l leakyAEAD) Open(dst, nonce, ct, _ []byte) ([]byte, error) {
	return l.AEAD.Open(dst, nonce, ct, l.ad)
}

func (l leakyAEAD) Seal(dst, nonce, pt, ad []byte) []byte {
	return l.AEAD.Seal(dst, nonce, pt, l.ad)
}

func TestAEADRoundTripCatchesBrokenCipher(t *testing.T) {
	broken := func(key []byte) (cipher.AEAD, error) {
		a, err := newAESGCM(key)
		return leakyAEAD{a, []byte("fixed")}, err
	}
	if err := aeadRoundTrip(broken); err == nil || !strings.Contains(err.Error(), "additional data") {
		t.Fatalf("err = %v, want the wrong additional data caught", err)
	}
	if err := aeadRoundTrip(func([]byte) (cipher.AEAD, error) { return nil, errors.New("no cipher") }); err == nil {
		t.Fatal("a failing constructor passed")
	}
}

func TestUCICheck(t *testing.T) {
	tests := []struct {
		name, text, wantErr string
	}{
		{"embedded default", selftestConfig, ""},
		{"syntax error", "config ipopd 'main'\n\toption listen_port '6464\n", "unterminated"},
		{"wrong port", "config ipopd 'main'\n\toption listen_port '6465'\n\toption interface 'ipop0'\n", "want 6464"},
		{"bad value", "config ipopd 'main'\n\toption listen_port '70000'\n", "listen_port"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := uciCheck(tc.text)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// The embedded text is a trimmed copy of the shipped config: both must give
// the same settings, so the selftest checks what routers really run with.
func TestSelftestConfigMatchesShipped(t *testing.T) {
	shipped, err := os.ReadFile("../openwrt/ipopd/files/ipop.config")
	if err != nil {
		t.Skipf("shipped config not readable: %v", err)
	}
	parse := func(name string, b []byte) ipopconf.Config {
		f, err := uci.Parse(name, b)
		if err != nil {
			t.Fatal(err)
		}
		c, err := ipopconf.FromFile(f)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := parse("embedded", []byte(selftestConfig)), parse("shipped", shipped)
	// The options uciCheck asserts; a difference means selftestConfig in
	// selftest.go needs the shipped file's new values.
	if a.Enabled != b.Enabled || a.ListenPort != b.ListenPort || a.Interface != b.Interface || a.Bridge != b.Bridge {
		t.Errorf("embedded config %+v differs from shipped %+v: update selftestConfig", a, b)
	}
	if err := uciCheck(string(shipped)); err != nil {
		t.Errorf("shipped config: %v", err)
	}
}

func TestSelftestCommandArgs(t *testing.T) {
	var ue usageError
	if err := run([]string{"selftest", "extra"}); !errors.As(err, &ue) {
		t.Fatalf("err = %v, want a usage error", err)
	}
}
