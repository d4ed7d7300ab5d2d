// Command chachabench runs one ChaCha20 keystream implementation over
// records of a given size, so that arm-build/chachacount.sh can count its
// guest instructions under qemu-user (mipsle, mips, arm), apart from
// Poly1305 and the AEAD around it:
//
//	chachabench [-impl ipopd|xcrypto] [-n records] [-size bytes] [-offset bytes]
//
// Each record is XORed in place with the keystream of a fixed key, a
// nonce made of the record number and block counter 1, as a ChaCha20-
// Poly1305 seal would: x/crypto's cipher is made anew for every record, as
// its AEAD does, and ours gets the nonce as words, while the key's words
// are made once, as an AEAD instance keeps them. -offset places the record
// that many bytes into its buffer (records arrive at any offset). The
// counted function is main.keystream.
package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/ipopd/ipopd/internal/chachapoly"
	"golang.org/x/crypto/chacha20"
)

// benchKey is fixed so that every run executes the same instructions.
var benchKey = [32]byte([]byte("ipopd chachabench fixed 32-byte!"))

// benchKeyWords is benchKey as little-endian words.
var benchKeyWords = func() (w [8]uint32) {
	for i := range w {
		w[i] = binary.LittleEndian.Uint32(benchKey[4*i:])
	}
	return w
}()

var (
	errUsage = errors.New("bad usage")
	errCheck = errors.New("implementations disagree")
)

func init() {
	// Keep main on the first thread: chachacount.sh counts qemu's CPU 0.
	runtime.LockOSThread()
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "chachabench: %v\n", err)
		os.Exit(2)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chachabench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	impl := fs.String("impl", "ipopd", `keystream to run: "ipopd" (internal/chachapoly) or "xcrypto" (golang.org/x/crypto/chacha20)`)
	n := fs.Int("n", 10, "records")
	size := fs.Int("size", 1400, "bytes per record (0..65536)")
	offset := fs.Int("offset", 0, "bytes before the record in its buffer (0..63)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("%w: extra arguments %q", errUsage, fs.Args())
	case *impl != "ipopd" && *impl != "xcrypto":
		return fmt.Errorf("%w: -impl %q (want ipopd or xcrypto)", errUsage, *impl)
	case *n < 0:
		return fmt.Errorf("%w: -n %d is negative", errUsage, *n)
	case *size < 0 || *size > 65536:
		return fmt.Errorf("%w: -size %d (want 0..65536)", errUsage, *size)
	case *offset < 0 || *offset > 63:
		return fmt.Errorf("%w: -offset %d (want 0..63)", errUsage, *offset)
	}
	buf := make([]byte, *offset+*size)[*offset:]
	keystream(*impl == "xcrypto", buf, *n)
	// Both implementations must give the same bytes: the run is only
	// worth counting if it computed the real keystream.
	want := make([]byte, *size)
	if err := xcrypto(want, *n); err != nil {
		return err
	}
	for i := range buf {
		if buf[i] != want[i] {
			return fmt.Errorf("%w at byte %d", errCheck, i)
		}
	}
	fmt.Fprintf(stdout, "chachabench: %s, %d records of %d bytes (%s/%s)\n", *impl, *n, *size, runtime.GOOS, runtime.GOARCH)
	return nil
}

// keystream is the counted function: n records XORed in place.
//
//go:noinline
func keystream(useXCrypto bool, buf []byte, n int) {
	var nonce [12]byte
	var nw [3]uint32
	for i := 0; i < n; i++ {
		binary.BigEndian.PutUint64(nonce[4:], uint64(i))
		if useXCrypto {
			c, err := chacha20.NewUnauthenticatedCipher(benchKey[:], nonce[:])
			if err != nil {
				panic(err) // the key and nonce sizes are constants
			}
			c.SetCounter(1)
			c.XORKeyStream(buf, buf)
			continue
		}
		nw[0] = binary.LittleEndian.Uint32(nonce[0:])
		nw[1] = binary.LittleEndian.Uint32(nonce[4:])
		nw[2] = binary.LittleEndian.Uint32(nonce[8:])
		chachapoly.XORKeyStream(buf, buf, &benchKeyWords, &nw, 1)
	}
}

// xcrypto is keystream's x/crypto path, outside the counted window.
func xcrypto(buf []byte, n int) error {
	var nonce [12]byte
	for i := 0; i < n; i++ {
		binary.BigEndian.PutUint64(nonce[4:], uint64(i))
		c, err := chacha20.NewUnauthenticatedCipher(benchKey[:], nonce[:])
		if err != nil {
			return err
		}
		c.SetCounter(1)
		c.XORKeyStream(buf, buf)
	}
	return nil
}
