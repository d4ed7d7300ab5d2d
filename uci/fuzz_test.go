package uci

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics, that Bytes reproduces any
// input it accepts, that the model survives being written out fresh, and
// that edits keep text and model in step. The committed corpus in
// testdata/fuzz/FuzzParse holds the real files and tricky cases.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz", data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			if pe.Line < 1 || pe.Line > bytes.Count(data, []byte{'\n'})+1 {
				t.Fatalf("error line %d out of range: %v", pe.Line, err)
			}
			return
		}
		if got := file.Bytes(); !bytes.Equal(got, data) {
			t.Fatalf("round trip differs:\n%q\nwant\n%q", got, data)
		}

		// The model written fresh, section by section, parses back to the
		// same model.
		canon := canonical(t, file)
		g, err := Parse("canonical", canon)
		if err != nil {
			t.Fatalf("canonical form does not parse: %v\n%s", err, canon)
		}
		if a, b := dump(file), dump(g); a != b {
			t.Fatalf("canonical form parses to\n%s\nwant\n%s\ntext:\n%s", b, a, canon)
		}

		// Edits keep the text and the model in step.
		edit(t, file)
		text(t, file)
	})
}

// canonical writes every section and option of f into a new File.
func canonical(t *testing.T, f *File) []byte {
	t.Helper()
	g, err := Parse("", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range f.Sections() {
		ns, err := g.AddSection(s.Type(), s.Name())
		if err != nil {
			t.Fatalf("AddSection(%q, %q): %v", s.Type(), s.Name(), err)
		}
		for _, o := range s.Options() {
			if s.IsList(o) {
				err = ns.SetList(o, s.List(o))
			} else {
				v, _ := s.Get(o)
				err = ns.Set(o, v)
			}
			if err != nil {
				t.Fatalf("copy %s: %v", o, err)
			}
		}
	}
	return g.Bytes()
}

// edit applies a fixed mix of edits to f and checks the model follows.
func edit(t *testing.T, f *File) {
	t.Helper()
	for i, s := range f.Sections() {
		opts := s.Options()
		var err error
		switch i % 4 {
		case 0:
			if len(opts) > 0 {
				err = s.Set(opts[0], "it's\nnew")
				if v, _ := s.Get(opts[0]); err == nil && v != "it's\nnew" {
					t.Fatalf("Set: Get = %q", v)
				}
			}
		case 1:
			err = s.AddList("fz", "")
			if err == nil {
				err = s.AddList(opts0(opts, "fz"), "x")
			}
		case 2:
			if len(opts) > 0 {
				if !s.Delete(opts[len(opts)-1]) {
					t.Fatalf("Delete(%q) = false", opts[len(opts)-1])
				}
				err = s.SetList(opts0(opts, "l"), []string{"a", ""})
			}
		case 3:
			err = s.Set("new_opt", "v")
		}
		if err != nil {
			t.Fatalf("edit section %d: %v", i, err)
		}
	}
	if _, err := f.AddSection("fz-t", ""); err != nil {
		t.Fatal(err)
	}
	if len(f.Sections()) > 2 && !f.DeleteSection("@[1]") {
		t.Fatal("DeleteSection(@[1]) = false")
	}
}

func opts0(opts []string, def string) string {
	if len(opts) > 0 {
		return opts[0]
	}
	return def
}
