package daemon

import (
	"testing"

	"github.com/ipopd/ipopd/internal/offload"
	"github.com/ipopd/ipopd/internal/overlay"
	"github.com/ipopd/ipopd/internal/transport"
)

// TestReceiveFloodAllocs: taking a reflected flood in (learn the MAC on
// its origin, the origin's limiter, flood_allow, the device) allocates
// nothing once the origin is known.
func TestReceiveFloodAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	s := &sw{
		macs:     overlay.NewMACTable[*node](0, 0),
		guardsIn: overlay.NewGuards(overlay.GuardConfig{DHCP: true, RA: true}),
		gro:      offload.NewCoalescer(func(b []byte) (int, error) { return len(b), nil }),
	}
	s.floodRate.Store(&[2]int{0, 0})
	s.nodes.rate = func() [2]int { return *s.floodRate.Load() }
	if err := s.setFloodAllow([]string{"224.0.0.251"}); err != nil {
		t.Fatal(err)
	}
	lh := &transport.Peer{NodeID: "00000000000000aa"}
	s.newPeerState(lh)
	bcast := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	f := frame(bcast, mac(1), "x")
	via := transport.Via{Kind: transport.FrameReflected, Origin: 0xbb}
	s.receiveFlood(lh, f, via)
	if a := testing.AllocsPerRun(200, func() { s.receiveFlood(lh, f, via); s.flushGRO() }); a != 0 {
		t.Fatalf("receiveFlood allocates %v times per frame", a)
	}
	if n, ok := s.macs.Lookup(mac(1), s.now()); !ok || n.id != "00000000000000bb" {
		t.Fatalf("mac(1) learned on %+v, want the origin", n)
	}
}
