package wire

import (
	"errors"
	"reflect"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, m := range []any{
		&Hello{Index: 7, Instance: 1 << 60, Name: "r1", Version: "1.0", MaxFrame: 1518},
		&Ping{Seq: 3, Time: 12345},
		&Pong{Seq: 3, Time: -1},
		&Bye{Reason: "shutdown"},
		&Bye{},
		&JoinHello{Version: "1"},
		&JoinInfo{Group: "home", CACert: []byte{1, 2, 3}},
		&JoinRequest{Request: []byte{4}},
		&JoinReply{Error: "invite used"},
		&JoinReply{Result: []byte{5}},
		&JoinForward{ID: 9, Request: []byte{1}, Binding: []byte{2}},
		&JoinResult{ID: 9, Result: []byte{3}},
		&CRL{CRL: []byte{0x30, 0}},
		&Renew{ID: 1},
		&Renewed{ID: 1, Cert: []byte{0x30}},
		&Announce{Candidates: []string{"192.168.1.2:6464"}},
		&Query{NodeID: "0011223344556677"},
		&QueryReply{NodeID: "0011223344556677", Found: true, Name: "r2", Candidates: []string{"1.2.3.4:5"}, Relayed: []string{"5.6.7.8:9"}},
		&PunchRequest{Target: "0011223344556677"},
		&Punch{NodeID: "0011223344556677", Candidates: []string{"1.2.3.4:5"}},
		&Hello{Index: 1, Roles: RoleLighthouse | RoleRelay},
	} {
		b, err := Marshal(m)
		if err != nil {
			t.Fatalf("marshal %T: %v", m, err)
		}
		got, err := Unmarshal(b)
		if err != nil {
			t.Fatalf("unmarshal %T: %v", m, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("round trip: got %#v, want %#v", got, m)
		}
	}
}

func TestUnmarshalErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"unknown type", []byte{99, 0xa0}, ErrUnknownType},
		{"too large", make([]byte, MaxMessageSize+1), ErrTooLarge},
	}
	for _, tt := range tests {
		if _, err := Unmarshal(tt.in); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	for _, bad := range [][]byte{
		{byte(TypeHello)},                       // no body
		{byte(TypeHello), 0xff},                 // break outside indefinite item
		{byte(TypePing), 0xa1, 0x01, 0x61, 'x'}, // wrong field type
		{byte(TypeBye), 0xa1, 0x09, 0x00},       // unknown field
	} {
		if _, err := Unmarshal(bad); err == nil {
			t.Errorf("Unmarshal(%x) succeeded, want error", bad)
		}
	}
}

func TestMarshalRejectsOtherTypes(t *testing.T) {
	if _, err := Marshal(42); err == nil {
		t.Fatal("Marshal(int) succeeded")
	}
}

func FuzzUnmarshal(f *testing.F) {
	for _, m := range []any{&Hello{Index: 1, Instance: 2, Name: "x"}, &Ping{Seq: 1}, &Pong{}, &Bye{Reason: "r"},
		&Announce{Candidates: []string{"192.0.2.1:6464"}, Relayed: []string{"203.0.113.5:50000"}},
		&Query{NodeID: "0011223344556677"},
		&QueryReply{NodeID: "0011223344556677", Found: true, Name: "r2", Candidates: []string{"1.2.3.4:5"}, Relayed: []string{"5.6.7.8:9"}},
		&Punch{NodeID: "0011223344556677", Candidates: []string{"1.2.3.4:5"}}} {
		b, _ := Marshal(m)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Unmarshal(b)
		if err != nil {
			return
		}
		// Whatever decodes must encode again and decode to the same value.
		b2, err := Marshal(m)
		if err != nil {
			t.Fatalf("re-marshal %#v: %v", m, err)
		}
		m2, err := Unmarshal(b2)
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip: %#v -> %#v (%v)", m, m2, err)
		}
	})
}
