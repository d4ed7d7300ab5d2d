package group

import (
	"bytes"
	"encoding/pem"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testBundle issues node from a fresh group and returns the bundle and
// its three PEM blocks.
func testBundle(t *testing.T, owner *State, node string) ([]byte, []*pem.Block) {
	t.Helper()
	b, err := owner.Issue(node, netip.Addr{}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []*pem.Block
	for rest := b; ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		blocks = append(blocks, blk)
	}
	if len(blocks) != 3 {
		t.Fatalf("bundle has %d blocks", len(blocks))
	}
	return b, blocks
}

func assemble(blocks ...*pem.Block) []byte {
	var buf bytes.Buffer
	buf.WriteString("# test bundle\n")
	for _, b := range blocks {
		buf.Write(pem.EncodeToMemory(b))
	}
	return buf.Bytes()
}

func withHeaders(b *pem.Block, h map[string]string) *pem.Block {
	c := *b
	c.Headers = h
	return &c
}

func TestParseBundleValid(t *testing.T) {
	owner := newOwner(t, "home")
	b, blocks := testBundle(t, owner, "bob")
	if !bytes.HasPrefix(b, []byte("# ipopd group bundle: node bob in group home\n")) {
		t.Errorf("bundle starts with %q", b[:60])
	}
	variants := map[string][]byte{
		"as issued":        b,
		"CRLF":             bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")),
		"no comment":       b[bytes.Index(b, []byte("-----BEGIN")):],
		"blank lines":      bytes.ReplaceAll(b, []byte("-----\n-----BEGIN"), []byte("-----\n\n# next\n\n-----BEGIN")),
		"trailing newline": append(bytes.Clone(b), "\n\n"...),
		"reassembled":      assemble(blocks...),
	}
	for name, v := range variants {
		t.Run(name, func(t *testing.T) {
			bd, err := ParseBundle(v)
			if err != nil {
				t.Fatal(err)
			}
			if bd.Group != "home" || bd.NodeName != "bob" || bd.Subnet != DefaultSubnet || bd.Address != netip.MustParseAddr("10.77.0.2") ||
				!bd.CACert.Equal(owner.CACert) || len(bd.NodeID) != NodeIDLen {
				t.Errorf("parsed %v", bd)
			}
			again, err := bd.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, b) {
				t.Errorf("Encode(ParseBundle(b)) differs from b")
			}
		})
	}
}

func TestParseBundleErrors(t *testing.T) {
	owner := newOwner(t, "home")
	other := newOwner(t, "other")
	b, blocks := testBundle(t, owner, "bob")
	_, carol := testBundle(t, owner, "carol")
	_, eve := testBundle(t, other, "eve")
	ca, node, key := blocks[0], blocks[1], blocks[2]
	caNoHeaders := withHeaders(ca, nil)
	caPEM := certPEM(owner.CACert)

	tests := []struct {
		name  string
		input []byte
		frag  string
	}{
		{"empty", nil, "bundle is empty"},
		{"blank", []byte("  \n\n"), "bundle is empty"},
		{"comments only", []byte("# hello\n# world\n"), "no PEM data"},
		{"plain text", []byte("hello world"), "line 1: unexpected text outside a PEM block"},
		{"too large", bytes.Repeat([]byte("#"), maxBundleSize+1), "the limit is 65536"},
		{"text before", append([]byte("hello\n"), b...), "line 1: unexpected text"},
		{"text between", bytes.Replace(b, []byte("-----\n-----BEGIN EC"), []byte("-----\nxx\n-----BEGIN EC"), 1), "unexpected text outside a PEM block"},
		{"trailing garbage", append(bytes.Clone(b), "garbage"...), "trailing data after the node key"},
		{"extra block", append(bytes.Clone(b), caPEM...), `unexpected extra PEM block "CERTIFICATE"`},
		{"only CA", assemble(ca), "missing block 2 (node certificate)"},
		{"no key", assemble(ca, node), "missing block 3 (node key)"},
		{"node and CA swapped", assemble(node, ca, key), "block 1 is not a CA certificate"},
		{"cert and key swapped", assemble(ca, key, node), `block 2 is "EC PRIVATE KEY", want "CERTIFICATE"`},
		{"key first", assemble(key, ca, node), `block 1 is "EC PRIVATE KEY", want "CERTIFICATE" (the group CA certificate)`},
		{"CA twice", assemble(ca, ca, key), "block 2 is a CA certificate"},
		{"key of another node", assemble(ca, node, carol[2]), `block 3: the key does not match the node certificate "bob"`},
		{"node of other group", assemble(ca, eve[1], key), `block 2: node certificate "eve" is not signed by the group CA in block 1`},
		{"CA of other group", assemble(withHeaders(eve[0], ca.Headers), node, key), `block 1: Ipop-Group header says "home" but the CA certificate is for group "other"`},
		{"group header missing", assemble(withHeaders(ca, map[string]string{headerSubnet: "10.77.0.0/16"}), node, key), "Ipop-Group header is missing"},
		{"subnet header missing", assemble(withHeaders(ca, map[string]string{headerGroup: "home"}), node, key), "Ipop-Subnet header is missing"},
		{"no headers", assemble(caNoHeaders, node, key), "header is missing"},
		{"subnet header invalid", assemble(withHeaders(ca, map[string]string{headerGroup: "home", headerSubnet: "10.77.0.0"}), node, key), `Ipop-Subnet header: subnet "10.77.0.0" is not a CIDR prefix`},
		{"subnet header unmasked", assemble(withHeaders(ca, map[string]string{headerGroup: "home", headerSubnet: "10.77.0.1/16"}), node, key), "host bits"},
		{"subnet header excludes node", assemble(withHeaders(ca, map[string]string{headerGroup: "home", headerSubnet: "10.78.0.0/16"}), node, key), "outside the group subnet 10.78.0.0/16"},
		{"group header mismatch", assemble(withHeaders(ca, map[string]string{headerGroup: "away", headerSubnet: "10.77.0.0/16"}), node, key), `Ipop-Group header says "away" but the CA certificate is for group "home"`},
		{"group header invalid", assemble(withHeaders(ca, map[string]string{headerGroup: "a b", headerSubnet: "10.77.0.0/16"}), node, key), "Ipop-Group header"},
		{"unknown header", assemble(withHeaders(ca, map[string]string{headerGroup: "home", headerSubnet: "10.77.0.0/16", "Ipop-Future": "x"}), node, key), `unknown PEM header "Ipop-Future"`},
		{"node headers", assemble(ca, withHeaders(node, map[string]string{"X": "y"}), key), "block 2 (node certificate): unexpected PEM headers"},
		{"encrypted key", assemble(ca, node, withHeaders(key, map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"})), "encrypted"},
		{"key as PKCS8 type", assemble(ca, node, &pem.Block{Type: "PRIVATE KEY", Bytes: key.Bytes}), `block 3 is "PRIVATE KEY"`},
		{"cert bytes garbage", assemble(ca, &pem.Block{Type: "CERTIFICATE", Bytes: []byte("xx")}, key), "block 2 (node certificate): x509:"},
		{"key bytes garbage", assemble(ca, node, &pem.Block{Type: pemECKey, Bytes: []byte("xx")}), "block 3: private key is not a valid EC key"},
		{"missing END", bytes.Replace(b, []byte("-----END EC PRIVATE KEY-----"), nil, 1), "PEM block is truncated (no END line)"},
		{"missing END mid", bytes.Replace(b, []byte("-----END CERTIFICATE-----\n-----BEGIN EC"), []byte("-----BEGIN EC"), 1), "block 2 (node certificate): line"},
		{"END type mismatch", bytes.Replace(b, []byte("-----END EC PRIVATE KEY-----"), []byte("-----END CERTIFICATE-----"), 1), "malformed PEM block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bd, err := ParseBundle(tt.input)
			wantErr(t, err, ErrBadBundle, tt.frag)
			if bd != nil {
				t.Error("ParseBundle returned a bundle with an error")
			}
		})
	}
}

// keyLines returns the base64 lines of a bundle's key block, which must
// never show up in an error message.
func keyLines(b []byte) []string {
	s := string(b)
	i := strings.Index(s, "-----BEGIN EC PRIVATE KEY-----")
	j := strings.Index(s, "-----END EC PRIVATE KEY-----")
	var out []string
	for _, l := range strings.Split(s[i:j], "\n")[1:] {
		if len(l) >= 16 {
			out = append(out, l)
		}
	}
	return out
}

func TestParseBundleGarbled(t *testing.T) {
	owner := newOwner(t, "home")
	b, _ := testBundle(t, owner, "bob")
	secret := keyLines(b)
	check := func(t *testing.T, input []byte) {
		t.Helper()
		_, err := ParseBundle(input)
		if err == nil {
			t.Fatalf("garbled bundle accepted")
		}
		if !errors.Is(err, ErrBadBundle) {
			t.Errorf("error %v does not match ErrBadBundle", err)
		}
		for _, l := range secret {
			if strings.Contains(err.Error(), l) || strings.Contains(err.Error(), l[:16]) {
				t.Fatalf("error message quotes the private key: %v", err)
			}
		}
	}
	t.Run("truncated", func(t *testing.T) {
		// Every cut that still leaves the key's END line out must fail.
		end := bytes.LastIndex(b, []byte("-----END"))
		for n := 0; n < end+len("-----END EC PRIVATE KEY-----")-1; n++ {
			check(t, b[:n])
		}
	})
	t.Run("one byte flipped", func(t *testing.T) {
		// Flip a byte in the middle of each base64 line of every block,
		// and in each BEGIN/END line.
		lines := bytes.SplitAfter(b, []byte("\n"))
		off := 0
		for _, l := range lines {
			inBlock := len(l) > 8 && l[0] != '#' && !bytes.HasPrefix(l, []byte("Ipop-")) && !bytes.Equal(bytes.TrimSpace(l), nil)
			if inBlock {
				v := bytes.Clone(b)
				v[off+len(l)/2] ^= 0x01
				check(t, v)
			}
			off += len(l)
		}
	})
	t.Run("base64 damaged", func(t *testing.T) {
		i := bytes.Index(b, []byte("-----BEGIN EC PRIVATE KEY-----\n")) + 40
		v := bytes.Clone(b)
		v[i] = '*'
		check(t, v)
	})
}

func TestBundleStringHidesKey(t *testing.T) {
	owner := newOwner(t, "home")
	b, _ := testBundle(t, owner, "bob")
	bd, err := ParseBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{bd.String(), sprintf("%v", bd), sprintf("%+v", *bd), sprintf("%#v", bd)} {
		if strings.Contains(text, keyHex(t, bd.NodeKey)) || !strings.Contains(text, "bob") {
			t.Errorf("formatted bundle: %s", text)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	owner := newOwner(t, "home")
	b, _ := testBundle(t, owner, "bob")
	good, err := ParseBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(b *Bundle)
	}{
		{"no key", func(b *Bundle) { b.NodeKey = nil }},
		{"no CA", func(b *Bundle) { b.CACert = nil }},
		{"bad group", func(b *Bundle) { b.Group = "x\ny" }},
		{"bad subnet", func(b *Bundle) { b.Subnet = netip.Prefix{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bd := *good
			tt.edit(&bd)
			if _, err := bd.Encode(); !errors.Is(err, ErrBadBundle) {
				t.Errorf("Encode: %v", err)
			}
		})
	}
}

func TestWriteBundleFile(t *testing.T) {
	owner := newOwner(t, "home")
	b, _ := testBundle(t, owner, "bob")
	path := filepath.Join(t.TempDir(), "bob.bundle")
	if err := WriteBundleFile(path, b); err != nil {
		t.Fatal(err)
	}
	checkMode(t, path, 0o600)
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("read back: %v", err)
	}
	err = WriteBundleFile(path, []byte("other"))
	wantErr(t, err, ErrExists, "already exists")
	if got, _ := os.ReadFile(path); !bytes.Equal(got, b) {
		t.Error("existing bundle overwritten")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("%d files next to the bundle, want 1", len(entries))
	}
}
