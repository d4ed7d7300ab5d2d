package pack

import (
	"strings"
	"testing"
)

// The readers face files from anywhere (a user's feed directory): they must
// return errors, never panic or allocate without bound. Seeds in
// testdata/fuzz/ are small real packages and indexes from the writers.

func FuzzReadIPK(f *testing.F) {
	fuzzLimits(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ReadIPK(b)
		if err != nil {
			return
		}
		if p.Control.Get("Package") == "" || p.Control.Get("Version") == "" || p.Control.Get("Architecture") == "" {
			t.Fatalf("accepted without required fields: %+v", p.Control)
		}
	})
}

func FuzzReadAPK(f *testing.F) {
	fuzzLimits(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ReadAPK(b)
		if err != nil {
			return
		}
		var sum uint64
		for _, fl := range p.Files {
			if uint64(len(fl.Data)) != fl.Size {
				t.Fatalf("%s: %d bytes of data, size %d", fl.Path, len(fl.Data), fl.Size)
			}
			sum += fl.Size
		}
		if sum > p.Info.InstalledSize {
			t.Fatalf("files %d > installed-size %d", sum, p.Info.InstalledSize)
		}
	})
}

func FuzzReadAPKIndex(f *testing.F) {
	fuzzLimits(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		idx, err := ReadAPKIndex(b)
		if err != nil {
			return
		}
		for _, p := range idx.Packages {
			if len(p.Hashes) != 32 || p.Name == "" {
				t.Fatalf("accepted entry %+v", p)
			}
		}
	})
}

// FuzzParseParagraphs checks the round trip: rendering what was parsed and
// parsing it again gives the same fields.
func FuzzParseParagraphs(f *testing.F) {
	fuzzLimits(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := ParseParagraphs(b)
		if err != nil {
			return
		}
		var out strings.Builder
		for i, p := range ps {
			if i > 0 {
				out.WriteString("\n")
			}
			for _, fl := range p.Fields {
				out.WriteString(fl.Key + ": " + fl.Value + "\n")
			}
		}
		again, err := ParseParagraphs([]byte(out.String()))
		if err != nil {
			t.Fatalf("rendered text does not parse: %v\n%s", err, out.String())
		}
		if len(again) != len(ps) {
			t.Fatalf("%d paragraphs became %d", len(ps), len(again))
		}
		for i := range ps {
			if len(again[i].Fields) != len(ps[i].Fields) {
				t.Fatalf("paragraph %d: %v became %v", i, ps[i].Fields, again[i].Fields)
			}
			for j := range ps[i].Fields {
				if again[i].Fields[j] != ps[i].Fields[j] {
					t.Fatalf("field %v became %v", ps[i].Fields[j], again[i].Fields[j])
				}
			}
		}
	})
}

// fuzzLimits lowers the unpack limit to 1 MiB for the fuzz run (seeds are a
// few KiB), so bomb-like inputs cost milliseconds, not seconds.
func fuzzLimits(f *testing.F) {
	old := maxUnpacked
	maxUnpacked = 1 << 20
	f.Cleanup(func() { maxUnpacked = old })
}

// FuzzReadDeb seeds with a small real .deb from BuildDeb.
func FuzzReadDeb(f *testing.F) {
	fuzzLimits(f)
	d := testDeb(f)
	d.Files[0].Data = []byte("\x7fELF small")
	if b, err := BuildDeb(d); err == nil {
		f.Add(b.Data)
	}
	f.Add([]byte(arMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ReadDeb(b)
		if err != nil {
			return
		}
		if d.Control.Get("Package") == "" || d.Control.Get("Version") == "" || d.Control.Get("Architecture") == "" {
			t.Fatalf("accepted without required fields: %+v", d.Control)
		}
		files := map[string]bool{}
		for _, f := range d.Files {
			files[strings.TrimPrefix(f.Name, "./")] = !f.Dir
		}
		for p := range d.MD5Sums {
			if !files[p] {
				t.Fatalf("md5sums names %s, not a file of the package", p)
			}
		}
	})
}
