package uci

import (
	"bytes"
	"fmt"
	"strings"
)

// stmtKind tells the four statements apart.
type stmtKind uint8

const (
	kindPackage stmtKind = iota + 1
	kindConfig
	kindOption
	kindList
)

// stmt is one statement. The File is the ordered list of its statements
// (grouped into lines); the option values a Section reports are computed by
// replaying them, so what Bytes writes always parses back to what the API
// shows.
type stmt struct {
	kind  stmtKind
	sec   *Section // config: the section opened; option/list: its section
	name  string   // option name, or package name
	value string   // option/list value
	num   int      // line number in the parsed input; 0 if added by an edit
}

// line is one logical line of the file: a physical line, or several when a
// quoted value or a backslash continuation spans them. An untouched line is
// written back as raw; a dirty one is rendered from its statements.
type line struct {
	raw     string  // the text as read, including its end of line
	eol     string  // "\n", "\r\n" or "" (last line without newline)
	comment string  // trailing "# ..." after the statements, without eol
	stmts   []*stmt // statements on this line, in order
	dirty   bool    // render from stmts instead of raw
}

// parser walks the input once. The statements it finds are applied to the
// File as they come, so errors that depend on earlier statements (option
// before the first section, a section redefined with another type) are
// reported with the line that causes them.
type parser struct {
	f    *File
	data []byte
	pos  int
	num  int      // current physical line, 1-based
	cur  *Section // section the next option belongs to
	end  bool     // the current statement has ended (';', '#' or end of line)
}

// Parse parses the contents of a UCI file. name is used in error messages
// only (ReadFile passes the path). An empty input gives an empty File.
func Parse(name string, data []byte) (*File, error) {
	f := &File{name: name, eol: "\n", stale: true}
	if i := bytes.IndexByte(data, '\n'); i > 0 && data[i-1] == '\r' {
		f.eol = "\r\n"
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return nil, &ParseError{File: name, Line: 1 + bytes.Count(data[:i], []byte{'\n'}), Msg: "NUL byte in input"}
	}
	p := &parser{f: f, data: data, num: 1}
	for p.pos < len(p.data) {
		ln, err := p.line()
		if err != nil {
			return nil, err
		}
		f.lines = append(f.lines, ln)
	}
	return f, nil
}

func (p *parser) errorf(num int, format string, args ...any) error {
	return &ParseError{File: p.f.name, Line: num, Msg: fmt.Sprintf(format, args...)}
}

// isSpace is C's isspace in the "C" locale, which is what libuci uses to
// separate arguments.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// skipBlanks skips whitespace up to, not including, the end of the line.
func (p *parser) skipBlanks() {
	for p.pos < len(p.data) && p.data[p.pos] != '\n' && isSpace(p.data[p.pos]) {
		p.pos++
	}
}

// line parses one logical line including its end of line.
func (p *parser) line() (*line, error) {
	start := p.pos
	ln := &line{}
	for {
		p.skipBlanks()
		if p.pos >= len(p.data) {
			break
		}
		c := p.data[p.pos]
		if c == '\n' {
			p.pos++
			p.num++
			break
		}
		if c == '#' {
			end := bytes.IndexByte(p.data[p.pos:], '\n')
			if end < 0 {
				end = len(p.data) - p.pos
			}
			ln.comment = strings.TrimSuffix(string(p.data[p.pos:p.pos+end]), "\r")
			p.pos += end
			continue
		}
		st, err := p.statement()
		if err != nil {
			return nil, err
		}
		ln.stmts = append(ln.stmts, st)
	}
	ln.raw = string(p.data[start:p.pos])
	switch {
	case strings.HasSuffix(ln.raw, "\r\n"):
		ln.eol = "\r\n"
	case strings.HasSuffix(ln.raw, "\n"):
		ln.eol = "\n"
	}
	return ln, nil
}

// keyword reads the command word. Like libuci (strtok on " \t") it ends only
// at a space, a tab or the end of the line.
func (p *parser) keyword() string {
	start := p.pos
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if c == ' ' || c == '\t' || c == '\n' {
			break
		}
		p.pos++
	}
	return string(p.data[start:p.pos])
}

// statement parses one statement starting at its keyword and applies it.
func (p *parser) statement() (*stmt, error) {
	num := p.num
	p.end = false
	kw := p.keyword()
	switch kw {
	case "package", "p":
		name, err := p.arg()
		if err != nil {
			return nil, err
		}
		if name == "" {
			return nil, p.errorf(num, "package: missing name")
		}
		if !validType(name) {
			return nil, p.errorf(num, "invalid package name %q", name)
		}
		if err := p.eos(num); err != nil {
			return nil, err
		}
		return &stmt{kind: kindPackage, name: name, num: num}, nil
	case "config", "c":
		return p.config(num)
	case "option", "o", "list", "l":
		kind, what := kindOption, "option"
		if kw[0] == 'l' {
			kind, what = kindList, "list"
		}
		if p.cur == nil {
			return nil, p.errorf(num, "%s before the first config section", what)
		}
		name, err := p.arg()
		if err != nil {
			return nil, err
		}
		if name == "" {
			return nil, p.errorf(num, "%s: missing name", what)
		}
		if !validName(name) {
			return nil, p.errorf(num, "invalid option name %q", name)
		}
		value, err := p.arg()
		if err != nil {
			return nil, err
		}
		if err := p.eos(num); err != nil {
			return nil, err
		}
		st := &stmt{kind: kind, sec: p.cur, name: name, value: value, num: num}
		p.cur.count(st, 1)
		return st, nil
	}
	return nil, p.errorf(num, "invalid command %q", kw)
}

// config parses the arguments of a config statement and opens its section.
func (p *parser) config(num int) (*stmt, error) {
	typ, err := p.arg()
	if err != nil {
		return nil, err
	}
	if typ == "" {
		return nil, p.errorf(num, "config: missing section type")
	}
	if !validType(typ) {
		return nil, p.errorf(num, "invalid section type %q", typ)
	}
	name, err := p.arg()
	if err != nil {
		return nil, err
	}
	if name != "" && !validName(name) {
		return nil, p.errorf(num, "invalid section name %q", name)
	}
	if err := p.eos(num); err != nil {
		return nil, err
	}
	var s *Section
	if name != "" {
		s = p.f.byName(name)
	}
	switch {
	case s == nil:
		s = p.f.addSection(typ, name)
	case s.typ != typ:
		// libuci in its default strict mode refuses this too.
		return nil, p.errorf(num, "section %q redefined with type %q (was %q)", name, typ, s.typ)
	}
	p.cur = s
	return &stmt{kind: kindConfig, sec: s, num: num}, nil
}

// eos checks that the statement has no further argument. As in libuci an
// extra argument that is an empty quoted string is tolerated.
func (p *parser) eos(num int) error {
	extra, err := p.arg()
	if err != nil {
		return err
	}
	if extra != "" {
		return p.errorf(num, "too many arguments (unexpected %q)", extra)
	}
	p.end = true
	return nil
}

// arg reads the next argument of the current statement; "" once the
// statement has ended.
func (p *parser) arg() (string, error) {
	if p.end {
		return "", nil
	}
	p.skipBlanks()
	if p.pos >= len(p.data) {
		p.end = true
		return "", nil
	}
	switch p.data[p.pos] {
	case '\n', '#':
		p.end = true
		return "", nil
	case ';':
		p.pos++
		p.end = true
		return "", nil
	}
	return p.str()
}

// continuation reports how many bytes a backslash at p.pos-1 joins away: the
// newline after it (1, or 2 for CRLF), or 0 if it escapes a character.
func (p *parser) continuation() int {
	rest := p.data[p.pos:]
	switch {
	case len(rest) > 0 && rest[0] == '\n':
		return 1
	case len(rest) > 1 && rest[0] == '\r' && rest[1] == '\n':
		return 2
	}
	return 0
}

// str reads one argument: unquoted, single- and double-quoted parts up to
// the next whitespace, '#' or ';' outside quotes.
func (p *parser) str() (string, error) {
	var b []byte
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '\'':
			open := p.num
			p.pos++
			for {
				if p.pos >= len(p.data) {
					return "", p.errorf(open, "unterminated quote")
				}
				c := p.data[p.pos]
				p.pos++
				if c == '\'' {
					break
				}
				if c == '\n' {
					p.num++
				}
				b = append(b, c)
			}
		case c == '"':
			open := p.num
			p.pos++
			for {
				if p.pos >= len(p.data) {
					return "", p.errorf(open, "unterminated quote")
				}
				c := p.data[p.pos]
				p.pos++
				if c == '"' {
					break
				}
				if c == '\\' {
					if n := p.continuation(); n > 0 {
						p.pos += n
						p.num++
						continue
					}
					if p.pos >= len(p.data) {
						return "", p.errorf(open, "unterminated quote")
					}
					c = p.data[p.pos]
					p.pos++
				}
				if c == '\n' {
					p.num++
				}
				b = append(b, c)
			}
		case c == '\\':
			p.pos++
			if n := p.continuation(); n > 0 {
				p.pos += n
				p.num++
				continue
			}
			if p.pos < len(p.data) {
				b = append(b, p.data[p.pos])
				p.pos++
			}
		case c == '#':
			// The rest of the physical line is a comment; line() records it.
			p.end = true
			return string(b), nil
		case c == ';':
			p.pos++
			p.end = true
			return string(b), nil
		case isSpace(c):
			return string(b), nil
		default:
			b = append(b, c)
			p.pos++
		}
	}
	return string(b), nil
}

// validName reports whether s is a valid section or option name.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// validType reports whether s is a valid section type (or package name): a
// name that may also contain '-'.
func validType(s string) bool {
	return validName(strings.ReplaceAll(s, "-", "_"))
}
