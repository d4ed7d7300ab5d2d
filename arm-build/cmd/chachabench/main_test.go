package main

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	tests := []struct {
		args    []string
		wantOut string
		wantErr error
	}{
		{[]string{"-n", "2", "-size", "1400"}, "ipopd, 2 records of 1400 bytes", nil},
		{[]string{"-impl", "xcrypto", "-n", "1", "-size", "64"}, "xcrypto, 1 records of 64 bytes", nil},
		{[]string{"-n", "3", "-size", "77", "-offset", "13"}, "ipopd, 3 records of 77 bytes", nil},
		{[]string{"-size", "0"}, "ipopd, 10 records of 0 bytes", nil},
		{[]string{"-impl", "aes"}, "", errUsage},
		{[]string{"-n", "-1"}, "", errUsage},
		{[]string{"-size", "70000"}, "", errUsage},
		{[]string{"-offset", "64"}, "", errUsage},
		{[]string{"extra"}, "", errUsage},
	}
	for _, tt := range tests {
		var out strings.Builder
		err := run(tt.args, &out, io.Discard)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("%q: error %v, want %v", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if !strings.Contains(out.String(), tt.wantOut) {
			t.Errorf("%q: output %q, want it to contain %q", tt.args, out.String(), tt.wantOut)
		}
	}
}
