package group

import (
	"bytes"
	"encoding/pem"
)

var (
	pemBegin = []byte("-----BEGIN ")
	pemEnd   = []byte("\n-----END ")
)

// pemScanner reads PEM blocks strictly, one after another. Between blocks
// it allows only blank lines and lines starting with '#'. Unlike a loop
// over pem.Decode, it never skips a damaged block to reach the next one,
// so a truncated or garbled block is reported, not silently dropped.
// Errors name line numbers but never quote the text: it may be key material
// whose BEGIN line was damaged.
type pemScanner struct {
	data []byte
	pos  int
	kind error // tags every error
}

// line returns the 1-based line number of offset off.
func (s *pemScanner) line(off int) int { return bytes.Count(s.data[:off], []byte("\n")) + 1 }

// skipFiller moves past blank lines and '#' comment lines.
func (s *pemScanner) skipFiller() {
	for s.pos < len(s.data) {
		switch c := s.data[s.pos]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			s.pos++
		case c == '#':
			nl := bytes.IndexByte(s.data[s.pos:], '\n')
			if nl < 0 {
				s.pos = len(s.data)
			} else {
				s.pos += nl + 1
			}
		default:
			return
		}
	}
}

// next returns the next block, or nil at the end of the data.
func (s *pemScanner) next() (*pem.Block, error) {
	s.skipFiller()
	if s.pos == len(s.data) {
		return nil, nil
	}
	start := s.pos
	rest := s.data[start:]
	if !bytes.HasPrefix(rest, pemBegin) {
		return nil, errorf(s.kind, "line %d: unexpected text outside a PEM block", s.line(start))
	}
	endLine := bytes.Index(rest, pemEnd)
	if endLine < 0 {
		return nil, errorf(s.kind, "line %d: PEM block is truncated (no END line)", s.line(start))
	}
	stop := endLine + len(pemEnd)
	if nl := bytes.IndexByte(rest[stop:], '\n'); nl < 0 {
		stop = len(rest)
	} else {
		stop += nl + 1
	}
	seg := rest[:stop]
	if bytes.Count(seg, pemBegin) != 1 {
		return nil, errorf(s.kind, "line %d: PEM block is truncated (next block starts before its END line)", s.line(start))
	}
	b, after := pem.Decode(seg)
	if b == nil || len(bytes.TrimSpace(after)) != 0 {
		return nil, errorf(s.kind, "line %d: malformed PEM block", s.line(start))
	}
	s.pos = start + stop
	return b, nil
}

// decodeSingleBlock decodes a state file that holds exactly one PEM block
// of type want and no headers.
func decodeSingleBlock(data []byte, want string, kind error) (*pem.Block, error) {
	s := &pemScanner{data: data, kind: kind}
	b, err := s.next()
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, errorf(kind, "no PEM data")
	}
	if b.Type != want {
		return nil, errorf(kind, "PEM block is %q, want %q", shorten(b.Type), want)
	}
	if want == pemCertificate && len(b.Headers) > 0 {
		return nil, errorf(kind, "unexpected PEM headers on the certificate")
	}
	extra, err := s.next()
	if err != nil {
		return nil, err
	}
	if extra != nil {
		return nil, errorf(kind, "unexpected second PEM block %q", shorten(extra.Type))
	}
	return b, nil
}
