package overlay

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fuzzSeeds are one or more frames of every kind, plus the tricky shapes
// (tags, options, extension headers, fragments) for the fuzzer to mutate.
func fuzzSeeds() map[string][]byte {
	seeds := map[string][]byte{}
	for _, tc := range inspectCases() {
		name := strings.NewReplacer(" ", "-", ".", "", "/", "-").Replace(tc.name)
		seeds[name] = tc.frame
	}
	return seeds
}

// FuzzInspect checks that Inspect never panics, gives the same answer for
// the same bytes, agrees with Guards.Drop, and only ever decides on bytes it
// has: a kind found in a prefix of a frame is the kind of the whole frame.
func FuzzInspect(f *testing.F) {
	for _, frame := range fuzzSeeds() {
		f.Add(frame)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		k := Inspect(frame)
		if k > KindRouterAdvert {
			t.Fatalf("Inspect returned invalid kind %d", k)
		}
		if again := Inspect(frame); again != k {
			t.Fatalf("Inspect not deterministic: %v then %v", k, again)
		}
		if c := Inspect(bytes.Clone(frame)); c != k {
			t.Fatalf("Inspect of a copy = %v, want %v", c, k)
		}
		g := NewGuards(GuardConfig{DHCP: true, RA: true})
		if drop := g.Drop(frame); drop != (k != KindOther) {
			t.Fatalf("Drop = %v for kind %v", drop, k)
		}
		for n := range len(frame) {
			if pk := Inspect(frame[:n:n]); pk != KindOther && pk != k {
				t.Fatalf("Inspect(frame[:%d]) = %v but whole frame is %v", n, pk, k)
			}
		}
	})
}

// TestFuzzCorpusCommitted checks the committed seed corpus parses and covers
// every kind. Regenerate it with OVERLAY_WRITE_CORPUS=1 go test -run
// TestFuzzCorpusCommitted ./internal/overlay.
func TestFuzzCorpusCommitted(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzInspect")
	if os.Getenv("OVERLAY_WRITE_CORPUS") == "1" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, frame := range fuzzSeeds() {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(frame)))
			if err := os.WriteFile(filepath.Join(dir, "seed-"+name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("reading seed corpus: %v", err)
	}
	seen := map[Kind]int{}
	for _, fe := range files {
		raw, err := os.ReadFile(filepath.Join(dir, fe.Name()))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		if len(lines) != 2 || lines[0] != "go test fuzz v1" ||
			!strings.HasPrefix(lines[1], "[]byte(") || !strings.HasSuffix(lines[1], ")") {
			t.Fatalf("%s: not a one-value go fuzz corpus file", fe.Name())
		}
		frame, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", fe.Name(), err)
		}
		seen[Inspect([]byte(frame))]++
	}
	for _, k := range []Kind{KindOther, KindDHCPv4Server, KindDHCPv6Server, KindRouterAdvert} {
		if seen[k] == 0 {
			t.Errorf("seed corpus has no %v frame", k)
		}
	}
}
