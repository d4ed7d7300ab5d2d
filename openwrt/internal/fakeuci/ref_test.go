package fakeuci

import (
	"errors"
	"testing"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		in   string
		want Ref
		err  bool
	}{
		{in: "network", want: Ref{Config: "network"}},
		{in: "network.lan", want: Ref{Config: "network", Section: "lan"}},
		{in: "network.lan.proto", want: Ref{Config: "network", Section: "lan", Option: "proto"}},
		{in: "network.ipop=interface", want: Ref{Config: "network", Section: "ipop", Value: "interface", HasValue: true}},
		{in: "firewall.@zone[-1].name=a.b=c", want: Ref{Config: "firewall", Section: "@zone[-1]", Option: "name", Value: "a.b=c", HasValue: true}},
		{in: "luci-app.x.y=", want: Ref{Config: "luci-app", Section: "x", Option: "y", HasValue: true}},
		{in: "", err: true},
		{in: ".lan", err: true},
		{in: "a.b.c.d", err: true},
		{in: "a=b", err: true},
		{in: "a.b-c", err: true},
		{in: "a.@zone[x]", err: true},
		{in: "a.@zone[]", err: true},
		{in: "a.@zone[1", err: true},
		{in: "a.b.c-d", err: true},
		{in: "a.b.c=\x00", err: true},
	}
	for _, tt := range tests {
		got, err := ParseRef(tt.in)
		if tt.err {
			if !errors.Is(err, ErrInvalidRef) {
				t.Errorf("ParseRef(%q) error = %v, want ErrInvalidRef", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}
