package ubus

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// capturedMsg is one message line of a file in testdata/captures (the
// format is described in testdata/captures/README.md).
type capturedMsg struct {
	file, conn string
	line       int
	fromServer bool
	raw        []byte
}

func loadCaptures(t testing.TB) []capturedMsg {
	t.Helper()
	files, err := filepath.Glob("testdata/captures/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures found: %v", err)
	}
	var msgs []capturedMsg
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			if line == "" || line[0] == '#' {
				continue
			}
			if i := strings.IndexByte(line, '#'); i >= 0 {
				line = line[:i]
			}
			fs := strings.Fields(line)
			if len(fs) != 3 {
				t.Fatalf("%s:%d: want 3 fields, got %d", file, n, len(fs))
			}
			raw, err := hex.DecodeString(fs[2])
			if err != nil {
				t.Fatalf("%s:%d: %v", file, n, err)
			}
			msgs = append(msgs, capturedMsg{file: filepath.Base(file), conn: fs[1], line: n, fromServer: fs[0] == "<", raw: raw})
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return msgs
}

// TestCapturesRoundTrip decodes every captured message and its blobmsg
// contents and encodes both again to the same bytes.
func TestCapturesRoundTrip(t *testing.T) {
	msgs := loadCaptures(t)
	if len(msgs) != 320 {
		t.Errorf("got %d captured messages, the README promises 320", len(msgs))
	}
	for _, c := range msgs {
		m, err := ParseMessage(c.raw)
		if err != nil {
			t.Errorf("%s:%d: parse: %v", c.file, c.line, err)
			continue
		}
		out, err := m.Marshal()
		if err != nil || !bytes.Equal(out, c.raw) {
			t.Errorf("%s:%d: re-encode differs (err %v)\n got %x\nwant %x", c.file, c.line, err, out, c.raw)
		}
		m2, err := ReadMessage(bytes.NewReader(c.raw))
		if err != nil || m2.Type != m.Type {
			t.Errorf("%s:%d: ReadMessage: %v", c.file, c.line, err)
		}
		for _, a := range m.Attrs {
			isTable := a.ID == AttrData || a.ID == AttrSignature
			if m.Type == MsgMonitor {
				isTable = false // monitor attrs are numbered differently
			}
			if !isTable {
				continue
			}
			tbl, err := DecodeTable(a.Data)
			if err != nil {
				t.Errorf("%s:%d: attr %d: %v", c.file, c.line, a.ID, err)
				continue
			}
			enc, err := EncodeTable(tbl)
			if err != nil || !bytes.Equal(enc, a.Data) {
				t.Errorf("%s:%d: attr %d re-encode differs (err %v)\n got %x\nwant %x", c.file, c.line, a.ID, err, enc, a.Data)
			}
		}
	}
}

// TestCaptureValues spot-checks decoded values of the all-types INVOKE.
func TestCaptureValues(t *testing.T) {
	var inv *Message
	for _, c := range loadCaptures(t) {
		if c.file == "02-call-all-types.txt" && c.conn == "c1" && !c.fromServer {
			m, err := ParseMessage(c.raw)
			if err != nil {
				t.Fatal(err)
			}
			if m.Type == MsgInvoke {
				inv = m
			}
		}
	}
	if inv == nil {
		t.Fatal("INVOKE not found in 02-call-all-types.txt")
	}
	if method, _ := inv.String(AttrMethod); method != "echo" {
		t.Errorf("method = %q", method)
	}
	tbl, ok, err := inv.Data()
	if !ok || err != nil {
		t.Fatalf("data: %v %v", ok, err)
	}
	want := `{"s":"hello","i":-42,"l":4294967296,"b":true,"d":2.5,"a":[1,"two",false,-0.125,{"k":"v"},[],2147483648],"t":{"x":1,"inner":{"y":"z"}},"e":{}}`
	if got := string(tbl.JSON()); got != want {
		t.Errorf("JSON\n got %s\nwant %s", got, want)
	}
	if v, _ := tbl.Get("l"); v != int64(4294967296) {
		t.Errorf("l = %#v, want int64", v)
	}
	if v, _ := tbl.Get("d"); v != 2.5 {
		t.Errorf("d = %#v", v)
	}
	if v, _ := tbl.Get("i"); v != int32(-42) {
		t.Errorf("i = %#v", v)
	}
	// The CLI built this DATA from JSON: ParseJSON must give the same bytes.
	parsed, err := ParseJSON([]byte(want))
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := EncodeTable(parsed)
	raw, _ := inv.Attr(AttrData)
	if !bytes.Equal(enc, raw) {
		t.Errorf("ParseJSON encoding differs from the ubus CLI's\n got %x\nwant %x", enc, raw)
	}
}
