package daemon

import (
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/group"
	"github.com/ipopd/ipopd/internal/transport"
)

// peerName is the name member d shows for node id.
func peerName(d *Daemon, id string) string {
	for _, p := range d.controlPeers() {
		if p.NodeID == id {
			return p.Name
		}
	}
	return ""
}

// TestRenameReachesMember: the owner renames a member that is online; the
// member gets its new certificate over its link at once, installs it
// (state on disk too), and the owner and the other member show the new
// name without the links going down. A member renamed while the owner
// was not told (offline CLI) gets it when its link next comes up.
func TestRenameReachesMember(t *testing.T) {
	ms := startMembers(t, 3)
	owner, m1, m2 := ms[0], ms[1], ms[2]
	id1 := m1.d.groupState().NodeID
	reply, err := owner.d.Rename("m1", "garage")
	if err != nil {
		t.Fatal(err)
	}
	if reply.OldName != "m1" || reply.NewName != "garage" || reply.NodeID != id1 || !reply.Delivered {
		t.Fatalf("reply %+v", reply)
	}
	eventually(t, "m1 installs its new name", func() bool { return m1.d.groupState().NodeName == "garage" })
	if l, err := group.Load(m1.d.opts.StateDir); err != nil || l.NodeName != "garage" {
		t.Fatalf("m1's state on disk: %v, %v", l, err)
	}
	eventually(t, "the owner and m2 show m1 as garage", func() bool {
		return peerName(owner.d, id1) == "garage" && peerName(m2.d, id1) == "garage"
	})
	if st := m1.d.controlStatus(); st.Name != "garage" {
		t.Errorf("m1 status name %q", st.Name)
	}
	for _, m := range ms {
		for _, p := range m.d.controlPeers() {
			if p.State != "up" {
				t.Errorf("%s: peer %s is %s after the rename", m.name, p.Name, p.State)
			}
		}
	}
	// The old name is free again.
	allocs, err := owner.d.groupState().Allocations()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range allocs {
		if a.Name == "m1" {
			t.Errorf("m1 still allocated: %+v", a)
		}
	}

	// Renamed behind the daemon's back, as 'ipopd rename' does with no
	// daemon running; the daemon learns it from the state when it starts
	// (here: told directly). m2's next session brings the certificate.
	id2 := m2.d.groupState().NodeID
	if _, err := owner.d.groupState().Rename("m2", "attic", time.Now()); err != nil {
		t.Fatal(err)
	}
	owner.d.ren.set(id2, true)
	m2.d.member().tr.DropIf(func(id transport.Identity) bool { return id.NodeID == owner.d.groupState().NodeID }, "test")
	eventually(t, "m2 gets its new name when its link comes up", func() bool { return m2.d.groupState().NodeName == "attic" })
	eventually(t, "the owner shows m2 as attic", func() bool { return peerName(owner.d, id2) == "attic" })
	eventually(t, "m1 shows m2 as attic", func() bool { return peerName(m1.d, id2) == "attic" })

	// The owner renames itself: the members see it at once.
	ownerID := owner.d.groupState().NodeID
	if r, err := owner.d.Rename(ownerID, "gateway"); err != nil || !r.Delivered {
		t.Fatalf("owner renames itself: %+v %v", r, err)
	}
	if owner.d.groupState().NodeName != "gateway" {
		t.Fatalf("owner's state says %q", owner.d.groupState().NodeName)
	}
	eventually(t, "m1 and m2 show the owner as gateway", func() bool {
		return peerName(m1.d, ownerID) == "gateway" && peerName(m2.d, ownerID) == "gateway"
	})
}
