package group

import (
	"bytes"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var updateSeeds = flag.Bool("update-seeds", false, "regenerate testdata/fuzz/FuzzParseBundle")

const seedDir = "testdata/fuzz/FuzzParseBundle"

// FuzzParseBundle feeds arbitrary bytes to ParseBundle: it must never
// panic, must tag every error with ErrBadBundle, and whatever it accepts
// must survive Encode and parse to the same bundle.
func FuzzParseBundle(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		bd, err := ParseBundle(data)
		if err != nil {
			if !errors.Is(err, ErrBadBundle) {
				t.Fatalf("error %q does not match ErrBadBundle", err)
			}
			if bd != nil {
				t.Fatal("bundle returned with an error")
			}
			return
		}
		out, err := bd.Encode()
		if err != nil {
			t.Fatalf("Encode of a parsed bundle: %v", err)
		}
		again, err := ParseBundle(out)
		if err != nil {
			t.Fatalf("re-parse of an encoded bundle: %v", err)
		}
		if again.Group != bd.Group || again.Subnet != bd.Subnet || again.NodeName != bd.NodeName || again.NodeID != bd.NodeID ||
			again.Address != bd.Address || !again.CACert.Equal(bd.CACert) || !again.NodeCert.Equal(bd.NodeCert) || !again.NodeKey.Equal(bd.NodeKey) {
			t.Fatalf("round trip changed the bundle: %v -> %v", bd, again)
		}
	})
}

// TestSeedCorpus checks the committed corpus: the valid seed still parses
// (so the fuzzer starts from a real bundle) and the broken ones do not.
// With -update-seeds it regenerates the corpus first.
func TestSeedCorpus(t *testing.T) {
	if *updateSeeds {
		writeSeeds(t)
	}
	entries, err := os.ReadDir(seedDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 5 {
		t.Fatalf("only %d seeds in %s", len(entries), seedDir)
	}
	for _, e := range entries {
		data := readSeed(t, filepath.Join(seedDir, e.Name()))
		_, err := ParseBundle(data)
		if valid := strings.HasPrefix(e.Name(), "valid"); valid != (err == nil) {
			t.Errorf("seed %s: ParseBundle error %v", e.Name(), err)
		}
	}
}

func writeSeeds(t *testing.T) {
	owner := newOwner(t, "home")
	b, blocks := testBundle(t, owner, "bob")
	_, carol := testBundle(t, owner, "carol")
	small, err := Create(t.TempDir(), CreateOptions{Name: "lab.2", NodeName: "r1", Subnet: netip.MustParsePrefix("172.31.7.0/29"), Now: testNow, LocalPrefixes: testLocal})
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := testBundle(t, small, "r_2")
	ca, node, key := blocks[0], blocks[1], blocks[2]
	// Flip one bit inside the node certificate's base64 body.
	flipped := bytes.Clone(b)
	flipped[bytes.LastIndex(flipped, []byte("-----BEGIN CERTIFICATE-----"))+100] ^= 0x01
	seeds := map[string][]byte{
		"valid_bundle":       b,
		"valid_small_subnet": b2,
		"valid_crlf":         bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")),
		"truncated_half":     b[:len(b)/2],
		"truncated_in_key":   b[:len(b)-40],
		"flipped_byte":       flipped,
		"swapped_ca_node":    assemble(node, ca, key),
		"swapped_node_key":   assemble(ca, key, node),
		"key_of_other_node":  assemble(ca, node, carol[2]),
		"missing_subnet":     assemble(withHeaders(ca, map[string]string{headerGroup: "home"}), node, key),
		"bad_subnet":         assemble(withHeaders(ca, map[string]string{headerGroup: "home", headerSubnet: "10.77.0.0/33"}), node, key),
		"trailing_garbage":   append(bytes.Clone(b), "garbage\n"...),
		"extra_block":        append(bytes.Clone(b), pem.EncodeToMemory(ca)...),
		"no_pem":             []byte("# ipopd group bundle\nnothing here\n"),
		"empty":              {},
		"missing_end":        bytes.Replace(b, []byte("-----END CERTIFICATE-----\n-----BEGIN EC"), []byte("-----BEGIN EC"), 1),
	}
	if err := os.MkdirAll(seedDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range seeds {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(data)))
		if err := os.WriteFile(filepath.Join(seedDir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// readSeed decodes a corpus file holding one []byte value.
func readSeed(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	header, body, ok := strings.Cut(string(raw), "\n")
	body = strings.TrimSpace(body)
	if !ok || header != "go test fuzz v1" || !strings.HasPrefix(body, "[]byte(") || !strings.HasSuffix(body, ")") {
		t.Fatalf("%s is not a []byte corpus file", path)
	}
	s, err := strconv.Unquote(body[len("[]byte(") : len(body)-1])
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return []byte(s)
}
