package chachapoly

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"testing"

	"golang.org/x/crypto/chacha20"
)

// chachaImpls are the keystreams under test: the one this architecture uses and
// the portable one, which runs everywhere.
var chachaImpls = []struct {
	name string
	fn   func(dst, src []byte, key *[8]uint32, nonce *[3]uint32, counter uint32)
}{
	{"arch", xorKeyStream},
	{"generic", xorKeyStreamGeneric},
}

// keyWords turns a 32-byte key and 12-byte nonce into the keystream's words.
func keyWords(key, nonce []byte) (*[8]uint32, *[3]uint32) {
	var k [8]uint32
	var n [3]uint32
	for i := range k {
		k[i] = binary.LittleEndian.Uint32(key[4*i:])
	}
	for i := range n {
		n[i] = binary.LittleEndian.Uint32(nonce[4*i:])
	}
	return &k, &n
}

// refChaCha20 is the reference: x/crypto's ChaCha20 from counter on.
func refChaCha20(t testing.TB, dst, src, key, nonce []byte, counter uint32) {
	t.Helper()
	c, err := chacha20.NewUnauthenticatedCipher(key, nonce)
	if err != nil {
		t.Fatal(err)
	}
	c.SetCounter(counter)
	c.XORKeyStream(dst, src)
}

// TestChaCha20RFC8439 is the encryption example of RFC 8439 section 2.4.2.
func TestChaCha20RFC8439(t *testing.T) {
	key, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	nonce, _ := hex.DecodeString("000000000000004a00000000")
	plain := []byte("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.")
	want, _ := hex.DecodeString("6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b" +
		"f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8" +
		"07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736" +
		"5af90bbf74a35be6b40b8eedf2785e42874d")
	k, n := keyWords(key, nonce)
	for _, im := range chachaImpls {
		got := make([]byte, len(plain))
		im.fn(got, plain, k, n, 1)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: got %x, want %x", im.name, got, want)
		}
	}
}

// TestChaCha20AgainstXCrypto compares the keystream with x/crypto's for
// random keys, nonces, counters and lengths, in place and not.
func TestChaCha20AgainstXCrypto(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 300; i++ {
		key := chachaRandBytes(r, 32)
		nonce := chachaRandBytes(r, 12)
		ctr := r.Uint32N(1000)
		src := chachaRandBytes(r, r.IntN(1500))
		want := make([]byte, len(src))
		refChaCha20(t, want, src, key, nonce, ctr)
		k, n := keyWords(key, nonce)
		for _, im := range chachaImpls {
			got := make([]byte, len(src))
			im.fn(got, src, k, n, ctr)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s case %d (len %d, counter %d): keystream differs", im.name, i, len(src), ctr)
			}
			inPlace := bytes.Clone(src)
			im.fn(inPlace, inPlace, k, n, ctr)
			if !bytes.Equal(inPlace, want) {
				t.Fatalf("%s case %d: in place differs", im.name, i)
			}
		}
	}
}

// TestChaCha20Offsets covers every length 0-300 (around the block
// boundaries, where the assembly hands over to the buffered tail) at every
// alignment of src and dst, apart and in place: records reach the cipher
// at any offset in their buffer. It also checks that no byte around dst is
// touched.
func TestChaCha20Offsets(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	key := chachaRandBytes(r, 32)
	nonce := chachaRandBytes(r, 12)
	k, n := keyWords(key, nonce)
	const guard = 8
	for length := 0; length <= 300; length++ {
		plain := chachaRandBytes(r, length)
		want := make([]byte, length)
		refChaCha20(t, want, plain, key, nonce, 7)
		for so := 0; so < 4; so++ {
			for do := 0; do < 4; do++ {
				for _, im := range chachaImpls {
					srcBuf := make([]byte, so+length)
					src := srcBuf[so:]
					copy(src, plain)
					dstBuf := bytes.Repeat([]byte{0xa5}, guard+do+length+guard)
					dst := dstBuf[guard+do : guard+do+length]
					im.fn(dst, src, k, n, 7)
					if !bytes.Equal(dst, want) {
						t.Fatalf("%s len %d src offset %d dst offset %d: keystream differs", im.name, length, so, do)
					}
					if !bytes.Equal(src, plain) {
						t.Fatalf("%s len %d: src modified", im.name, length)
					}
					for i, b := range dstBuf {
						if (i < guard+do || i >= guard+do+length) && b != 0xa5 {
							t.Fatalf("%s len %d dst offset %d: byte %d outside dst written", im.name, length, do, i-guard-do)
						}
					}
				}
			}
			for _, im := range chachaImpls {
				buf := make([]byte, so+length)
				copy(buf[so:], plain)
				im.fn(buf[so:], buf[so:], k, n, 7)
				if !bytes.Equal(buf[so:], want) {
					t.Fatalf("%s len %d offset %d: in place differs", im.name, length, so)
				}
			}
		}
	}
}

// TestChaCha20CounterWraps checks that the assembly and the portable code
// agree when the 32-bit block counter wraps (x/crypto refuses to), both
// within the assembly's whole blocks and into the buffered tail.
func TestChaCha20CounterWraps(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	k, n := keyWords(chachaRandBytes(r, 32), chachaRandBytes(r, 12))
	for _, length := range []int{64, 128, 130, 200, 1400} {
		src := chachaRandBytes(r, length)
		want := make([]byte, length)
		got := make([]byte, length)
		xorKeyStreamGeneric(want, src, k, n, 0xffffffff)
		xorKeyStream(got, src, k, n, 0xffffffff)
		if !bytes.Equal(got, want) {
			t.Errorf("len %d: keystream across the counter wrap differs", length)
		}
	}
}

// FuzzChaCha20 compares both keystreams with x/crypto's for any key,
// nonce, counter, data and offsets into src and dst.
func FuzzChaCha20(f *testing.F) {
	f.Add(make([]byte, 32), make([]byte, 12), uint32(0), []byte{}, uint8(0), uint8(0))
	f.Add(bytes.Repeat([]byte{0xff}, 32), bytes.Repeat([]byte{0xee}, 12), uint32(1), bytes.Repeat([]byte("data channel "), 110), uint8(1), uint8(2))
	f.Add([]byte("ipopd fuzz ChaCha20 32-byte key!"), []byte("twelve bytes"), uint32(1<<31), make([]byte, 64), uint8(3), uint8(0))
	f.Add([]byte("ipopd fuzz ChaCha20 32-byte key!"), []byte("twelve bytes"), uint32(12345), make([]byte, 129), uint8(0), uint8(3))
	f.Fuzz(func(t *testing.T, key, nonce []byte, counter uint32, data []byte, srcOff, dstOff uint8) {
		if len(key) != 32 || len(nonce) != 12 || len(data) > 9000 {
			return
		}
		// x/crypto panics rather than let the counter wrap.
		if uint64(counter)+uint64(len(data)+63)/64 > 1<<32 {
			counter = 0
		}
		want := make([]byte, len(data))
		refChaCha20(t, want, data, key, nonce, counter)
		k, n := keyWords(key, nonce)
		so, do := int(srcOff%8), int(dstOff%8)
		for _, im := range chachaImpls {
			src := make([]byte, so+len(data))[so:]
			copy(src, data)
			dst := make([]byte, do+len(data))[do:]
			im.fn(dst, src, k, n, counter)
			if !bytes.Equal(dst, want) {
				t.Fatalf("%s: keystream differs (len %d, counter %d, offsets %d %d)", im.name, len(data), counter, so, do)
			}
			im.fn(src, src, k, n, counter)
			if !bytes.Equal(src, want) {
				t.Fatalf("%s: in place differs", im.name)
			}
		}
	})
}

func chachaRandBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
