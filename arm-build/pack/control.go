package pack

import (
	"strings"
)

// ControlField is one "Key: value" of a control paragraph.
type ControlField struct{ Key, Value string }

// Control is one control paragraph, fields in file order.
type Control struct{ Fields []ControlField }

// Get returns the value of key, "" when absent.
func (c Control) Get(key string) string {
	for _, f := range c.Fields {
		if f.Key == key {
			return f.Value
		}
	}
	return ""
}

// ParseControl parses one control paragraph (FORMATS.md ipk: "Description
// (single line or continuation lines starting with space)").
func ParseControl(b []byte) (Control, error) {
	ps, err := ParseParagraphs(b)
	if err != nil {
		return Control{}, err
	}
	if len(ps) != 1 {
		return Control{}, formatErr("control: %d paragraphs, want 1", len(ps))
	}
	return ps[0], nil
}

// ParseParagraphs parses blank-line separated control paragraphs, the form
// of opkg's Packages index.
func ParseParagraphs(b []byte) ([]Control, error) {
	if len(b) > maxUnpacked {
		return nil, formatErr("control: %d bytes", len(b))
	}
	var out []Control
	var cur Control
	seen := map[string]bool{}
	flush := func() {
		if len(cur.Fields) > 0 {
			out = append(out, cur)
		}
		cur, seen = Control{}, map[string]bool{}
	}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimRight(line, "\r") // CRLF files, and stray CRs that a round trip would not keep
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case line[0] == ' ' || line[0] == '\t':
			if len(cur.Fields) == 0 {
				return nil, formatErr("control line %d: continuation without a field", i+1)
			}
			cur.Fields[len(cur.Fields)-1].Value += "\n" + line
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok || k == "" || strings.Trim(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") != "" {
				return nil, formatErr("control line %d: %q is not \"Key: value\"", i+1, line)
			}
			if seen[k] {
				return nil, formatErr("control line %d: field %s twice", i+1, k)
			}
			seen[k] = true
			cur.Fields = append(cur.Fields, ControlField{k, strings.TrimSpace(v)})
		}
	}
	flush()
	if len(out) == 0 {
		return nil, formatErr("control: no fields")
	}
	return out, nil
}
