// Package uci reads and writes OpenWRT UCI configuration files
// (/etc/config/*) without losing anything a person wrote in them.
//
// The grammar is the one libuci accepts:
//
//	package NAME                     accepted anywhere, kept, otherwise ignored
//	config TYPE ['NAME']             opens a section (anonymous without NAME)
//	option NAME 'VALUE'              sets an option of the current section
//	list NAME 'VALUE'                appends a value to a list option
//	# comment                        full-line, or after a statement
//
// The keywords may be abbreviated to p, c, o and l. Arguments are unquoted,
// 'single-quoted' or "double-quoted", and adjacent parts concatenate, so
// 'a'"b"c is the value abc. Inside double quotes and in unquoted text a
// backslash takes the next character literally, and a backslash at the end
// of a line joins the next line. Single quotes take everything literally, so
// a single quote inside a single-quoted value is written as quote, backslash,
// quote, quote:
//
//	option motd 'it'\''s'
//
// A quoted value may span lines; the newlines are part of the value. Outside
// quotes '#' starts a comment and ';' ends a statement, so several statements
// may share a line. Option and section names are [A-Za-z0-9_]+, section
// types may also contain '-'.
//
// Statements are applied in file order exactly as libuci applies them:
//
//   - option replaces whatever the option held before (a plain value or a
//     list). The replaced option moves to the end of the section, unless the
//     new value equals the old one, in which case nothing changes.
//   - list appends to a list. Given after a plain option of the same name it
//     turns the option into a list whose first element is the old value.
//   - option with an empty value (an empty quoted string or no value at
//     all) does nothing; list with an empty value appends an empty element.
//   - A second config statement with the name of an existing section
//     reopens that section (with a different type it is an error).
//
// Parse keeps every line as written: Bytes on an unmodified File returns the
// input byte for byte. Edits through Section and File re-render only the
// statements they touch, in uci's canonical style (a tab, the keyword, the
// name, the value in single quotes); comments, blank lines, indentation and
// quoting elsewhere stay as they were. WriteFile stores a File atomically.
//
// Anonymous sections are addressed like the uci command line does:
// @TYPE[N] is the N-th section of that type (counting named ones too),
// @TYPE[-1] the last one, and @[N] the N-th section of any type.
//
// Where libuci is quirky this package is regular. libuci treats ';' as a
// separator only in some positions (after an unquoted value it silently
// drops the rest of the line); here ';' outside quotes always ends the
// statement. libuci accepts any printable character in a section type;
// here types are limited to [A-Za-z0-9_-]. A NUL byte is an error. libuci's
// generated names for anonymous sections (cfg0a1b2c) are not provided; use
// @TYPE[N].
//
// The package is a library: it imports only the standard library.
package uci
