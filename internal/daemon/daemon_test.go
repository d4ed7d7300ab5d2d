package daemon

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/group"
	"github.com/ipopd/ipopd/internal/netsim"
	"github.com/ipopd/ipopd/internal/offload"
	"github.com/ipopd/ipopd/uci/ipopconf"
)

// fakeDevice is a TAP stand-in: frames written to in are read by the
// switch; frames the switch writes are collected.
type fakeDevice struct {
	in     chan []byte
	raw    chan []byte // frames that bring their own virtio-net header (TSO)
	closed chan struct{}
	once   sync.Once
	mu     sync.Mutex
	out    [][]byte
}

func newFakeDevice() *fakeDevice {
	return &fakeDevice{in: make(chan []byte, 64), raw: make(chan []byte, 64), closed: make(chan struct{})}
}

// ReadBatch and Write speak the TAP's virtio-net header: an empty one
// in, stripped out (the test frames are never TCP, so none is glued).
// Like the TAP, ReadBatch waits for one frame and takes what else is
// queued.
func (d *fakeDevice) ReadBatch(buf []byte, ends []int) (int, error) {
	put := func(at int, f []byte) int {
		clear(buf[at : at+offload.HdrLen])
		return at + offload.HdrLen + copy(buf[at+offload.HdrLen:], f)
	}
	var n int
	select {
	case f := <-d.in:
		n = put(0, f)
	case f := <-d.raw:
		n = copy(buf, f)
	case <-d.closed:
		return 0, os.ErrClosed
	}
	ends[0] = n
	k := 1
	for k < len(ends) && len(buf)-n >= offload.HdrLen+offload.MaxFrame {
		select {
		case f := <-d.in:
			n = put(n, f)
		case f := <-d.raw:
			n += copy(buf[n:], f)
		default:
			return k, nil
		}
		ends[k] = n
		k++
	}
	return k, nil
}

func (d *fakeDevice) Write(b []byte) (int, error) {
	d.mu.Lock()
	d.out = append(d.out, append([]byte(nil), b[offload.HdrLen:]...))
	d.mu.Unlock()
	return len(b), nil
}

func (d *fakeDevice) Close() error {
	d.once.Do(func() { close(d.closed) })
	return nil
}

// got returns the frames written so far with the given payload marker.
func (d *fakeDevice) got(marker []byte) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, f := range d.out {
		if bytes.Contains(f, marker) {
			n++
		}
	}
	return n
}

type testMember struct {
	name string
	d    *Daemon
	dev  *fakeDevice
	addr netip.AddrPort
	done chan error
	net  *netsim.Network // shared by the group
}

var noPrefixes = func() ([]netip.Prefix, error) { return nil, nil }

// startMembers provisions a group of n members and runs them in-process on
// a simulated network, each with every other as an endpoint.
func startMembers(t *testing.T, n int) []*testMember {
	t.Helper()
	return startMembersWith(t, n, nil)
}

func startMembersWith(t *testing.T, n int, mod func(i int, c *ipopconf.Config)) []*testMember {
	t.Helper()
	return startMembersIssued(t, n, time.Now(), mod)
}

// startMembersIssued is startMembersWith with every certificate issued at
// issued (in the past, to test renewal).
func startMembersIssued(t *testing.T, n int, issued time.Time, mod func(i int, c *ipopconf.Config)) []*testMember {
	t.Helper()
	dir := t.TempDir()
	now := issued
	owner, err := group.Create(filepath.Join(dir, "m0"), group.CreateOptions{Name: "sim", NodeName: "m0", Now: now, LocalPrefixes: noPrefixes})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < n; i++ {
		b, err := owner.Issue(fmt.Sprintf("m%d", i), netip.Addr{}, now)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := group.Install(filepath.Join(dir, fmt.Sprintf("m%d", i)), b, group.InstallOptions{Now: now, LocalPrefixes: noPrefixes}); err != nil {
			t.Fatal(err)
		}
	}
	net := netsim.New()
	var ms []*testMember
	for i := 0; i < n; i++ {
		ms = append(ms, &testMember{name: fmt.Sprintf("m%d", i), addr: netip.MustParseAddrPort(fmt.Sprintf("10.0.0.%d:6464", i+1)), net: net})
	}
	ctx, cancel := context.WithCancel(context.Background())
	for i, m := range ms {
		cfg := ipopconf.Default()
		cfg.ControlSocket = ""
		cfg.UbusSocket = ""
		cfg.Keepalive = time.Second
		for _, o := range ms {
			if o != m {
				cfg.Endpoints = append(cfg.Endpoints, o.addr.String())
			}
		}
		if mod != nil {
			mod(i, &cfg)
		}
		conn, err := net.Listen(m.addr)
		if err != nil {
			t.Fatal(err)
		}
		m.dev = newFakeDevice()
		var w io.Writer = io.Discard
		if testing.Verbose() {
			w = os.Stderr
		}
		m.d, err = New(Options{
			Config:   cfg,
			StateDir: filepath.Join(dir, fmt.Sprintf("m%d", i)),
			Version:  "test",
			Logger:   slog.New(slog.NewTextHandler(w, nil)).With("member", m.name),
			Conn:     conn,
			Device:   m.dev,
		})
		if err != nil {
			t.Fatal(err)
		}
		m.done = make(chan error, 1)
		go func() { m.done <- m.d.Run(ctx, nil) }()
	}
	t.Cleanup(func() {
		cancel()
		for _, m := range ms {
			if err := <-m.done; err != nil {
				t.Errorf("%s: Run: %v", m.name, err)
			}
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for _, m := range ms {
		want := len(m.d.cfg.Endpoints)
		if want == 0 {
			want = n - 1 // a hub: everyone dials it
		}
		for mm := m.d.member(); mm == nil || len(mm.tr.UpPeers()) < want; mm = m.d.member() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not all %d peers up", m.name, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return ms
}

func status(d *Daemon) Status {
	st, _ := d.Status()
	return st
}

func mac(i byte) [6]byte { return [6]byte{2, 0, 0, 0, 0, i} }

// frame builds an Ethernet frame with a test EtherType and a marker payload.
func frame(dst, src [6]byte, marker string) []byte {
	f := make([]byte, 14, 64)
	copy(f, dst[:])
	copy(f[6:], src[:])
	binary.BigEndian.PutUint16(f[12:], 0x88b5)
	f = append(f, marker...)
	for len(f) < 60 {
		f = append(f, 0)
	}
	return f
}

// dhcpOffer builds a DHCPv4 server reply (UDP 67 -> 68) from src.
func dhcpOffer(src [6]byte, marker string) []byte {
	f := make([]byte, 14+20+8)
	copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:], src[:])
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0], ip[9] = 0x45, 17
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(marker)))
	udp := f[34:]
	binary.BigEndian.PutUint16(udp[0:], 67)
	binary.BigEndian.PutUint16(udp[2:], 68)
	binary.BigEndian.PutUint16(udp[4:], uint16(8+len(marker)))
	return append(f, marker...)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSwitchInProcess(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			t.Errorf("goroutine leak: %d before, %d after", before, n)
		}
	})
	ms := startMembers(t, 3)
	a, b, c := ms[0], ms[1], ms[2]
	bcast := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

	// A broadcast from a's LAN reaches b and c exactly once, never a.
	a.dev.in <- frame(bcast, mac(1), "bcast-1")
	eventually(t, "broadcast at b and c", func() bool { return b.dev.got([]byte("bcast-1")) == 1 && c.dev.got([]byte("bcast-1")) == 1 })
	time.Sleep(200 * time.Millisecond)
	if b.dev.got([]byte("bcast-1")) != 1 || c.dev.got([]byte("bcast-1")) != 1 || a.dev.got([]byte("bcast-1")) != 0 {
		t.Fatalf("broadcast counts a=%d b=%d c=%d, want 0 1 1", a.dev.got([]byte("bcast-1")), b.dev.got([]byte("bcast-1")), c.dev.got([]byte("bcast-1")))
	}
	// b learned mac(1) behind a: a reply to it goes to a only.
	b.dev.in <- frame(mac(1), mac(2), "reply-1")
	eventually(t, "unicast at a", func() bool { return a.dev.got([]byte("reply-1")) == 1 })
	time.Sleep(200 * time.Millisecond)
	if c.dev.got([]byte("reply-1")) != 0 {
		t.Fatal("a learned unicast frame was flooded to c")
	}
	// Unknown unicast floods.
	c.dev.in <- frame(mac(99), mac(3), "unknown-1")
	eventually(t, "unknown unicast at a and b", func() bool { return a.dev.got([]byte("unknown-1")) == 1 && b.dev.got([]byte("unknown-1")) == 1 })

	// The DHCP guard keeps a's server reply on a's LAN, and counts it.
	a.dev.in <- dhcpOffer(mac(1), "offer-1")
	a.dev.in <- frame(bcast, mac(1), "after-offer")
	eventually(t, "frame after the offer", func() bool { return b.dev.got([]byte("after-offer")) == 1 })
	if b.dev.got([]byte("offer-1")) != 0 || c.dev.got([]byte("offer-1")) != 0 {
		t.Fatal("DHCP offer crossed the overlay")
	}
	if got := status(a.d).GuardsOut.DroppedDHCPv4; got != 1 {
		t.Fatalf("guard counter = %d, want 1", got)
	}
	// Full-size frames (fragmented on the wire) arrive whole.
	big := frame(mac(2), mac(1), "big-1")
	big = append(big, bytes.Repeat([]byte{0xab}, 1514-len(big))...)
	a.dev.in <- big
	eventually(t, "1514-byte frame at b", func() bool { return b.dev.got([]byte("big-1")) == 1 })
	st := a.d.controlStatus()
	if st.PeersUp != 2 || st.Counters["guard_dhcpv4_out"] != 1 {
		t.Fatalf("status = %+v", st)
	}
	if ps := a.d.controlPeers(); len(ps) != 2 || ps[0].State != "up" || ps[0].Path != "direct" {
		t.Fatalf("peers = %+v", ps)
	}
}

func TestFloodLimit(t *testing.T) {
	ms := startMembers(t, 2)
	a, b := ms[0], ms[1]
	a.d.member().sw.setFloodRate(10, 5)
	b.d.member().sw.setFloodRate(1000, 1000)
	bcast := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	for i := 0; i < 50; i++ {
		a.dev.in <- frame(bcast, mac(1), "storm")
	}
	time.Sleep(300 * time.Millisecond)
	if got := b.dev.got([]byte("storm")); got < 5 || got > 10 {
		t.Fatalf("%d of 50 flooded frames crossed a 5-frame burst at 10/s", got)
	}
	if status(a.d).Switch["flood_limited_out"] < 40 {
		t.Fatalf("flood_limited_out = %d", status(a.d).Switch["flood_limited_out"])
	}
}
