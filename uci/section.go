package uci

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Section is one config section of a File. Its methods read and edit the
// File it belongs to.
type Section struct {
	f       *File
	typ     string
	name    string // "" for an anonymous section
	deleted bool
	opts    []*option          // computed by File.build, in uci's order
	index   map[string]*option // opts by name
	// nstmts counts the option and list statements per option name, so
	// that edits of options the file does not mention skip a full scan.
	nstmts map[string]int
}

// option is the value an option has after all statements are applied.
type option struct {
	name   string
	list   bool
	values []string // exactly one for a plain option
	nums   []int    // line of the statement that gave each value
	// replaced marks an option superseded during File.build; build drops
	// it from opts when the replay is done.
	replaced bool
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

func (s *Section) lookup(name string) *option {
	if s.deleted {
		return nil
	}
	s.f.build()
	return s.index[name]
}

// applyOption applies an option statement as libuci's uci_set does.
func (s *Section) applyOption(st *stmt) {
	if st.value == "" {
		return
	}
	if o := s.index[st.name]; o != nil {
		if !o.list && o.values[0] == st.value {
			return
		}
		o.replaced = true
	}
	s.push(&option{name: st.name, values: []string{st.value}, nums: []int{st.num}})
}

// applyList applies a list statement as libuci's uci_add_list does.
func (s *Section) applyList(st *stmt) {
	o := s.index[st.name]
	switch {
	case o == nil:
		s.push(&option{name: st.name, list: true, values: []string{st.value}, nums: []int{st.num}})
	case o.list:
		o.values = append(o.values, st.value)
		o.nums = append(o.nums, st.num)
	default:
		o.replaced = true
		s.push(&option{name: st.name, list: true, values: []string{o.values[0], st.value}, nums: []int{o.nums[0], st.num}})
	}
}

func (s *Section) push(o *option) {
	s.opts = append(s.opts, o)
	s.index[o.name] = o
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

// Line returns the line in the parsed input of the statement that set the
// option (for a list, of its last value), or 0 if the option is not set or
// was added by an edit.
func (s *Section) Line(opt string) int {
	o := s.lookup(opt)
	if o == nil {
		return 0
	}
	return o.nums[len(o.nums)-1]
}

// Lines returns the line of each value List returns, 0 for values added by
// an edit, or nil if the option is not set.
func (s *Section) Lines(opt string) []int {
	o := s.lookup(opt)
	if o == nil {
		return nil
	}
	return append([]int(nil), o.nums...)
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

// ref names the section in error messages: its name, or @TYPE[N].
func (s *Section) ref() string {
	if s.name != "" {
		return s.name
	}
	n := 0
	for _, x := range s.f.secs {
		if x == s {
			return "@" + s.typ + "[" + strconv.Itoa(n) + "]"
		}
		if x.typ == s.typ {
			n++
		}
	}
	return "@" + s.typ + " (deleted)"
}

// count adds d to the statement count of an option or list statement.
func (s *Section) count(st *stmt, d int) {
	if st.kind != kindOption && st.kind != kindList {
		return
	}
	if s.nstmts == nil {
		s.nstmts = make(map[string]int)
	}
	s.nstmts[st.name] += d
}

// isOpt reports whether st is an option or list statement for s.opt.
func (s *Section) isOpt(st *stmt, opt string) bool {
	return st.sec == s && (st.kind == kindOption || st.kind == kindList) && st.name == opt
}

// Set sets a plain option, replacing a list of the same name. The first
// statement that defined the option is rewritten in place (keeping its
// trailing comment) and the others removed; a new option goes after the
// section's last statement. Setting the value the option already has
// changes nothing. Setting the empty value deletes the option, as `uci set`
// does (an empty option does not exist in uci).
func (s *Section) Set(opt, val string) error {
	if err := s.check(opt, val); err != nil {
		return err
	}
	if val == "" {
		s.Delete(opt)
		return nil
	}
	if o := s.lookup(opt); o != nil && !o.list && o.values[0] == val && s.nstmts[opt] == 1 {
		return nil // already so; keep the line as written
	}
	s.replace(opt, []*stmt{{kind: kindOption, sec: s, name: opt, value: val}})
	return nil
}

// SetList replaces an option (plain or list) with a list of the given
// values, written where the option's first statement was. An empty vals
// deletes the option; empty strings are kept as empty list elements.
func (s *Section) SetList(opt string, vals []string) error {
	if err := s.check(opt, vals...); err != nil {
		return err
	}
	if len(vals) == 0 {
		s.Delete(opt)
		return nil
	}
	if o := s.lookup(opt); o != nil && o.list && slices.Equal(o.values, vals) && s.nstmts[opt] == len(vals) {
		return nil // already so; keep the lines as written
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
	if o != nil && !o.list {
		return s.SetList(opt, []string{o.values[0], val})
	}
	at := s.f.lastStmt(s, nil)
	if o != nil {
		at = s.f.lastStmt(s, func(st *stmt) bool { return s.isOpt(st, opt) })
	}
	s.f.insertAfter(at, &stmt{kind: kindList, sec: s, name: opt, value: val})
	return nil
}

// Delete removes an option (every statement that set it) and reports
// whether it was set.
func (s *Section) Delete(opt string) bool {
	if s.deleted {
		return false
	}
	existed := s.lookup(opt) != nil
	if s.nstmts[opt] > 0 {
		s.f.removeStmts(func(st *stmt) bool { return s.isOpt(st, opt) })
	}
	return existed
}

// replace puts sts where the option's first statement is (or after the
// section's last statement) and removes the option's other statements.
func (s *Section) replace(opt string, sts []*stmt) {
	f := s.f
	at := pos{-1, -1}
	if s.nstmts[opt] > 0 {
		at = f.firstStmt(func(st *stmt) bool { return s.isOpt(st, opt) })
	}
	if at.line < 0 {
		f.insertAfter(f.lastStmt(s, nil), sts...)
		return
	}
	first := f.lines[at.line].stmts[at.idx]
	f.lines[at.line].dirty = true
	keep := map[*stmt]bool{first: true}
	for _, st := range sts {
		keep[st] = true
	}
	num := first.num // the option keeps the line it was read from
	*first = *sts[0]
	first.num = num
	f.insertAfter(at, sts[1:]...)
	f.removeStmts(func(st *stmt) bool { return s.isOpt(st, opt) && !keep[st] })
}

// pos is the place of a statement: f.lines[line].stmts[idx]. line is -1
// when there is no such statement.
type pos struct{ line, idx int }

// firstStmt finds the first statement matching match.
func (f *File) firstStmt(match func(*stmt) bool) pos {
	for i, ln := range f.lines {
		for j, st := range ln.stmts {
			if match(st) {
				return pos{i, j}
			}
		}
	}
	return pos{-1, -1}
}

// lastStmt finds the last statement of s matching match (any statement of
// s if match is nil; the section's config statement always exists). It
// searches from the end, where new sections and their options are.
func (f *File) lastStmt(s *Section, match func(*stmt) bool) pos {
	for i := len(f.lines) - 1; i >= 0; i-- {
		ln := f.lines[i]
		for j := len(ln.stmts) - 1; j >= 0; j-- {
			if st := ln.stmts[j]; st.sec == s && (match == nil || match(st)) {
				return pos{i, j}
			}
		}
	}
	return pos{-1, -1}
}

// insertAfter places sts right after the statement at p: on a new line when
// that statement ends its line, otherwise on the same line (which is then
// re-rendered, so that a statement after it on that line, possibly opening
// another section, still comes after the new ones).
func (f *File) insertAfter(p pos, sts ...*stmt) {
	if len(sts) == 0 || p.line < 0 {
		return
	}
	for _, st := range sts {
		st.sec.count(st, 1)
	}
	ln := f.lines[p.line]
	if p.idx == len(ln.stmts)-1 {
		nl := &line{dirty: true, eol: f.eol, stmts: sts}
		f.lines = slices.Insert(f.lines, p.line+1, nl)
	} else {
		ln.stmts = slices.Insert(ln.stmts, p.idx+1, sts...)
		ln.dirty = true
	}
	f.stale = true
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
			} else if st.sec != nil {
				st.sec.count(st, -1)
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
