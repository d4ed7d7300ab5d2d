package overlay

import (
	"encoding/binary"
	"math"
	"sync"
	"testing"
	"time"
)

// peer stands in for the daemon's *peer port type.
type peer struct{ name string }

func mac(i uint32) [6]byte {
	m := [6]byte{0x02} // locally administered unicast
	binary.BigEndian.PutUint32(m[2:], i)
	return m
}

const sec = int64(time.Second)

func TestMACTableLearnLookup(t *testing.T) {
	a, b := &peer{"a"}, &peer{"b"}
	tests := []struct {
		name   string
		learn  [6]byte
		port   *peer
		lookup [6]byte
		want   *peer
		found  bool
	}{
		{"unicast learned", mac(1), a, mac(1), a, true},
		{"other mac misses", mac(1), a, mac(2), nil, false},
		{"broadcast never learned", broadcastMAC, a, broadcastMAC, nil, false},
		{"multicast never learned", [6]byte{0x01, 0x00, 0x5e, 0, 0, 1}, a, [6]byte{0x01, 0x00, 0x5e, 0, 0, 1}, nil, false},
		{"ipv6 multicast never learned", [6]byte{0x33, 0x33, 0, 0, 0, 1}, b, [6]byte{0x33, 0x33, 0, 0, 0, 1}, nil, false},
		{"zero mac never learned", [6]byte{}, a, [6]byte{}, nil, false},
		{"global unicast learned", [6]byte{0x00, 0x1b, 0x21, 1, 2, 3}, b, [6]byte{0x00, 0x1b, 0x21, 1, 2, 3}, b, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab := NewMACTable[*peer](16, time.Minute)
			tab.Learn(tc.learn, tc.port, 10*sec)
			got, ok := tab.Lookup(tc.lookup, 11*sec)
			if got != tc.want || ok != tc.found {
				t.Errorf("Lookup = %v, %v; want %v, %v", got, ok, tc.want, tc.found)
			}
			wantLen := 0
			if !IsMulticast(tc.learn) && tc.learn != ([6]byte{}) {
				wantLen = 1
			}
			if got := tab.Len(); got != wantLen {
				t.Errorf("Len() = %d, want %d", got, wantLen)
			}
		})
	}
}

func TestMACTableMove(t *testing.T) {
	a, b := &peer{"a"}, &peer{"b"}
	tab := NewMACTable[*peer](16, time.Minute)
	tab.Learn(mac(1), a, 1*sec)
	tab.Learn(mac(1), a, 2*sec)
	tab.Learn(mac(1), b, 3*sec)
	if got, ok := tab.Lookup(mac(1), 3*sec); !ok || got != b {
		t.Fatalf("after move Lookup = %v, %v; want b", got, ok)
	}
	st := tab.Stats()
	if st.Learned != 1 || st.Moved != 1 || st.Entries != 1 {
		t.Errorf("Stats() = %+v, want 1 learned, 1 moved, 1 entry", st)
	}
	// A move refreshes the entry even when the clock went backwards.
	tab.Learn(mac(1), a, 1*sec)
	if got, ok := tab.Lookup(mac(1), 3*sec); !ok || got != a {
		t.Fatalf("after move back Lookup = %v, %v; want a", got, ok)
	}
	if e := tab.Entries(); len(e) != 1 || e[0].LastSeen != 3*sec {
		t.Errorf("Entries() = %+v, want LastSeen kept at 3 s", e)
	}
}

func TestMACTableAging(t *testing.T) {
	a := &peer{"a"}
	tab := NewMACTable[*peer](16, 10*time.Second)
	tab.Learn(mac(1), a, 0)
	tab.Learn(mac(2), a, 5*sec)

	steps := []struct {
		now     int64
		expire  int
		found1  bool
		found2  bool
		wantLen int
	}{
		{now: 10 * sec, expire: 0, found1: true, found2: true, wantLen: 2}, // exactly aging: still valid
		{now: 10*sec + 1, expire: 1, found1: false, found2: true, wantLen: 1},
		{now: 15*sec + 1, expire: 1, found1: false, found2: false, wantLen: 0},
		{now: 100 * sec, expire: 0, found1: false, found2: false, wantLen: 0},
	}
	for _, s := range steps {
		// Lookup misses on an aged entry before Expire removes it.
		_, ok1 := tab.Lookup(mac(1), s.now)
		_, ok2 := tab.Lookup(mac(2), s.now)
		if ok1 != s.found1 || ok2 != s.found2 {
			t.Errorf("at %d s: found %v, %v; want %v, %v", s.now/sec, ok1, ok2, s.found1, s.found2)
		}
		if n := tab.Expire(s.now); n != s.expire {
			t.Errorf("at %d s: Expire = %d, want %d", s.now/sec, n, s.expire)
		}
		if n := tab.Len(); n != s.wantLen {
			t.Errorf("at %d s: Len = %d, want %d", s.now/sec, n, s.wantLen)
		}
	}
	if st := tab.Stats(); st.Expired != 2 {
		t.Errorf("Stats().Expired = %d, want 2", st.Expired)
	}
}

func TestMACTableRefreshKeepsAlive(t *testing.T) {
	a := &peer{"a"}
	tab := NewMACTable[*peer](16, 10*time.Second)
	// A frame every 2 s keeps the MAC alive far past the aging time.
	for now := int64(0); now <= 60*sec; now += 2 * sec {
		tab.Learn(mac(1), a, now)
		if _, ok := tab.Lookup(mac(1), now+9*sec); !ok {
			t.Fatalf("MAC aged out at %d s despite traffic", now/sec)
		}
		if n := tab.Expire(now + 9*sec); n != 0 {
			t.Fatalf("Expire dropped a live MAC at %d s", now/sec)
		}
	}
	// Frames closer together than the refresh interval do not rewrite the
	// timestamp: it may lag by up to one second.
	tab.Learn(mac(1), a, 60*sec+sec/2)
	if e := tab.Entries(); e[0].LastSeen != 60*sec {
		t.Errorf("LastSeen = %d, want %d (refresh at most once a second)", e[0].LastSeen, 60*sec)
	}
	tab.Learn(mac(1), a, 61*sec)
	if e := tab.Entries(); e[0].LastSeen != 61*sec {
		t.Errorf("LastSeen = %d, want %d", e[0].LastSeen, 61*sec)
	}
	// Time going backwards never moves the timestamp back.
	tab.Learn(mac(1), a, 10*sec)
	if e := tab.Entries(); e[0].LastSeen != 61*sec {
		t.Errorf("LastSeen = %d after backwards time, want %d", e[0].LastSeen, 61*sec)
	}
}

func TestMACTableForgetPort(t *testing.T) {
	a, b := &peer{"a"}, &peer{"b"}
	tab := NewMACTable[*peer](16, time.Minute)
	for i := range uint32(6) {
		p := a
		if i%2 == 1 {
			p = b
		}
		tab.Learn(mac(i+1), p, sec)
	}
	if n := tab.ForgetPort(a); n != 3 {
		t.Fatalf("ForgetPort(a) = %d, want 3", n)
	}
	for i := range uint32(6) {
		got, ok := tab.Lookup(mac(i+1), sec)
		if i%2 == 0 && ok {
			t.Errorf("mac %d still on %v after ForgetPort(a)", i+1, got)
		}
		if i%2 == 1 && (!ok || got != b) {
			t.Errorf("mac %d = %v, %v; want b", i+1, got, ok)
		}
	}
	if n := tab.ForgetPort(a); n != 0 {
		t.Errorf("second ForgetPort(a) = %d, want 0", n)
	}
	if n := tab.ForgetPort(b); n != 3 || tab.Len() != 0 {
		t.Errorf("ForgetPort(b) = %d, Len = %d; want 3, 0", n, tab.Len())
	}
	if st := tab.Stats(); st.Forgot != 6 {
		t.Errorf("Stats().Forgot = %d, want 6", st.Forgot)
	}
	// Forgotten entries are reused.
	tab.Learn(mac(100), a, 2*sec)
	if got, ok := tab.Lookup(mac(100), 2*sec); !ok || got != a {
		t.Errorf("relearn after ForgetPort: %v, %v", got, ok)
	}
}

func TestMACTableCapacity(t *testing.T) {
	a, b := &peer{"a"}, &peer{"b"}
	tab := NewMACTable[*peer](4, 10*time.Second)
	for i := range uint32(4) {
		tab.Learn(mac(i), a, int64(i)*sec)
	}
	// Full and nothing aged: new MACs are refused and counted, known ones
	// still refresh and move.
	for i := range uint32(100) {
		tab.Learn(mac(1000+i), a, 5*sec)
	}
	if n, st := tab.Len(), tab.Stats(); n != 4 || st.Refused != 100 {
		t.Fatalf("after flood Len = %d, Refused = %d; want 4, 100", n, st.Refused)
	}
	tab.Learn(mac(3), b, 6*sec)
	if got, _ := tab.Lookup(mac(3), 6*sec); got != b {
		t.Errorf("move in a full table: got %v, want b", got)
	}
	// At 10.5 s mac(0) (seen at 0) has aged: a new MAC evicts it, and only it.
	tab.Learn(mac(2000), a, 10*sec+sec/2)
	if _, ok := tab.Lookup(mac(2000), 10*sec+sec/2); !ok {
		t.Fatal("new MAC not learned after an entry aged")
	}
	if _, ok := tab.Lookup(mac(0), 10*sec+sec/2); ok {
		t.Error("aged MAC still present")
	}
	for _, m := range [][6]byte{mac(1), mac(2), mac(3)} {
		if _, ok := tab.Lookup(m, 10*sec+sec/2); !ok {
			t.Errorf("live MAC %x evicted", m)
		}
	}
	tab.Learn(mac(2001), a, 10*sec+sec/2)
	st := tab.Stats()
	if st.Entries != 4 || st.Refused != 101 || st.Expired != 1 || st.Learned != 5 {
		t.Errorf("Stats() = %+v, want 4 entries, 101 refused, 1 expired, 5 learned", st)
	}
}

func TestMACTableDefaultsAndExtremeTimes(t *testing.T) {
	a := &peer{"a"}
	tab := NewMACTable[*peer](0, 0)
	if tab.max != DefaultMACTableSize || tab.aging != int64(DefaultMACAging) || tab.refresh != int64(time.Second) {
		t.Fatalf("defaults: max %d aging %d refresh %d", tab.max, tab.aging, tab.refresh)
	}
	tab = NewMACTable[*peer](-1, -time.Second)
	if tab.max != DefaultMACTableSize || tab.aging != int64(DefaultMACAging) {
		t.Fatalf("negative config not defaulted: max %d aging %d", tab.max, tab.aging)
	}
	// Extreme clock values must neither overflow into "fresh" nor panic.
	tab.Learn(mac(1), a, math.MinInt64)
	if _, ok := tab.Lookup(mac(1), math.MaxInt64); ok {
		t.Error("entry from MinInt64 still valid at MaxInt64")
	}
	if n := tab.Expire(math.MaxInt64); n != 1 {
		t.Errorf("Expire(MaxInt64) = %d, want 1", n)
	}
	tab.Learn(mac(2), a, math.MaxInt64)
	if _, ok := tab.Lookup(mac(2), math.MinInt64); !ok {
		t.Error("backwards time made an entry stale")
	}
	// A tiny aging still works (refresh interval 0).
	tiny := NewMACTable[int](4, time.Nanosecond)
	tiny.Learn(mac(1), 7, 100)
	tiny.Learn(mac(1), 7, 101)
	if p, ok := tiny.Lookup(mac(1), 102); !ok || p != 7 {
		t.Errorf("tiny aging: %v, %v", p, ok)
	}
}

func TestMACTableEntries(t *testing.T) {
	a, b := &peer{"a"}, &peer{"b"}
	tab := NewMACTable[*peer](16, time.Minute)
	tab.Learn(mac(3), a, 3*sec)
	tab.Learn(mac(1), b, 1*sec)
	tab.Learn(mac(2), a, 2*sec)
	got := tab.Entries()
	want := []MACEntry[*peer]{
		{MAC: mac(1), Port: b, LastSeen: 1 * sec},
		{MAC: mac(2), Port: a, LastSeen: 2 * sec},
		{MAC: mac(3), Port: a, LastSeen: 3 * sec},
	}
	if len(got) != len(want) {
		t.Fatalf("Entries() has %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Entries()[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	if e := NewMACTable[*peer](1, time.Second).Entries(); len(e) != 0 {
		t.Errorf("empty table Entries() = %v", e)
	}
}

// TestMACTableConcurrent runs learners, a looker-up, Expire and ForgetPort
// at once; -race checks the locking, the assertions check that Lookup only
// ever returns a port the MAC was learned on.
func TestMACTableConcurrent(t *testing.T) {
	const macs = 64
	ports := []*peer{{"a"}, {"b"}, {"c"}}
	tab := NewMACTable[*peer](macs/2, 50*time.Millisecond)
	var clock sync.Mutex
	now := int64(0)
	tick := func() int64 {
		clock.Lock()
		defer clock.Unlock()
		now += int64(time.Millisecond)
		return now
	}

	var wg sync.WaitGroup
	for w, p := range ports {
		wg.Go(func() {
			for i := range 2000 {
				tab.Learn(mac(uint32((i*7+w)%macs)), p, tick())
			}
		})
	}
	wg.Go(func() {
		for i := range 4000 {
			got, ok := tab.Lookup(mac(uint32(i%macs)), tick())
			if ok && got != ports[0] && got != ports[1] && got != ports[2] {
				t.Errorf("Lookup returned unknown port %v", got)
				return
			}
		}
	})
	wg.Go(func() {
		for range 200 {
			tab.Expire(tick())
			tab.ForgetPort(ports[2])
			_ = tab.Entries()
			_ = tab.Stats()
		}
	})
	wg.Wait()
	if n := tab.Len(); n > macs/2 {
		t.Errorf("Len() = %d exceeds capacity %d", n, macs/2)
	}
}

func TestMACTableAllocs(t *testing.T) {
	skipIfRace(t)
	a, b := &peer{"a"}, &peer{"b"}
	tab := NewMACTable[*peer](1024, time.Minute)
	for i := range uint32(512) {
		tab.Learn(mac(i), a, sec)
	}
	now := 2 * sec
	tests := []struct {
		name string
		f    func()
	}{
		{"Learn known", func() { now += sec; tab.Learn(mac(7), a, now) }},
		{"Learn multicast", func() { tab.Learn(broadcastMAC, a, now) }},
		{"Lookup hit", func() { tab.Lookup(mac(7), now) }},
		{"Lookup miss", func() { tab.Lookup(mac(99999), now) }},
		{"move", func() {
			tab.Learn(mac(8), b, now)
			tab.Learn(mac(8), a, now)
		}},
	}
	for _, tc := range tests {
		if n := testing.AllocsPerRun(100, tc.f); n != 0 {
			t.Errorf("%s allocates %v times per call, want 0", tc.name, n)
		}
	}

	// A full table refusing a flood of new MACs allocates nothing.
	full := NewMACTable[*peer](8, time.Minute)
	for i := range uint32(8) {
		full.Learn(mac(i), a, sec)
	}
	i := uint32(100)
	if n := testing.AllocsPerRun(100, func() { i++; full.Learn(mac(i), a, 2*sec) }); n != 0 {
		t.Errorf("refused Learn allocates %v times per call, want 0", n)
	}
}

func BenchmarkMACTableLookup(b *testing.B) {
	a := &peer{"a"}
	tab := NewMACTable[*peer](4096, time.Minute)
	for i := range uint32(256) {
		tab.Learn(mac(i), a, sec)
	}
	m := mac(77)
	b.ReportAllocs()
	for b.Loop() {
		tab.Lookup(m, 2*sec)
	}
}

func BenchmarkMACTableLookupParallel(b *testing.B) {
	a := &peer{"a"}
	tab := NewMACTable[*peer](4096, time.Minute)
	for i := range uint32(256) {
		tab.Learn(mac(i), a, sec)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		m := mac(77)
		for pb.Next() {
			tab.Lookup(m, 2*sec)
		}
	})
}

func BenchmarkMACTableLearnKnown(b *testing.B) {
	a := &peer{"a"}
	tab := NewMACTable[*peer](4096, time.Minute)
	for i := range uint32(256) {
		tab.Learn(mac(i), a, sec)
	}
	m := mac(77)
	now := sec
	b.ReportAllocs()
	for b.Loop() {
		now += 1000 // 1 µs per frame: mostly no timestamp write
		tab.Learn(m, a, now)
	}
}

func BenchmarkMACTableLearnChurn(b *testing.B) {
	a := &peer{"a"}
	tab := NewMACTable[*peer](256, time.Millisecond)
	now := int64(0)
	i := uint32(0)
	b.ReportAllocs()
	for b.Loop() {
		i++
		now += int64(10 * time.Microsecond)
		tab.Learn(mac(i), a, now)
	}
}
