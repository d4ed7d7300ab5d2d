package chachapoly

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"

	//lint:ignore SA1019 x/crypto's Poly1305 is the reference these tests compare with, not used to authenticate anything
	"golang.org/x/crypto/poly1305"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// TestPoly1305Vectors: RFC 8439 section 2.5.2 and appendix A.3, and edge
// cases of the reduction (limb carries, values at and near 2^130-5).
func TestPoly1305Vectors(t *testing.T) {
	ietf := "Any submission to the IETF intended by the Contributor for publication as all or part of an IETF Internet-Draft or RFC and any statement made within the context of an IETF activity is considered an \"IETF Contribution\". Such statements include oral statements in IETF sessions, as well as written and electronic communications made at any time or place, which are addressed to"
	jabber := "'Twas brillig, and the slithy toves\nDid gyre and gimble in the wabe:\nAll mimsy were the borogoves,\nAnd the mome raths outgrabe."
	r1 := "01000000000000000000000000000000"
	r2 := "02000000000000000000000000000000"
	zero16 := "00000000000000000000000000000000"
	ff16 := "ffffffffffffffffffffffffffffffff"
	tests := []struct {
		name, key, msg, tag string
	}{
		{"2.5.2", "85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b",
			hex.EncodeToString([]byte("Cryptographic Forum Research Group")), "a8061dc1305136c6c22b8baf0c0127a9"},
		{"A.3 #1", strings.Repeat("00", 32), strings.Repeat("00", 64), zero16},
		{"A.3 #2", zero16 + "36e5f6b5c5e06070f0efca96227a863e", hex.EncodeToString([]byte(ietf)), "36e5f6b5c5e06070f0efca96227a863e"},
		{"A.3 #3", "36e5f6b5c5e06070f0efca96227a863e" + zero16, hex.EncodeToString([]byte(ietf)), "f3477e7cd95417af89a6b8794c310cf0"},
		{"A.3 #4", "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0", hex.EncodeToString([]byte(jabber)), "4541669a7eaaee61e708dc7cbcc5eb62"},
		{"A.3 #5 h reaches p", r2 + zero16, ff16, "03000000000000000000000000000000"},
		{"A.3 #6 s carries", r2 + ff16, "02000000000000000000000000000000", "03000000000000000000000000000000"},
		{"A.3 #7 h = 2^130 - 5 + 5 mod", r1 + zero16, ff16 + "f0ffffffffffffffffffffffffffffff" + "11000000000000000000000000000000", "05000000000000000000000000000000"},
		{"A.3 #8 h = p", r1 + zero16, ff16 + "fbfefefefefefefefefefefefefefefe" + "01010101010101010101010101010101", zero16},
		{"A.3 #9 h = p - 1 after reduction", r2 + zero16, "fdffffffffffffffffffffffffffffff", "faffffffffffffffffffffffffffffff"},
		{"A.3 #10", "01000000000000000400000000000000" + zero16,
			"e33594d7505e43b900000000000000003394d7505e4379cd01000000000000000000000000000000000000000000000001000000000000000000000000000000",
			"14000000000000005500000000000000"},
		{"A.3 #11", "01000000000000000400000000000000" + zero16,
			"e33594d7505e43b900000000000000003394d7505e4379cd010000000000000000000000000000000000000000000000",
			"13000000000000000000000000000000"},
		{"2^130-1 mod p", r1 + zero16, ff16 + zero16 + zero16, "04000000000000000000000000000000"},
		{"2^130-6 mod p", r1 + zero16, "faffffffffffffffffffffffffffffff" + zero16 + zero16, "faffffffffffffffffffffffffffffff"},
		{"2^130-5 mod p", r1 + zero16, "fbffffffffffffffffffffffffffffff" + zero16 + zero16, zero16},
		{"all 0xff key and blocks", strings.Repeat("ff", 32), strings.Repeat(ff16, 8), ""},
		{"all 0xff key, partial block", strings.Repeat("ff", 32), strings.Repeat("ff", 31), ""},
		{"empty message", strings.Repeat("ab", 32), "", ""},
		{"one byte", strings.Repeat("ab", 32), "ff", ""},
		{"15 bytes", strings.Repeat("cd", 32), strings.Repeat("ff", 15), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var key [32]byte
			copy(key[:], unhex(t, tt.key))
			msg := unhex(t, tt.msg)
			var ref [16]byte
			poly1305.Sum(&ref, msg, &key)
			if tt.tag != "" && !bytes.Equal(ref[:], unhex(t, tt.tag)) {
				t.Fatalf("x/crypto gives %x, the vector says %s: the vector is miscopied", ref, tt.tag)
			}
			var got [16]byte
			poly1305Sum(&got, msg, &key)
			if got != ref {
				t.Fatalf("tag %x, want %x", got, ref)
			}
		})
	}
}

// TestPoly1305AgainstXCrypto: random keys and lengths, and the inputs that
// stress the limb carries (all-0xff blocks and keys, r at its clamped
// maximum).
func TestPoly1305AgainstXCrypto(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 2000; i++ {
		var key [32]byte
		msg := make([]byte, r.IntN(300))
		switch i % 4 {
		case 0: // random
			fill(r, key[:])
			fill(r, msg)
		case 1: // all ones
			for j := range key {
				key[j] = 0xff
			}
			for j := range msg {
				msg[j] = 0xff
			}
		case 2: // maximal r, random s, 0xff message
			for j := range key[:16] {
				key[j] = 0xff
			}
			fill(r, key[16:])
			for j := range msg {
				msg[j] = 0xff
			}
		case 3: // bytes from a few extreme values
			vals := []byte{0, 0xff, 0xfe, 0xfb, 0x01, 0x80}
			for j := range key {
				key[j] = vals[r.IntN(len(vals))]
			}
			for j := range msg {
				msg[j] = vals[r.IntN(len(vals))]
			}
		}
		var want, got [16]byte
		poly1305.Sum(&want, msg, &key)
		poly1305Sum(&got, msg, &key)
		if got != want {
			t.Fatalf("case %d: key %x msg %x: tag %x, want %x", i, key, msg, got, want)
		}
	}
}

func fill(r *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(r.Uint32())
	}
}

// TestPolyBlocksAgainstGeneric: the architecture's block function (the
// assembly on MIPS) against polyBlocksGeneric from random accumulators,
// including limbs at their largest, so that every carry path runs.
func TestPolyBlocksAgainstGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 3000; i++ {
		var key [32]byte
		fill(r, key[:])
		if i%5 == 0 {
			for j := range key {
				key[j] = 0xff
			}
		}
		var p polyState
		polyInit(&p, &key)
		for j := range p.h {
			switch r.IntN(3) {
			case 0:
				p.h[j] = 0x3ffffff
			case 1:
				p.h[j] = r.Uint32N(1 << 26)
			}
		}
		if i%7 == 0 {
			p.h[1] = 0x3ffffff + 0x3f // h1 may carry past 2^26 between blocks
		}
		m := make([]byte, 16*(1+r.IntN(6)))
		fill(r, m)
		if i%3 == 0 {
			for j := range m {
				m[j] = 0xff
			}
		}
		hibit := uint32(i & 1)
		q := p
		polyBlocks(&p, m, hibit)
		polyBlocksGeneric(&q, m, hibit)
		if p != q {
			t.Fatalf("case %d: state %+v, generic %+v", i, p, q)
		}
	}
}
