package uci

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// dump renders the model (not the text) of f compactly: one "TYPE NAME"
// line per section, then "\tOPT=VALUE" or "\tOPT[]=[VALUES]" lines.
func dump(f *File) string {
	var b strings.Builder
	for _, s := range f.Sections() {
		b.WriteString(s.Type())
		if s.Name() != "" {
			b.WriteString(" " + s.Name())
		}
		b.WriteString("\n")
		for _, o := range s.Options() {
			if s.IsList(o) {
				fmt.Fprintf(&b, "\t%s[]=%q\n", o, s.List(o))
				continue
			}
			v, ok := s.Get(o)
			if !ok {
				fmt.Fprintf(&b, "\t%s: Get failed\n", o)
			}
			fmt.Fprintf(&b, "\t%s=%q\n", o, v)
		}
	}
	return b.String()
}

func TestParseGrammar(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"comments and blanks only", "# hello\n\n   \n\t# indented\n", ""},
		{"unquoted", "config iface lan\n\toption proto static\n", "iface lan\n\tproto=\"static\"\n"},
		{"single quoted", "config t 'n'\n\toption v 'a b \"c\"'\n", "t n\n\tv=\"a b \\\"c\\\"\"\n"},
		{"double quoted", "config t\n\toption v \"it's a b\"\n", "t\n\tv=\"it's a b\"\n"},
		{"double quote escapes", `config t` + "\n" + `option v "a\"b\\c\nd\$"` + "\n", "t\n\tv=\"a\\\"b\\\\cnd$\"\n"},
		{"single quote backslash is literal", `config t` + "\n" + `option v 'a\nb\'` + "\n", "t\n\tv=\"a\\\\nb\\\\\"\n"},
		{"concatenation", `config t` + "\n" + `option v 'a'"b"c'd e'` + "\n", "t\n\tv=\"abcd e\"\n"},
		{"canonical quote escape", `config t` + "\n" + `option v 'it'\''s'` + "\n", "t\n\tv=\"it's\"\n"},
		{"unquoted escapes", `config t` + "\n" + `option v a\ b\#c\;d` + "\n", "t\n\tv=\"a b#c;d\"\n"},
		{"continuation unquoted", "config t\noption v ab\\\ncd\n", "t\n\tv=\"abcd\"\n"},
		{"continuation between args", "config t\noption v \\\nab\n", "t\n\tv=\"ab\"\n"},
		{"continuation in double quotes", "config t\noption v \"ab\\\ncd\"\n", "t\n\tv=\"abcd\"\n"},
		{"continuation crlf", "config t\r\noption v \"ab\\\r\ncd\"\r\n", "t\n\tv=\"abcd\"\n"},
		{"multi-line single quotes", "config t\noption v 'a\nb'\noption w x\n", "t\n\tv=\"a\\nb\"\n\tw=\"x\"\n"},
		{"multi-line double quotes", "config t\noption v \"a\nb\"\n", "t\n\tv=\"a\\nb\"\n"},
		{"trailing comment", "config t # c\n\toption v x # y\n", "t\n\tv=\"x\"\n"},
		{"comment glued to value", "config t\n\toption v x#y z\n", "t\n\tv=\"x\"\n"},
		{"comment after quoted", "config t\n\toption v 'x'#y\n", "t\n\tv=\"x\"\n"},
		{"hash inside quotes", "config t\n\toption v 'x # y'\n", "t\n\tv=\"x # y\"\n"},
		{"tabs and spaces", "  config \t t \t 'n'  \n \t option\t\tv\t\t'x'\t \n", "t n\n\tv=\"x\"\n"},
		{"crlf", "config t 'n'\r\n\toption v 'x'\r\n\r\n", "t n\n\tv=\"x\"\n"},
		{"no final newline", "config t\n\toption v x", "t\n\tv=\"x\"\n"},
		{"abbreviations", "p pkg\nc t n\no v x\nl w y\n", "t n\n\tv=\"x\"\n\tw[]=[\"y\"]\n"},
		{"package", "package network\n\nconfig t\n", "t\n"},
		{"package inside a section", "config t\npackage x\noption v y\n", "t\n\tv=\"y\"\n"},
		{"anonymous", "config t\nconfig t ''\n", "t\nt\n"},
		{"type with dash", "config wifi-iface\n", "wifi-iface\n"},
		{"empty option value is a no-op", "config t\noption a ''\noption b\noption c x\noption c ''\n", "t\n\tc=\"x\"\n"},
		{"empty list value", "config t\nlist a ''\nlist a\n", "t\n\ta[]=[\"\" \"\"]\n"},
		{"last option wins and moves", "config t\noption a 1\noption b 2\noption a 3\n", "t\n\tb=\"2\"\n\ta=\"3\"\n"},
		{"same value does not move", "config t\noption a 1\noption b 2\noption a 1\n", "t\n\ta=\"1\"\n\tb=\"2\"\n"},
		{"list keeps position", "config t\nlist a 1\noption b 2\nlist a 3\n", "t\n\ta[]=[\"1\" \"3\"]\n\tb=\"2\"\n"},
		{"option then list converts", "config t\noption a 1\noption b 2\nlist a x\n", "t\n\tb=\"2\"\n\ta[]=[\"1\" \"x\"]\n"},
		{"list then option replaces", "config t\nlist a 1\nlist a 2\noption a x\n", "t\n\ta=\"x\"\n"},
		{"reopened section merges", "config t n\noption a 1\nconfig u\nconfig t n\noption b 2\n", "t n\n\ta=\"1\"\n\tb=\"2\"\nu\n"},
		{"semicolons", "config t n; option a 1 ; option b '2';option c 3\n", "t n\n\ta=\"1\"\n\tb=\"2\"\n\tc=\"3\"\n"},
		{"semicolon then comment", "config t\noption a 1; # c\n", "t\n\ta=\"1\"\n"},
		{"extra empty argument", "config t n ''\noption a b ''\n", "t n\n\ta=\"b\"\n"},
		{"high bytes", "config t\noption a '\xc3\xa9\xff'\n", "t\n\ta=\"\xc3\xa9\\xff\"\n"},
		{"vertical tab and form feed are blanks", "config t\v\f n\n", "t n\n"},
		{"backslash at end of file", "config t\noption a b\\", "t\n\ta=\"b\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("test", []byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := dump(f); got != tt.want {
				t.Errorf("model:\n%s\nwant:\n%s", got, tt.want)
			}
			if got := string(f.Bytes()); got != tt.in {
				t.Errorf("Bytes() = %q, want the input %q", got, tt.in)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in string
		line     int
		msg      string
	}{
		{"unterminated single", "config t\n\n\toption v 'abc\n\n", 3, "unterminated quote"},
		{"unterminated double", "config t\noption v \"abc\ndef\n", 2, "unterminated quote"},
		{"double quote backslash at eof", "config t\noption v \"abc\\", 2, "unterminated quote"},
		{"unterminated in name", "config 't\n", 1, "unterminated quote"},
		{"invalid command", "config t\nfoo bar\n", 2, `invalid command "foo"`},
		{"keyword glued", "config;\n", 1, `invalid command "config;"`},
		{"keyword with cr", "config\r\n", 1, `invalid command "config\r"`},
		{"option before config", "# c\noption a b\n", 2, "option before the first config section"},
		{"list before config", "package x\nlist a b\n", 2, "list before the first config section"},
		{"config without type", "config\n", 1, "config: missing section type"},
		{"config with empty type", "config ''\n", 1, "config: missing section type"},
		{"option without name", "config t\noption\n", 2, "option: missing name"},
		{"option with empty name", "config t\noption '' x\n", 2, "option: missing name"},
		{"list without name", "config t\nlist # x\n", 2, "list: missing name"},
		{"package without name", "package\n", 1, "package: missing name"},
		{"invalid package", "package a.b\n", 1, `invalid package name "a.b"`},
		{"invalid type", "config a.b\n", 1, `invalid section type "a.b"`},
		{"invalid section name", "config t a-b\n", 1, `invalid section name "a-b"`},
		{"invalid option name", "config t\noption a-b c\n", 2, `invalid option name "a-b"`},
		{"invalid list name", "config t\nlist 'a b' c\n", 2, `invalid option name "a b"`},
		{"too many arguments", "config t\noption a b c\n", 2, `too many arguments (unexpected "c")`},
		{"too many in config", "config t n x\n", 1, `too many arguments (unexpected "x")`},
		{"too many in package", "package a b\n", 1, `too many arguments (unexpected "b")`},
		{"redefined type", "config t n\nconfig u n\n", 2, `section "n" redefined with type "u" (was "t")`},
		{"nul byte", "config t\n\noption a '\x00'\n", 3, "NUL byte in input"},
		{"line counts continuations", "config t\noption a 'x\ny'\noption b c\\\nd e\n", 4, `too many arguments (unexpected "e")`},
		{"semicolon keyword", "config t\noption a b ;;\n", 2, `invalid command ";"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("/etc/config/x", []byte(tt.in))
			if err == nil {
				t.Fatalf("Parse succeeded:\n%s", dump(f))
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("errors.Is(%v, ErrSyntax) = false", err)
			}
			if pe.File != "/etc/config/x" || pe.Line != tt.line || pe.Msg != tt.msg {
				t.Errorf("got %q (file %q line %d msg %q), want line %d msg %q", err, pe.File, pe.Line, pe.Msg, tt.line, tt.msg)
			}
			want := fmt.Sprintf("uci: /etc/config/x:%d: %s", tt.line, tt.msg)
			if err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
		})
	}
}

func TestParseErrorWithoutFile(t *testing.T) {
	_, err := Parse("", []byte("bogus\n"))
	if err == nil || err.Error() != `uci: line 1: invalid command "bogus"` {
		t.Fatalf("got %v", err)
	}
}

func TestSectionRef(t *testing.T) {
	f, err := Parse("x", []byte("config a\nconfig b 'named'\nconfig a 'second'\nconfig a\n"))
	if err != nil {
		t.Fatal(err)
	}
	secs := f.Sections()
	tests := []struct {
		ref  string
		want *Section
	}{
		{"named", secs[1]},
		{"second", secs[2]},
		{"@a[0]", secs[0]},
		{"@a[1]", secs[2]},
		{"@a[2]", secs[3]},
		{"@a[-1]", secs[3]},
		{"@a[-3]", secs[0]},
		{"@b[0]", secs[1]},
		{"@[0]", secs[0]},
		{"@[1]", secs[1]},
		{"@[-1]", secs[3]},
		{"@a[+1]", secs[2]},
		{"@a[3]", nil},
		{"@a[-4]", nil},
		{"@c[0]", nil},
		{"@a", nil},
		{"@a[", nil},
		{"@a[x]", nil},
		{"@a[0]x", nil},
		{"@a.b[0]", nil},
		{"@a[]", nil},
		{"missing", nil},
		{"", nil},
		{"na-med", nil},
	}
	for _, tt := range tests {
		if got := f.Section(tt.ref); got != tt.want {
			t.Errorf("Section(%q) = %v, want %v", tt.ref, got, tt.want)
		}
	}
}

func TestLines(t *testing.T) {
	in := "# head\nconfig t 'n'\n\toption a 1\n\tlist l 'x\ny'\n\tlist l z\n\toption a 2 ; option b 3\n"
	f, err := Parse("x", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	s := f.Section("n")
	if got := s.HeaderLine(); got != 2 {
		t.Errorf("HeaderLine = %d, want 2", got)
	}
	for opt, want := range map[string]int{"a": 7, "l": 6, "b": 7, "none": 0} {
		if got := s.Line(opt); got != want {
			t.Errorf("Line(%q) = %d, want %d", opt, got, want)
		}
	}
	if got := fmt.Sprint(s.Lines("l")); got != "[4 6]" {
		t.Errorf("Lines(l) = %s", got)
	}
	if s.Lines("none") != nil {
		t.Errorf("Lines(none) not nil")
	}
	if f.Package() != "" {
		t.Errorf("Package() = %q", f.Package())
	}
	g, _ := Parse("y", []byte("package net\npackage other\n"))
	if g.Package() != "net" || g.Name() != "y" {
		t.Errorf("Package() = %q, Name() = %q", g.Package(), g.Name())
	}
}
