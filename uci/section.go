package uci

import (
	"fmt"
	"strings"
)

// Section is one config section of a File. Its methods read and edit the
// File it belongs to.
type Section struct {
	f       *File
	typ     string
	name    string // "" for an anonymous section
	deleted bool
	opts    []*option // computed by File.build
}

// option is the value an option has after all statements are applied.
type option struct {
	name   string
	list   bool
	values []string // exactly one for a plain option
	num    int      // line of the last statement that changed it
}

// Type returns the section type, e.g. "interface".
func (s *Section) Type() string { return s.typ }

// Name returns the section name, or "" for an anonymous section.
func (s *Section) Name() string { return s.name }

// HeaderLine returns the line of the (first) config statement that opened
// the section in the parsed input, or 0 for a section added by AddSection.
func (s *Section) HeaderLine() int {
	for _, ln := range s.f.lines {
		for _, st := range ln.stmts {
			if st.kind == kindConfig && st.sec == s {
				return st.num
			}
		}
	}
	return 0
}

func (s *Section) find(name string) (int, *option) {
	for i, o := range s.opts {
		if o.name == name {
			return i, o
		}
	}
	return -1, nil
}

func (s *Section) lookup(name string) *option {
	if s.deleted {
		return nil
	}
	s.f.build()
	_, o := s.find(name)
	return o
}

// applyOption applies an option statement as libuci's uci_set does.
func (s *Section) applyOption(st *stmt) {
	if st.value == "" {
		return
	}
	i, o := s.find(st.name)
	if o != nil {
		if !o.list && o.values[0] == st.value {
			o.num = st.num
			return
		}
		s.opts = append(s.opts[:i], s.opts[i+1:]...)
	}
	s.opts = append(s.opts, &option{name: st.name, values: []string{st.value}, num: st.num})
}

// applyList applies a list statement as libuci's uci_add_list does.
func (s *Section) applyList(st *stmt) {
	i, o := s.find(st.name)
	switch {
	case o == nil:
		s.opts = append(s.opts, &option{name: st.name, list: true, values: []string{st.value}, num: st.num})
	case o.list:
		o.values = append(o.values, st.value)
		o.num = st.num
	default:
		s.opts = append(s.opts[:i], s.opts[i+1:]...)
		s.opts = append(s.opts, &option{name: st.name, list: true, values: []string{o.values[0], st.value}, num: st.num})
	}
}

// Options returns the names of the section's options in uci's order.
func (s *Section) Options() []string {
	if s.deleted {
		return nil
	}
	s.f.build()
	names := make([]string, len(s.opts))
	for i, o := range s.opts {
		names[i] = o.name
	}
	return names
}

// Get returns the value of a plain option. It reports false if the option
// is not set or is a list (use List for those).
func (s *Section) Get(opt string) (string, bool) {
	o := s.lookup(opt)
	if o == nil || o.list {
		return "", false
	}
	return o.values[0], true
}

// List returns the values of a list option. A plain option gives a
// one-element list, as config_list_foreach does in uci's shell library.
// It returns nil if the option is not set.
func (s *Section) List(opt string) []string {
	o := s.lookup(opt)
	if o == nil {
		return nil
	}
	return append([]string(nil), o.values...)
}

// IsList reports whether the option is set and is a list.
func (s *Section) IsList(opt string) bool {
	o := s.lookup(opt)
	return o != nil && o.list
}

// Line returns the line in the parsed input of the last statement that set
// the option, or 0 if the option is not set or was added by an edit.
func (s *Section) Line(opt string) int {
	o := s.lookup(opt)
	if o == nil {
		return 0
	}
	return o.num
}

func (s *Section) check(opt string, vals ...string) error {
	if s.deleted {
		return fmt.Errorf("uci: section %s: %w", s.ref(), ErrSectionDeleted)
	}
	if !validName(opt) {
		return fmt.Errorf("uci: section %s: %w %q", s.ref(), ErrInvalidName, opt)
	}
	for _, v := range vals {
		if strings.IndexByte(v, 0) >= 0 {
			return fmt.Errorf("uci: section %s, option %s: %w: NUL byte", s.ref(), opt, ErrInvalidValue)
		}
	}
	return nil
}

// ref names the section in error messages.
func (s *Section) ref() string {
	if s.name != "" {
		return s.name
	}
	return "@" + s.typ + "[?]"
}

// isOpt reports whether st is an option or list statement for s.opt.
func (s *Section) isOpt(st *stmt, opt string) bool {
	return st.sec == s && (st.kind == kindOption || st.kind == kindList) && st.name == opt
}

// Set sets a plain option, replacing a list of the same name. The first
// statement that defined the option is rewritten in place and the others
// removed; a new option goes after the section's last statement. Setting the
// empty value deletes the option, as `uci set` does (an empty option does not
// exist in uci).
func (s *Section) Set(opt, val string) error {
	if err := s.check(opt, val); err != nil {
		return err
	}
	if val == "" {
		s.Delete(opt)
		return nil
	}
	s.replace(opt, []*stmt{{kind: kindOption, sec: s, name: opt, value: val}})
	return nil
}

// SetList replaces an option (plain or list) with a list of the given
// values. An empty vals deletes the option. Empty strings are kept as
// empty list elements.
func (s *Section) SetList(opt string, vals []string) error {
	if err := s.check(opt, vals...); err != nil {
		return err
	}
	if len(vals) == 0 {
		s.Delete(opt)
		return nil
	}
	sts := make([]*stmt, len(vals))
	for i, v := range vals {
		sts[i] = &stmt{kind: kindList, sec: s, name: opt, value: v}
	}
	s.replace(opt, sts)
	return nil
}

// AddList appends a value to a list option. Like `uci add_list` it turns a
// plain option into a list whose first element is the old value.
func (s *Section) AddList(opt, val string) error {
	if err := s.check(opt, val); err != nil {
		return err
	}
	o := s.lookup(opt)
	switch {
	case o == nil:
		s.f.insertAfter(s.f.lastStmt(s, nil), &stmt{kind: kindList, sec: s, name: opt, value: val})
	case !o.list:
		return s.SetList(opt, []string{o.values[0], val})
	default:
		last := s.f.lastStmt(s, func(st *stmt) bool { return s.isOpt(st, opt) })
		s.f.insertAfter(last, &stmt{kind: kindList, sec: s, name: opt, value: val})
	}
	s.f.stale = true
	return nil
}

// Delete removes an option (every statement that set it) and reports
// whether it was set.
func (s *Section) Delete(opt string) bool {
	if s.deleted {
		return false
	}
	existed := s.lookup(opt) != nil
	s.f.removeStmts(func(st *stmt) bool { return s.isOpt(st, opt) })
	return existed
}

// replace puts sts where the option's first statement is (or after the
// section's last statement) and removes the option's other statements.
func (s *Section) replace(opt string, sts []*stmt) {
	f := s.f
	first := f.firstStmt(func(st *stmt) bool { return s.isOpt(st, opt) })
	if first == nil {
		f.insertAfter(f.lastStmt(s, nil), sts...)
		f.stale = true
		return
	}
	keep := map[*stmt]bool{first: true}
	for _, st := range sts {
		keep[st] = true
	}
	num := first.num // the option keeps the line it was read from
	*first = *sts[0]
	first.num = num
	sts[0] = first
	f.insertAfter(first, sts[1:]...)
	f.removeStmts(func(st *stmt) bool { return s.isOpt(st, opt) && !keep[st] })
	f.lineOf(first).dirty = true
	f.stale = true
}

// firstStmt returns the first statement matching match, or nil.
func (f *File) firstStmt(match func(*stmt) bool) *stmt {
	for _, ln := range f.lines {
		for _, st := range ln.stmts {
			if match(st) {
				return st
			}
		}
	}
	return nil
}

// lastStmt returns the last statement of s matching match (any statement of
// s if match is nil). The section's config statement always matches nil.
func (f *File) lastStmt(s *Section, match func(*stmt) bool) *stmt {
	var last *stmt
	for _, ln := range f.lines {
		for _, st := range ln.stmts {
			if st.sec == s && (match == nil || match(st)) {
				last = st
			}
		}
	}
	return last
}

func (f *File) lineOf(st *stmt) *line {
	for _, ln := range f.lines {
		for _, x := range ln.stmts {
			if x == st {
				return ln
			}
		}
	}
	return nil
}

// insertAfter places sts right after anchor: on a new line when the anchor
// ends its line, otherwise on the anchor's line (which is then re-rendered,
// so that a statement after the anchor on the same line, possibly opening
// another section, still comes after the new ones).
func (f *File) insertAfter(anchor *stmt, sts ...*stmt) {
	if len(sts) == 0 {
		return
	}
	for i, ln := range f.lines {
		for j, st := range ln.stmts {
			if st != anchor {
				continue
			}
			if j == len(ln.stmts)-1 {
				nl := &line{dirty: true, eol: f.eol, stmts: sts}
				f.lines = append(f.lines[:i+1], append([]*line{nl}, f.lines[i+1:]...)...)
			} else {
				rest := append(append([]*stmt(nil), sts...), ln.stmts[j+1:]...)
				ln.stmts = append(ln.stmts[:j+1], rest...)
				ln.dirty = true
			}
			f.stale = true
			return
		}
	}
}

// removeStmts drops the statements matching drop. A line left without
// statements disappears (with its comment); a line that keeps some is
// re-rendered.
func (f *File) removeStmts(drop func(*stmt) bool) {
	out := f.lines[:0]
	for _, ln := range f.lines {
		keep := ln.stmts[:0:0]
		for _, st := range ln.stmts {
			if !drop(st) {
				keep = append(keep, st)
			}
		}
		if len(keep) != len(ln.stmts) {
			if len(keep) == 0 {
				continue
			}
			ln.stmts, ln.dirty = keep, true
		}
		out = append(out, ln)
	}
	for i := len(out); i < len(f.lines); i++ {
		f.lines[i] = nil
	}
	f.lines = out
	f.stale = true
}
