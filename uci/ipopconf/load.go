package ipopconf

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/ipopd/ipopd/uci"
)

// Load reads and checks the configuration file at path. A file without a
// config ipopd 'main' section gives Default().
func Load(path string) (Config, error) {
	f, err := uci.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("ipop config: %w", err)
	}
	return FromFile(f)
}

// FromFile reads the configuration from a parsed file and checks it. Every
// problem is reported, as one *Error each, joined, in line order.
func FromFile(f *uci.File) (Config, error) {
	c := Default()
	var errs []*Error
	fail := func(line int, opt string, err error) {
		errs = append(errs, &Error{File: f.Name(), Line: line, Option: opt, Err: err})
	}
	for _, s := range f.Sections() {
		if s.Type() == SectionType && s.Name() != SectionName {
			fail(s.HeaderLine(), "", &causeError{
				msg:  fmt.Sprintf("a config %s section must be named '%s'", SectionType, SectionName),
				kind: ErrSection,
			})
		}
	}
	s := f.Section(SectionName)
	switch {
	case s == nil:
		return result(c, errs)
	case s.Type() != SectionType:
		fail(s.HeaderLine(), "", &causeError{
			msg:  fmt.Sprintf("section '%s' has type %q; it must be config %s '%s'", SectionName, s.Type(), SectionType, SectionName),
			kind: ErrSection,
		})
		return result(c, errs)
	}

	for _, name := range s.Options() {
		sp := lookupSpec(name)
		if sp == nil {
			fail(s.Line(name), name, unknownOption(name))
			continue
		}
		if s.IsList(name) && !sp.list {
			fail(s.Line(name), name, invalid("takes one value: write it as option, not list"))
			continue
		}
		lines := s.Lines(name)
		for i, v := range s.List(name) {
			if err := sp.parse(&c, v); err != nil {
				fail(lines[i], name, err)
			}
		}
	}
	for _, e := range c.crossErrors() {
		e.File, e.Line = f.Name(), s.Line(e.Option)
		if e.Line == 0 && e.Option == "flood_burst" {
			e.Line = s.Line("flood_limit")
		}
		errs = append(errs, e)
	}
	return result(c, errs)
}

// result returns c, or the errors in line order.
func result(c Config, errs []*Error) (Config, error) {
	if len(errs) == 0 {
		return c, nil
	}
	slices.SortStableFunc(errs, func(a, b *Error) int { return cmp.Compare(a.Line, b.Line) })
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e
	}
	return Config{}, errors.Join(all...)
}

// unknownOption says which options exist, and which one was probably meant.
func unknownOption(name string) error {
	known := make([]string, len(specs))
	best, bestDist := "", 3 // suggest only close matches
	for i, sp := range specs {
		known[i] = sp.name
		if d := distance(name, sp.name); d < bestDist {
			best, bestDist = sp.name, d
		}
	}
	msg := "unknown option"
	if best != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", best)
	}
	msg += "; known options: " + strings.Join(known, ", ")
	return &causeError{msg: msg, kind: ErrUnknownOption}
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Save writes c to the file at path, creating it (mode 0600) if needed. An
// existing file keeps its comments, layout and mode: only options whose
// value changes are rewritten, and options at their default that the file
// does not mention are not added. The file is replaced atomically, and
// only if the result loads without error.
func Save(path string, c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	f, err := uci.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		f, err = uci.Parse(path, nil)
	}
	if err != nil {
		return fmt.Errorf("ipop config: %w", err)
	}
	if err := update(f, c); err != nil {
		return err
	}
	if _, err := FromFile(f); err != nil {
		// Something else in the file is wrong (an unknown option, say);
		// writing would leave a file the daemon refuses.
		return err
	}
	if err := uci.WriteFile(path, f, 0o600); err != nil {
		return fmt.Errorf("ipop config: %w", err)
	}
	return nil
}

// update edits f so that it holds c.
func update(f *uci.File, c Config) error {
	s := f.Section(SectionName)
	if s != nil && s.Type() != SectionType {
		return &Error{File: f.Name(), Line: s.HeaderLine(), Err: &causeError{
			msg:  fmt.Sprintf("section '%s' has type %q; it must be config %s '%s'", SectionName, s.Type(), SectionType, SectionName),
			kind: ErrSection,
		}}
	}
	if s == nil {
		var err error
		if s, err = f.AddSection(SectionType, SectionName); err != nil {
			return fmt.Errorf("ipop config: %w", err)
		}
	}
	def := Default()
	for i := range specs {
		sp := &specs[i]
		want := sp.format(&c)
		have := s.List(sp.name)
		var err error
		switch {
		case sp.list:
			if slices.Equal(have, want) {
				continue
			}
			err = s.SetList(sp.name, want)
		case have == nil && slices.Equal(want, sp.format(&def)):
			// Not in the file and at its default: leave it out.
			continue
		case sameValue(s, sp, c, want):
			continue
		case len(want) == 0:
			s.Delete(sp.name)
		default:
			err = s.Set(sp.name, want[0])
		}
		if err != nil {
			return fmt.Errorf("ipop config: option %s: %w", sp.name, err)
		}
	}
	return nil
}

// sameValue reports whether the option as written in s already means want,
// so that a file saying 'yes' is not rewritten to '1'.
func sameValue(s *uci.Section, sp *spec, c Config, want []string) bool {
	raw, ok := s.Get(sp.name)
	if !ok || len(want) == 0 {
		return false
	}
	if sp.parse(&c, raw) != nil {
		return false
	}
	return slices.Equal(sp.format(&c), want)
}
