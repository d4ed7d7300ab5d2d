package scale

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/group"
)

// TestProvisionerPastThePools: Issue serves while pool slices last (255 in
// any subnet, one the owner's), then minted bundles install and verify like
// issued ones.
func TestProvisionerPastThePools(t *testing.T) {
	if testing.Short() {
		t.Skip("issues 260 certificates")
	}
	dir := t.TempDir()
	now := time.Now()
	none := func() ([]netip.Prefix, error) { return nil, nil }
	owner, err := group.Create(filepath.Join(dir, "m0"), group.CreateOptions{Name: "big", Subnet: netip.MustParsePrefix("10.64.0.0/12"), NodeName: "m0", Now: now, LocalPrefixes: none})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProvisioner(owner)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[netip.Addr]bool{owner.Address: true}
	var last *group.State
	for n := 1; n <= 260; n++ {
		b, err := p.Bundle(fmt.Sprintf("m%d", n), n, now)
		if err != nil {
			t.Fatalf("member %d: %v", n, err)
		}
		st, err := group.Install(filepath.Join(dir, fmt.Sprintf("m%d", n)), b, group.InstallOptions{Now: now, LocalPrefixes: none})
		if err != nil {
			t.Fatalf("member %d: install: %v", n, err)
		}
		if seen[st.Address] {
			t.Fatalf("member %d: address %s given twice", n, st.Address)
		}
		seen[st.Address] = true
		last = st
	}
	if p.FullAt != 255 || p.Issued != 254 || p.Minted != 6 {
		t.Fatalf("full at %d, issued %d, minted %d", p.FullAt, p.Issued, p.Minted)
	}
	// A minted member's certificate passes the group check.
	if _, err := owner.VerifyPeer([][]byte{last.NodeCert.Raw}, now); err != nil {
		t.Fatalf("minted certificate refused: %v", err)
	}
}
