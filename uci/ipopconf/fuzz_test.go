package ipopconf

import (
	"errors"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"testing"

	"github.com/ipopd/ipopd/uci"
)

// FuzzLoad checks that reading a config never panics, that what FromFile
// accepts validates, and that update writes a Config so that it reads back
// the same. The committed corpus is in testdata/fuzz/FuzzLoad.
func FuzzLoad(f *testing.F) {
	if data, err := os.ReadFile(shipped); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := uci.Parse("fuzz", data)
		if err != nil {
			return
		}
		c, err := FromFile(file)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("FromFile accepted a config that Validate rejects: %v", err)
		}
		roundTrip(t, file, c)

		m := c
		m.ListenPort = m.ListenPort%65535 + 1
		m.Endpoints = append(slices.Clone(m.Endpoints), "[::1]:5", "x.example:6")
		m.Bridge = ""
		m.LogLevel = slog.LevelDebug
		m.Enabled = !m.Enabled
		m.GOGC = GOGCOff
		roundTrip(t, file, m)
	})
}

// roundTrip writes c into file and checks that it reads back unchanged.
func roundTrip(t *testing.T, file *uci.File, c Config) {
	t.Helper()
	if err := update(file, c); err != nil {
		t.Fatalf("update: %v", err)
	}
	g, err := uci.Parse("again", file.Bytes())
	if err != nil {
		t.Fatalf("updated file does not parse: %v\n%s", err, file.Bytes())
	}
	got, err := FromFile(g)
	if err != nil {
		t.Fatalf("updated file does not load: %v\n%s", err, file.Bytes())
	}
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("updated file loads as\n%+v\nwant\n%+v\n%s", got, c, file.Bytes())
	}
}
