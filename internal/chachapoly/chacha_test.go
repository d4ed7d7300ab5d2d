package chachapoly

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"golang.org/x/crypto/chacha20"
)

// TestChaCha20AgainstXCrypto compares the keystream with x/crypto's for
// random keys, nonces, counters and lengths, in place and not.
func TestChaCha20AgainstXCrypto(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 300; i++ {
		var key [32]byte
		var nonce [12]byte
		for j := range key {
			key[j] = byte(r.Uint32())
		}
		for j := range nonce {
			nonce[j] = byte(r.Uint32())
		}
		ctr := r.Uint32N(1000)
		n := r.IntN(1500)
		src := make([]byte, n)
		for j := range src {
			src[j] = byte(r.Uint32())
		}
		c, err := chacha20.NewUnauthenticatedCipher(key[:], nonce[:])
		if err != nil {
			t.Fatal(err)
		}
		c.SetCounter(ctr)
		want := make([]byte, n)
		c.XORKeyStream(want, src)

		var k [8]uint32
		var nn [3]uint32
		for j := range k {
			k[j] = binary.LittleEndian.Uint32(key[4*j:])
		}
		for j := range nn {
			nn[j] = binary.LittleEndian.Uint32(nonce[4*j:])
		}
		got := make([]byte, n)
		xorKeyStream(got, src, &k, &nn, ctr)
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d (len %d, counter %d): keystream differs", i, n, ctr)
		}
		xorKeyStream(src, src, &k, &nn, ctr)
		if !bytes.Equal(src, want) {
			t.Fatalf("case %d: in place differs", i)
		}
	}
}
