package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "qemu.log")
	if err := os.WriteFile(path, []byte(sampleLog()), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run([]string{"-from", "main.sealOpen", "-to", "main.run", path}, nil, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "22 4 1\n" {
		t.Errorf("file: output %q", out.String())
	}
	out.Reset()
	if err := run([]string{"-from", "main.sealOpen", "-to", "main.run", "-detour="}, strings.NewReader(sampleLog()), &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "61 5 0\n" {
		t.Errorf("stdin: output %q", out.String())
	}
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		args []string
		want error
		text string
	}{
		{[]string{"-to", "main.run"}, errUsage, "-from and -to are required"},
		{[]string{"-from", "a", "-to", "b", "-cpu", "-1"}, errUsage, "-cpu -1 is negative"},
		{[]string{"-from", "a", "-to", "b", "x", "y"}, errUsage, `one log file at most, got ["x" "y"]`},
		{[]string{"-from", "a", "-to", "b", "/nonexistent/log"}, os.ErrNotExist, "/nonexistent/log"},
		{[]string{"-cpu", "one"}, nil, `invalid value "one" for flag -cpu`},
	}
	for _, tc := range tests {
		err := run(tc.args, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil {
			t.Errorf("%q: no error", tc.args)
			continue
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%q: %v is not %v", tc.args, err, tc.want)
		}
		if !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%q: %q does not say %q", tc.args, err, tc.text)
		}
	}
	var stderr bytes.Buffer
	if err := run([]string{"-h"}, nil, &bytes.Buffer{}, &stderr); err != nil || !strings.Contains(stderr.String(), "usage: insncount") {
		t.Errorf("-h: %v, %q", err, stderr.String())
	}
}
