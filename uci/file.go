package uci

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// MaxFileSize is the largest file ReadFile accepts. UCI files are a few
// kilobytes; the limit keeps a stray huge file from exhausting a router's
// memory.
const MaxFileSize = 4 << 20

// File is a parsed UCI file: its sections plus everything needed to write
// it back unchanged. A File is not safe for concurrent use.
type File struct {
	name  string
	eol   string // end of line for new lines: the file's own style
	lines []*line
	secs  []*Section          // in order of first appearance
	names map[string]*Section // named sections
	stale bool                // section options must be recomputed from lines
}

// ReadFile reads and parses the UCI file at path.
func ReadFile(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("uci: %w", err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("uci: read %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("uci: %s: %w (limit %d bytes)", path, ErrTooLarge, MaxFileSize)
	}
	return Parse(path, data)
}

// Name returns the name the File was parsed with.
func (f *File) Name() string { return f.name }

// Package returns the name given by the first package statement, or "".
// libuci ignores the statement when it loads a file from /etc/config; it is
// reported here for completeness.
func (f *File) Package() string {
	for _, ln := range f.lines {
		for _, st := range ln.stmts {
			if st.kind == kindPackage {
				return st.name
			}
		}
	}
	return ""
}

// Sections returns all sections in file order.
func (f *File) Sections() []*Section {
	return append([]*Section(nil), f.secs...)
}

// Section finds a section by name, or by position as @TYPE[N], @TYPE[-N]
// (counted from the end) or @[N] (any type). It returns nil if there is no
// such section or ref is malformed.
func (f *File) Section(ref string) *Section {
	if !strings.HasPrefix(ref, "@") {
		if !validName(ref) {
			return nil
		}
		return f.byName(ref)
	}
	typ, idx, ok := strings.Cut(ref[1:], "[")
	if !ok || !strings.HasSuffix(idx, "]") || (typ != "" && !validType(typ)) {
		return nil
	}
	n, err := strconv.Atoi(strings.TrimSuffix(idx, "]"))
	if err != nil {
		return nil
	}
	var match []*Section
	for _, s := range f.secs {
		if typ == "" || s.typ == typ {
			match = append(match, s)
		}
	}
	if n < 0 {
		n += len(match)
	}
	if n < 0 || n >= len(match) {
		return nil
	}
	return match[n]
}

func (f *File) byName(name string) *Section {
	return f.names[name]
}

// addSection registers a new section.
func (f *File) addSection(typ, name string) *Section {
	s := &Section{f: f, typ: typ, name: name}
	f.secs = append(f.secs, s)
	if name != "" {
		if f.names == nil {
			f.names = make(map[string]*Section)
		}
		f.names[name] = s
	}
	return s
}

// AddSection appends a new section at the end of the file. An empty name
// makes an anonymous section.
func (f *File) AddSection(typ, name string) (*Section, error) {
	if !validType(typ) {
		return nil, fmt.Errorf("uci: add section: %w %q", ErrInvalidType, typ)
	}
	if name != "" && !validName(name) {
		return nil, fmt.Errorf("uci: add section: %w %q", ErrInvalidName, name)
	}
	if name != "" && f.byName(name) != nil {
		return nil, fmt.Errorf("uci: add section %q: %w", name, ErrSectionExists)
	}
	s := f.addSection(typ, name)
	if n := len(f.lines); n > 0 && !f.lines[n-1].blank() {
		// uci separates sections by a blank line.
		f.lines = append(f.lines, &line{raw: f.eol, eol: f.eol})
	}
	f.lines = append(f.lines, &line{dirty: true, eol: f.eol, stmts: []*stmt{{kind: kindConfig, sec: s}}})
	f.stale = true
	return s, nil
}

// DeleteSection removes a section with all its options, and the comments
// between its statements, and reports whether it existed. Comments before
// the section's header and after its last option are kept.
func (f *File) DeleteSection(ref string) bool {
	s := f.Section(ref)
	if s == nil {
		return false
	}
	s.deleted = true
	delete(f.names, s.name)
	for i, x := range f.secs {
		if x == s {
			f.secs = append(f.secs[:i], f.secs[i+1:]...)
			break
		}
	}

	var (
		out       []*line
		cur       *Section // section in force at the start of the line
		tentative []int    // comment lines in s, dropped if more of s follows
		removed   bool     // the previous line was dropped
		cut       = -1     // len(out) at the last dropped line
	)
	for _, ln := range f.lines {
		startCur := cur
		ours, others := 0, 0
		for _, st := range ln.stmts {
			if st.sec == s {
				ours++
			} else {
				others++
			}
			if st.kind == kindConfig {
				cur = st.sec
			}
		}
		switch {
		case len(ln.stmts) == 0 && startCur == s:
			if removed && ln.blank() && (len(out) == 0 || out[len(out)-1].blank()) {
				// Do not leave two blank lines where the section was.
				removed = false
				continue
			}
			removed = false
			tentative = append(tentative, len(out))
			out = append(out, ln)
			continue
		case ours > 0 && others == 0:
			// The whole line goes, and so do comments inside the section.
			out = dropIndexes(out, tentative)
			tentative = nil
			removed = true
			cut = len(out)
			continue
		case ours > 0:
			keep := ln.stmts[:0:0]
			for _, st := range ln.stmts {
				if st.sec != s {
					keep = append(keep, st)
				}
			}
			ln.stmts, ln.dirty = keep, true
			out = dropIndexes(out, tentative)
		}
		tentative = nil
		if removed && ln.blank() && (len(out) == 0 || out[len(out)-1].blank()) {
			// Do not leave two blank lines where the section was.
			removed = false
			continue
		}
		removed = false
		out = append(out, ln)
	}
	if cut >= 0 && allBlank(out[cut:]) {
		// The section was the last thing in the file: do not leave the
		// blank lines that separated it from the one before.
		for len(out) > 0 && out[len(out)-1].blank() {
			out = out[:len(out)-1]
		}
	}
	f.lines = out
	f.stale = true
	return true
}

// dropIndexes removes the elements at the given ascending indexes.
func dropIndexes(lines []*line, idx []int) []*line {
	if len(idx) == 0 {
		return lines
	}
	out := lines[:idx[0]]
	next := 0
	for i := idx[0]; i < len(lines); i++ {
		if next < len(idx) && idx[next] == i {
			next++
			continue
		}
		out = append(out, lines[i])
	}
	return out
}

func allBlank(lines []*line) bool {
	for _, ln := range lines {
		if !ln.blank() {
			return false
		}
	}
	return true
}

// blank reports whether the line is empty or whitespace only.
func (ln *line) blank() bool {
	return len(ln.stmts) == 0 && !ln.dirty && strings.TrimSpace(ln.raw) == ""
}

// Bytes returns the file's text. For a File that was not edited it is the
// parsed input, byte for byte.
func (f *File) Bytes() []byte {
	var b strings.Builder
	for i, ln := range f.lines {
		text := ln.raw
		if ln.dirty || (i < len(f.lines)-1 && ln.needsRender()) {
			text = ln.render(f.eol)
		}
		if b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
			// Only the original last line can lack its end of line.
			b.WriteString(f.eol)
		}
		b.WriteString(text)
	}
	return []byte(b.String())
}

// needsRender reports whether the raw text cannot be followed by another
// line as is: a last line without newline that ends in a backslash would
// join the next line.
func (ln *line) needsRender() bool {
	return ln.eol == "" && len(ln.stmts) > 0 && ln.comment == "" && strings.HasSuffix(ln.raw, "\\")
}

// render writes the line's statements in uci's canonical style, one per
// physical line, keeping a trailing comment on the last one.
func (ln *line) render(eol string) string {
	if ln.eol != "" {
		eol = ln.eol
	}
	var b strings.Builder
	for i, st := range ln.stmts {
		if i > 0 {
			b.WriteString(eol)
		}
		switch st.kind {
		case kindPackage:
			b.WriteString("package " + st.name)
		case kindConfig:
			b.WriteString("config " + st.sec.typ)
			if st.sec.name != "" {
				b.WriteString(" " + quote(st.sec.name))
			}
		case kindOption:
			b.WriteString("\toption " + st.name + " " + quote(st.value))
		case kindList:
			b.WriteString("\tlist " + st.name + " " + quote(st.value))
		}
	}
	if ln.comment != "" {
		if len(ln.stmts) > 0 {
			b.WriteString(" ")
		}
		b.WriteString(ln.comment)
	}
	if b.Len() == 0 {
		return ""
	}
	// A rendered former last line keeps having no newline; Bytes adds one
	// if another line follows.
	b.WriteString(ln.eol)
	return b.String()
}

// quote writes v in single quotes the way uci export does.
func quote(v string) string {
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

// build recomputes every section's options by replaying the statements in
// file order with libuci's rules (see the package documentation).
func (f *File) build() {
	if !f.stale {
		return
	}
	for _, s := range f.secs {
		s.opts = s.opts[:0]
		if s.index == nil {
			s.index = make(map[string]*option)
		}
		clear(s.index)
	}
	for _, ln := range f.lines {
		for _, st := range ln.stmts {
			switch st.kind {
			case kindOption:
				st.sec.applyOption(st)
			case kindList:
				st.sec.applyList(st)
			}
		}
	}
	for _, s := range f.secs {
		s.opts = slices.DeleteFunc(s.opts, func(o *option) bool { return o.replaced })
	}
	f.stale = false
}
