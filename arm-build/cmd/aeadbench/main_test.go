package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/ipopd/ipopd/internal/transport"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args    []string
		want    config
		wantErr error  // sentinel, when the error is ours
		errText string // part of the message
	}{
		{args: nil, want: config{aead: transport.PreferredCipher(), n: defaultRecords, size: defaultSize}},
		{args: []string{"-aead", "aes-128-gcm", "-n", "0", "-size", "64"}, want: config{aead: nameAESGCM, n: 0, size: 64}},
		{args: []string{"-aead=CHACHA20-POLY1305", "-size", "1"}, want: config{aead: nameChaCha20, n: defaultRecords, size: 1}},
		{args: []string{"-aead", "chacha20-poly1305:X/CRYPTO"}, want: config{aead: nameXCrypto, n: defaultRecords, size: defaultSize}},
		{args: []string{"-aead", "ChaCha20-Poly1305:chachapoly", "-n", "1"}, want: config{aead: nameChachapoly, n: 1, size: defaultSize}},
		{args: []string{"-size", "65478"}, want: config{aead: transport.PreferredCipher(), n: defaultRecords, size: maxPayload}},
		{args: []string{"-frame", "-size", "64", "-n", "2"}, want: config{aead: transport.PreferredCipher(), n: 2, size: 64, frame: true}},
		{args: []string{"-frame", "-size", "13"}, wantErr: errBadSize, errText: "want 14..1518 with -frame"},
		{args: []string{"-frame", "-size", "1519"}, wantErr: errBadSize, errText: "-size 1519"},
		{args: []string{"-frame", "-aead", "ChaCha20-Poly1305:x/crypto"}, wantErr: errUnknownAEAD, errText: "the frame path runs the daemon's AEAD"},
		{args: []string{"-aead", "des"}, wantErr: errUnknownAEAD, errText: `-aead: unknown AEAD "des"`},
		{args: []string{"-aead", ""}, wantErr: errUnknownAEAD, errText: `unknown AEAD ""`},
		{args: []string{"-n", "-1"}, wantErr: errBadCount, errText: "-n -1"},
		{args: []string{"-size", "0"}, wantErr: errBadSize, errText: "-size 0"},
		{args: []string{"-size", "65479"}, wantErr: errBadSize, errText: "want 1..65478"},
		{args: []string{"extra"}, wantErr: errExtraArgs, errText: `["extra"]`},
		{args: []string{"-n", "ten"}, errText: `invalid value "ten" for flag -n`},
		{args: []string{"-size"}, errText: "flag needs an argument: -size"},
		{args: []string{"-bogus"}, errText: "flag provided but not defined: -bogus"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			got, err := parseFlags(tc.args, io.Discard)
			if tc.errText == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got != tc.want {
					t.Fatalf("got %+v, want %+v", got, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %+v, want an error", got)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v is not %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.errText) {
				t.Errorf("error %q does not say %q", err, tc.errText)
			}
		})
	}
}

func TestRun(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run([]string{"-aead", "chacha20-poly1305", "-n", "2", "-size", "64"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	want := "daemon picks: " + transport.PreferredCipher() + " ("
	if !strings.HasPrefix(out.String(), want) {
		t.Errorf("output %q does not start with %q", out.String(), want)
	}
	if !strings.Contains(out.String(), "sealed and opened: ChaCha20-Poly1305, 2 records of 64 bytes\n") {
		t.Errorf("output %q does not say what it measured", out.String())
	}
}

func TestRunHelpAndErrors(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run([]string{"-h"}, &out, &errOut); err != nil {
		t.Fatalf("-h: %v", err)
	}
	if !strings.Contains(errOut.String(), "-aead") || out.Len() != 0 {
		t.Errorf("-h printed stdout %q, stderr %q", out.String(), errOut.String())
	}
	errOut.Reset()
	err := run([]string{"-n", "x"}, &out, &errOut)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		t.Fatalf("bad -n: %v", err)
	}
	if !strings.Contains(errOut.String(), "Usage of aeadbench") {
		t.Errorf("bad -n printed no usage: %q", errOut.String())
	}
	if out.Len() != 0 {
		t.Errorf("failed run wrote %q to stdout", out.String())
	}
}

// FuzzParseFlags: any argument list either fails with an error or gives a
// configuration a run can use.
func FuzzParseFlags(f *testing.F) {
	f.Add("-aead\x00auto\x00-n\x0010\x00-size\x001400")
	f.Add("-size=0")
	f.Add("-n\x00-5")
	f.Add("--aead=AES-128-GCM\x00x")
	f.Fuzz(func(t *testing.T, joined string) {
		var args []string
		if joined != "" {
			args = strings.Split(joined, "\x00")
		}
		cfg, err := parseFlags(args, io.Discard)
		if err != nil {
			return
		}
		if cfg.aead != nameAESGCM && cfg.aead != nameChaCha20 && cfg.aead != nameXCrypto && cfg.aead != nameChachapoly {
			t.Fatalf("aead %q", cfg.aead)
		}
		if cfg.n < 0 || cfg.size < 1 || cfg.size > maxPayload {
			t.Fatalf("accepted %+v", cfg)
		}
	})
}
