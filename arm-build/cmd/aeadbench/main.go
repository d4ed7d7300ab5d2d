package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/ipopd/ipopd/internal/transport"
)

// Defaults: a full-size frame record (1400 B payload fits a 1500-byte path
// MTU with the record and UDP/IP headers), and few records, since
// aeadcount.sh runs this under a single-stepping emulator.
const (
	defaultSize    = 1400
	defaultRecords = 10
)

// benchKey is a fixed key so that every run executes the same instructions.
var benchKey = []byte("ipopd aeadbench fixed 32-byte k!")

// config is what one run measures.
type config struct {
	aead  string // nameAESGCM, nameChaCha20, nameXCrypto or nameChachapoly
	n     int    // records to seal and open (frames with frame)
	size  int    // payload bytes per record (frame bytes with frame)
	frame bool   // the whole frame path (transport.FramePath), not records
}

func init() {
	// Keep main on the process's first thread: aeadcount.sh counts only
	// qemu's CPU 0 (the first thread), leaving out the runtime's other
	// threads, whose work (sysmon) grows with wall time, not with records.
	runtime.LockOSThread()
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "aeadbench: %v\n", err)
		os.Exit(2)
	}
}

// run parses args, seals and opens the records and reports on stdout.
func run(args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if cfg.frame {
		if err := runFrames(cfg); err != nil {
			return fmt.Errorf("%s frame path: %w", cfg.aead, err)
		}
		printPicks(stdout)
		fmt.Fprintf(stdout, "sent and received: %s, %d frames of %d bytes\n", cfg.aead, cfg.n, cfg.size)
		return nil
	}
	send, err := newAEAD(cfg.aead, benchKey)
	if err != nil {
		return err
	}
	recv, err := newAEAD(cfg.aead, benchKey)
	if err != nil {
		return err
	}
	buf, want := newRecord(cfg.size)
	if err := sealOpen(send, recv, buf, want, cfg.n); err != nil {
		return fmt.Errorf("%s: %w", cfg.aead, err)
	}
	printPicks(stdout)
	fmt.Fprintf(stdout, "sealed and opened: %s, %d records of %d bytes\n", cfg.aead, cfg.n, cfg.size)
	return nil
}

// printPicks says which AEAD the daemon picks on this CPU and which
// ChaCha20-Poly1305 implementation it runs (aeadcount.sh reads both).
func printPicks(stdout io.Writer) {
	fmt.Fprintf(stdout, "daemon picks: %s (%s/%s)\n", transport.PreferredCipher(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(stdout, "daemon's ChaCha20-Poly1305: %s\n", transport.ChaCha20Impl)
}

// parseFlags reads -aead, -n and -size; flag syntax errors are printed to
// stderr with the usage by the flag package and returned.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("aeadbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	aead := fs.String("aead", "auto", `AEAD to measure: "`+nameAESGCM+`", "`+nameChaCha20+`" (the daemon's), "`+nameXCrypto+`", "`+nameChachapoly+`" or "auto" (the daemon's pick on this CPU)`)
	n := fs.Int("n", defaultRecords, "records to seal and open")
	size := fs.Int("size", defaultSize, fmt.Sprintf("payload bytes per record (1..%d; with -frame frame bytes, %d..%d)", maxPayload, minFrame, maxFrame))
	frame := fs.Bool("frame", false, "count the whole frame path (transport.FramePath: send, socket, receive, deliver) instead of records; -aead "+nameAESGCM+" or "+nameChaCha20)
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("%w: %q", errExtraArgs, fs.Args())
	}
	name, err := aeadName(*aead)
	if err != nil {
		return config{}, fmt.Errorf("-aead: %w", err)
	}
	if *n < 0 {
		return config{}, fmt.Errorf("-n %d: %w (want 0 or more)", *n, errBadCount)
	}
	if *size < 1 || *size > maxPayload {
		return config{}, fmt.Errorf("-size %d: %w (want 1..%d, a record must fit one UDP datagram)", *size, errBadSize, maxPayload)
	}
	if *frame && (*size < minFrame || *size > maxFrame) {
		return config{}, fmt.Errorf("-size %d: %w (want %d..%d with -frame: an Ethernet header, at most the largest frame the daemon sends)", *size, errBadSize, minFrame, maxFrame)
	}
	if *frame && name != nameAESGCM && name != nameChaCha20 {
		return config{}, fmt.Errorf("-aead %s: %w (the frame path runs the daemon's AEAD: %q or %q)", name, errUnknownAEAD, nameAESGCM, nameChaCha20)
	}
	return config{aead: name, n: *n, size: *size, frame: *frame}, nil
}

// aeadName turns a -aead value into the AEAD's name; case does not matter.
func aeadName(s string) (string, error) {
	switch {
	case strings.EqualFold(s, "auto"):
		return transport.PreferredCipher(), nil
	case strings.EqualFold(s, nameAESGCM):
		return nameAESGCM, nil
	case strings.EqualFold(s, nameChaCha20):
		return nameChaCha20, nil
	case strings.EqualFold(s, nameXCrypto):
		return nameXCrypto, nil
	case strings.EqualFold(s, nameChachapoly):
		return nameChachapoly, nil
	}
	return "", fmt.Errorf("%w %q (want %q, %q, %q, %q or \"auto\")", errUnknownAEAD, s, nameAESGCM, nameChaCha20, nameXCrypto, nameChachapoly)
}
