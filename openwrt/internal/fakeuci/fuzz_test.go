package fakeuci

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseRef checks that ParseRef never panics, fails only with
// ErrInvalidRef, and that an accepted reference prints back to its input.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"network.lan.proto", "firewall.@zone[-1].name=lan", "a.b=c=d", "x.@[0]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidRef) {
				t.Fatalf("ParseRef(%q): error %v does not wrap ErrInvalidRef", s, err)
			}
			return
		}
		parts := []string{r.Config}
		if r.Section != "" {
			parts = append(parts, r.Section)
		}
		if r.Option != "" {
			parts = append(parts, r.Option)
		}
		back := strings.Join(parts, ".")
		if r.HasValue {
			back += "=" + r.Value
		}
		if back != s {
			t.Fatalf("ParseRef(%q) = %+v, prints back as %q", s, r, back)
		}
	})
}
