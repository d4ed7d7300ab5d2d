package group

import (
	"bytes"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// joinAs joins with tok proposing name and returns the installed state.
func joinAs(t *testing.T, owner *State, tok Token, name string) *State {
	t.Helper()
	req, key := joinRequest(t, tok, name, testBinding)
	res, err := owner.AcceptJoin(req, testBinding, testNow)
	if err != nil {
		t.Fatalf("AcceptJoin(%q): %v", name, err)
	}
	s, err := InstallJoined(filepath.Join(t.TempDir(), "state"), key, res, tok, InstallOptions{Now: testNow, LocalPrefixes: testLocal})
	if err != nil {
		t.Fatalf("InstallJoined(%q): %v", name, err)
	}
	if res.Name() != s.NodeName {
		t.Errorf("JoinResult.Name() = %q, installed %q", res.Name(), s.NodeName)
	}
	return s
}

// TestJoinSameHostName: routers that all call themselves "OpenWrt" join
// one after the other and get OpenWrt, OpenWrt-2, OpenWrt-3; case does
// not make a name different.
func TestJoinSameHostName(t *testing.T) {
	owner := newOwner(t, "home")
	var got []string
	for _, proposal := range []string{"OpenWrt", "OpenWrt", "openwrt", "OpenWrt-2"} {
		s := joinAs(t, owner, newInvite(t, owner, InviteOptions{}), proposal)
		got = append(got, s.NodeName)
	}
	want := []string{"OpenWrt", "OpenWrt-2", "openwrt-3", "OpenWrt-2-2"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("names %q, want %q", got, want)
	}
	// The owner's own name is taken too.
	if s := joinAs(t, owner, newInvite(t, owner, InviteOptions{}), "OWNER"); s.NodeName != "OWNER-2" {
		t.Errorf("proposal OWNER got %q", s.NodeName)
	}
	allocs, err := owner.Allocations()
	if err != nil {
		t.Fatal(err)
	}
	if len(allocs) != 6 || allocs[2].Name != "OpenWrt-2" || allocs[2].Address != netip.MustParseAddr("10.77.0.3") {
		t.Errorf("allocations %+v", allocs)
	}
}

// TestJoinNameHintWins: the name the owner put in the invite beats the
// joiner's host name, and is reserved for that invite while it is usable.
func TestJoinNameHintWins(t *testing.T) {
	owner := newOwner(t, "home")
	cabin := newInvite(t, owner, InviteOptions{NameHint: "cabin"})
	// Another router proposing "cabin" meanwhile does not get it.
	if s := joinAs(t, owner, newInvite(t, owner, InviteOptions{}), "cabin"); s.NodeName != "cabin-2" {
		t.Errorf("proposal cabin while reserved got %q", s.NodeName)
	}
	if s := joinAs(t, owner, cabin, "OpenWrt"); s.NodeName != "cabin" {
		t.Errorf("invite named cabin gave %q", s.NodeName)
	}
	// A name hint for several routers numbers them.
	lab := newInvite(t, owner, InviteOptions{NameHint: "lab", Uses: 3})
	var got []string
	for range 3 {
		got = append(got, joinAs(t, owner, lab, "raspberrypi").NodeName)
	}
	if strings.Join(got, " ") != "lab lab-2 lab-3" {
		t.Errorf("multi-use invite named lab gave %q", got)
	}
	// The owner cannot hand out a name twice.
	_, err := owner.CreateInvite(InviteOptions{NameHint: "CABIN", Endpoints: testEndpoints, Now: testNow})
	wantErr(t, err, ErrNameTaken, `the name "CABIN" is taken (member "cabin"`)
	shed := newInvite(t, owner, InviteOptions{NameHint: "shed"})
	_, err = owner.CreateInvite(InviteOptions{NameHint: "shed", Endpoints: testEndpoints, Now: testNow})
	wantErr(t, err, ErrNameTaken, "reserved by invite "+shed.IDString())
	_, err = owner.Issue("shed", netip.Addr{}, testNow)
	wantErr(t, err, ErrNameTaken, `node name "shed" is reserved by invite `+shed.IDString()+"; cancel it with 'ipopd invite --cancel")
	_, err = owner.Issue("cabin", netip.Addr{}, testNow)
	wantErr(t, err, ErrNameTaken, "choose another name, or rename that member first (ipopd rename cabin NEWNAME)")
	// Once the invite is cancelled (or expires), the name is free.
	if err := owner.CancelInvite(shed.IDString()); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Issue("shed", netip.Addr{}, testNow); err != nil {
		t.Errorf("Issue(shed) after cancelling its invite: %v", err)
	}
	late := newInvite(t, owner, InviteOptions{NameHint: "late", TTL: time.Hour})
	if _, err := owner.Issue("late", netip.Addr{}, testNow.Add(2*time.Hour)); err != nil {
		t.Errorf("Issue(late) after its invite %s expired: %v", late.IDString(), err)
	}
}

// TestJoinRetryKeepsGivenName: a joiner that lost the answer asks again
// with its proposal and gets the name it was given, not a new suffix.
func TestJoinRetryKeepsGivenName(t *testing.T) {
	owner := newOwner(t, "home")
	joinAs(t, owner, newInvite(t, owner, InviteOptions{}), "OpenWrt")
	tok := newInvite(t, owner, InviteOptions{})
	req, _ := joinRequest(t, tok, "OpenWrt", testBinding)
	first, err := owner.AcceptJoin(req, testBinding, testNow)
	if err != nil {
		t.Fatal(err)
	}
	again, err := owner.AcceptJoin(req, testBinding, testNow.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if first.Name() != "OpenWrt-2" || !bytes.Equal(first.NodeCert, again.NodeCert) {
		t.Errorf("first %q, retry %q (same certificate: %t)", first.Name(), again.Name(), bytes.Equal(first.NodeCert, again.NodeCert))
	}
}

func TestUniqueName(t *testing.T) {
	long := strings.Repeat("a", MaxNameLen)
	tests := []struct {
		base  string
		taken []string
		want  string
	}{
		{"OpenWrt", nil, "OpenWrt"},
		{"OpenWrt", []string{"openwrt"}, "OpenWrt-2"},
		{"OpenWrt", []string{"OpenWrt", "OpenWrt-2", "OPENWRT-3"}, "OpenWrt-4"},
		{"OpenWrt", []string{"OpenWrt", "OpenWrt-3"}, "OpenWrt-2"},
		{long, []string{long}, long[:MaxNameLen-2] + "-2"},
		{long, append([]string{long}, func() []string {
			var l []string
			for n := 2; n <= 9; n++ {
				l = append(l, long[:MaxNameLen-2]+"-"+string(rune('0'+n)))
			}
			return l
		}()...), long[:MaxNameLen-3] + "-10"},
	}
	for _, tt := range tests {
		got := uniqueName(tt.base, func(n string) bool {
			for _, x := range tt.taken {
				if strings.EqualFold(x, n) {
					return true
				}
			}
			return false
		})
		if got != tt.want {
			t.Errorf("uniqueName(%q, %q) = %q, want %q", shorten(tt.base), tt.taken, got, tt.want)
		}
		if err := ValidateName(got); err != nil {
			t.Errorf("uniqueName(%q) = invalid %q: %v", shorten(tt.base), got, err)
		}
	}
}
