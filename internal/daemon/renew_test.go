package daemon

import (
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/transport"
)

// TestRenewal: certificates in the last third of their life are renewed
// by the running members - the owner signs its own, a member asks the
// owner over its session - and new handshakes use the new ones.
func TestRenewal(t *testing.T) {
	issued := time.Now().Add(-300 * 24 * time.Hour) // a year's certificate, 65 days left
	ms := startMembersIssued(t, 2, issued, nil)
	owner, member := ms[0], ms[1]
	// Certificates live a year: issued 300 days ago, they end 65 days from
	// now unless renewed. (Run starts with a renewal check, so the owner's
	// may be renewed already; the calls below are the periodic check.)
	oldOwner := issued.Add(366 * 24 * time.Hour)
	oldMember := oldOwner
	owner.d.maybeRenew()
	member.d.maybeRenew()
	if got := owner.d.groupState().NodeCert.NotAfter; !got.After(oldOwner.Add(24 * time.Hour)) {
		t.Fatalf("owner's certificate not renewed: valid until %v (was %v)", got, oldOwner)
	}
	if got := member.d.groupState().NodeCert.NotAfter; !got.After(oldMember.Add(24 * time.Hour)) {
		t.Fatalf("member's certificate not renewed: valid until %v (was %v)", got, oldMember)
	}
	// The renewed certificates work in new handshakes.
	member.d.member().tr.DropIf(func(transport.Identity) bool { return true }, "test")
	eventually(t, "a new session with the renewed certificates", func() bool {
		return len(member.d.member().tr.UpPeers()) == 1
	})
	id, _ := member.d.member().tr.UpPeers()[0].Identity()
	cert, err := id.Certificate()
	if err != nil {
		t.Fatal(err)
	}
	if !cert.NotAfter.After(oldOwner.Add(24 * time.Hour)) {
		t.Fatalf("the owner still shows its old certificate (valid until %v)", cert.NotAfter)
	}
}
