package main

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseInterleaved(t *testing.T) {
	tests := []struct {
		args      []string
		wantPos   []string
		wantState string
	}{
		{[]string{"FILE", "--state", "/x"}, []string{"FILE"}, "/x"},
		{[]string{"--state", "/x", "FILE"}, []string{"FILE"}, "/x"},
		{[]string{"--state=/x", "A", "B"}, []string{"A", "B"}, "/x"},
		{[]string{"A", "--", "--state"}, []string{"A", "--state"}, defaultState},
		{nil, nil, defaultState},
	}
	for _, tt := range tests {
		c := newCommand("group install", "FILE", "")
		_, state := commonFlags(c)
		pos, err := c.parse(tt.args)
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if !reflect.DeepEqual(pos, tt.wantPos) || *state != tt.wantState {
			t.Errorf("%v: pos %q state %q, want %q %q", tt.args, pos, *state, tt.wantPos, tt.wantState)
		}
	}
}

func TestParseErrors(t *testing.T) {
	c := newCommand("x", "", "")
	commonFlags(c)
	var ue usageError
	if _, err := c.parse([]string{"--nosuch"}); !errors.As(err, &ue) {
		t.Errorf("unknown flag: err = %v, want usageError", err)
	}
	if _, err := c.parse([]string{"--state"}); !errors.As(err, &ue) {
		t.Errorf("missing value: err = %v, want usageError", err)
	}
}
