package wire

import (
	"encoding/hex"
	"math"
	"reflect"
	"testing"
)

// goldenMessages hold what Marshal wrote with github.com/fxamacker/cbor/v2
// v2.9.6 (CoreDetEncOptions) before ipopd switched to internal/cbor: old
// and new peers must exchange the same bytes.
var goldenMessages = []struct {
	name string
	m    any
	hex  string
}{
	{"hello", &Hello{Index: 7, Instance: 1 << 60, Name: "r1", Version: "1.0", MaxFrame: 1518, Roles: RoleLighthouse | RoleRelay}, "01a60107021b1000000000000000036272310463312e30051905ee0603"},
	{"hello minimal", &Hello{}, "01a201000200"},
	{"ping", &Ping{Seq: 3, Time: 12345}, "02a2010302193039"},
	{"ping negative time", &Ping{Seq: math.MaxUint64, Time: math.MinInt64}, "02a2011bffffffffffffffff023b7fffffffffffffff"},
	{"pong", &Pong{Seq: 24, Time: -1}, "03a20118180220"},
	{"bye", &Bye{Reason: "shutdown"}, "04a1016873687574646f776e"},
	{"bye empty", &Bye{}, "04a0"},
	{"join hello", &JoinHello{Version: "1"}, "0aa1016131"},
	{"join info", &JoinInfo{Group: "home", CACert: []byte{1, 2, 3}}, "0ba20164686f6d650243010203"},
	{"join info nil cert", &JoinInfo{Group: "home"}, "0ba20164686f6d6502f6"},
	{"join info empty cert", &JoinInfo{CACert: []byte{}}, "0ba201600240"},
	{"join request", &JoinRequest{Request: []byte{4}}, "0ca1014104"},
	{"join reply error", &JoinReply{Error: "invite used"}, "0da1026b696e766974652075736564"},
	{"join reply result", &JoinReply{Result: []byte{5}}, "0da1014105"},
	{"join forward", &JoinForward{ID: 9, Request: []byte{1}, Binding: []byte{2}}, "14a30109024101034102"},
	{"join result", &JoinResult{ID: 9, Result: []byte{3}}, "15a20109024103"},
	{"join result error", &JoinResult{ID: 300, Error: "no"}, "15a20119012c03626e6f"},
	{"crl", &CRL{CRL: []byte{0x30, 0}}, "16a101423000"},
	{"renew", &Renew{ID: 1}, "17a10101"},
	{"renewed", &Renewed{ID: 1, Cert: []byte{0x30}}, "18a20101024130"},
	{"renewed error", &Renewed{ID: 65536, Error: "revoked"}, "18a2011a0001000003677265766f6b6564"},
	{"announce", &Announce{Candidates: []string{"192.168.1.2:6464", "[fe80::1]:6464"}}, "1ea10182703139322e3136382e312e323a363436346e5b666538303a3a315d3a36343634"},
	{"announce none", &Announce{}, "1ea0"},
	{"query", &Query{NodeID: "0011223344556677"}, "22a1017030303131323233333434353536363737"},
	{"query reply not found", &QueryReply{NodeID: "0011223344556677"}, "23a1017030303131323233333434353536363737"},
	{"query reply", &QueryReply{NodeID: "0011223344556677", Found: true, Name: "r2", Candidates: []string{"1.2.3.4:5"}, Relayed: []string{"5.6.7.8:9"}}, "23a501703030313132323333343435353636373702f503627232048169312e322e332e343a35058169352e362e372e383a39"},
	{"punch request", &PunchRequest{Target: "0011223344556677"}, "20a1017030303131323233333434353536363737"},
	{"punch", &Punch{NodeID: "0011223344556677", Candidates: []string{"1.2.3.4:5"}}, "21a2017030303131323233333434353536363737028169312e322e332e343a35"},
	{"hello by value", Hello{Index: 1}, "01a201010200"},
}

func TestGoldenMessages(t *testing.T) {
	for _, tc := range goldenMessages {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Marshal(tc.m)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(b); got != tc.hex {
				t.Fatalf("Marshal = %s\nwant      %s", got, tc.hex)
			}
			back, err := Unmarshal(b)
			if err != nil {
				t.Fatal(err)
			}
			want := reflect.ValueOf(tc.m)
			if want.Kind() == reflect.Pointer {
				want = want.Elem()
			}
			if got := reflect.ValueOf(back).Elem().Interface(); !reflect.DeepEqual(got, want.Interface()) {
				t.Fatalf("Unmarshal = %#v, want %#v", got, want.Interface())
			}
		})
	}
}
