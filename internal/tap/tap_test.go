package tap

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ipopd/ipopd/internal/offload"
)

// inNewNetns runs f on a locked thread inside a fresh network namespace,
// so the test never touches the host's interfaces. f gets a socket for
// interface ioctls in that namespace.
func inNewNetns(t *testing.T, f func(s int)) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a TAP device in a network namespace")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		// The thread is left locked and so dies with the goroutine: it is
		// in the test namespace, which must not leak to other goroutines.
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			t.Errorf("unshare network namespace: %v", err)
			return
		}
		s, err := ioctlSocket()
		if err != nil {
			t.Error(err)
			return
		}
		defer unix.Close(s)
		f(s)
	}()
	<-done
}

func ifreq(t *testing.T, s int, name string, req uint) (*unix.Ifreq, error) {
	t.Helper()
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return nil, err
	}
	return ifr, unix.IoctlIfreq(s, req, ifr)
}

func exists(t *testing.T, s int, name string) bool {
	t.Helper()
	_, err := ifreq(t, s, name, unix.SIOCGIFINDEX)
	return err == nil
}

func TestOpenAttachClose(t *testing.T) {
	inNewNetns(t, func(s int) {
		// SIOCBRADDBR takes the bridge name where an ifreq has it.
		if _, err := ifreq(t, s, "br-test", unix.SIOCBRADDBR); err != nil {
			t.Errorf("create bridge: %v", err)
			return
		}
		d, err := Open(Config{Name: "ipoptest0", MTU: 1400, Bridge: "br-test"})
		if err != nil {
			t.Error(err)
			return
		}
		if ifr, err := ifreq(t, s, "ipoptest0", unix.SIOCGIFMTU); err != nil || ifr.Uint32() != 1400 {
			t.Errorf("mtu: %v, %v; want 1400", ifr, err)
		}
		if ifr, err := ifreq(t, s, "ipoptest0", unix.SIOCGIFFLAGS); err != nil || ifr.Uint16()&unix.IFF_UP == 0 {
			t.Errorf("flags: %v, %v; want IFF_UP", ifr, err)
		}
		if _, err := Open(Config{Name: "ipoptest0"}); err == nil {
			t.Error("second open of the same TAP succeeded")
		}
		// The TAP is a port of br-test exactly if the bridge can let go
		// of it (SIOCBRDELIF fails with EINVAL for a non-port).
		idx, err := ifreq(t, s, "ipoptest0", unix.SIOCGIFINDEX)
		if err != nil {
			t.Error(err) // not Fatal: this is not the test's goroutine
			return
		}
		br, _ := unix.NewIfreq("br-test")
		br.SetUint32(idx.Uint32())
		if err := unix.IoctlIfreq(s, unix.SIOCBRDELIF, br); err != nil {
			t.Errorf("TAP is not a port of br-test: %v", err)
		}
		d.Close()
		if exists(t, s, "ipoptest0") {
			t.Error("TAP still exists after Close")
		}
		for _, tt := range []struct {
			name, bridge, want string
		}{
			{"ipoptest1", "nosuchbr", "bridge nosuchbr does not exist"},
			{"ipoptest2", "lo", "lo is not a bridge"},
			{"ipoptest3", "a-bridge-name-too-long", "bridge name"},
		} {
			if _, err := Open(Config{Name: tt.name, Bridge: tt.bridge}); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("attach to %s: %v, want an error containing %q", tt.bridge, err, tt.want)
			}
			if exists(t, s, tt.name) {
				t.Errorf("failed Open left %s behind", tt.name)
			}
		}
		if _, err := Open(Config{Name: "ipoptest4", MTU: 1 << 20}); err == nil || !strings.Contains(err.Error(), "mtu") {
			t.Errorf("absurd MTU: %v", err)
		} else if !errors.Is(err, unix.EINVAL) {
			t.Errorf("absurd MTU: %v, want EINVAL", err)
		}
	})
}

func TestBadName(t *testing.T) {
	for _, n := range []string{"", "a-name-that-is-too-long"} {
		if _, err := Open(Config{Name: n}); err == nil {
			t.Errorf("Open(%q) succeeded", n)
		}
	}
}

// TestReadBatchAndChecksums: frames the kernel queued on the TAP come in
// one ReadBatch, each behind a virtio-net header; the local stack leaves
// UDP checksums to us (offloads on) and offload.Complete finishes them.
func TestReadBatchAndChecksums(t *testing.T) {
	inNewNetns(t, func(s int) {
		d, err := Open(Config{Name: "ipoptest5"})
		if err != nil {
			t.Error(err)
			return
		}
		defer d.Close()
		for _, a := range []struct {
			req  uint
			addr []byte
		}{{unix.SIOCSIFADDR, []byte{10, 9, 9, 1}}, {unix.SIOCSIFNETMASK, []byte{255, 255, 255, 0}}} {
			ifr, _ := unix.NewIfreq("ipoptest5")
			if err := ifr.SetInet4Addr(a.addr); err != nil {
				t.Error(err)
				return
			}
			if err := unix.IoctlIfreq(s, a.req, ifr); err != nil {
				t.Errorf("address: %v", err)
				return
			}
		}
		u, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Error(err)
			return
		}
		defer unix.Close(u)
		_ = unix.SetsockoptInt(u, unix.SOL_SOCKET, unix.SO_BROADCAST, 1)
		payload := []byte(strings.Repeat("batch", 20))
		const sent = 8
		for range sent {
			if err := unix.Sendto(u, payload, 0, &unix.SockaddrInet4{Port: 9, Addr: [4]byte{10, 9, 9, 255}}); err != nil {
				t.Errorf("send: %v", err)
				return
			}
		}
		buf := make([]byte, 3*(offload.HdrLen+offload.MaxFrame))
		ends := make([]int, 64)
		got, batches, partial := 0, 0, 0
		for got < sent && batches < 20 {
			k, err := d.ReadBatch(buf, ends)
			if err != nil {
				t.Error(err)
				return
			}
			batches++
			start := 0
			for _, end := range ends[:k] {
				b := buf[start:end]
				start = end
				h, err := offload.ParseHdr(b)
				if err != nil {
					t.Error(err)
					return
				}
				f := b[offload.HdrLen:]
				// IPv4 UDP to port 9 only (the kernel may send IPv6
				// solicitations too).
				if len(f) < 42 || f[12] != 0x08 || f[13] != 0x00 || f[23] != 17 || f[36] != 0 || f[37] != 9 {
					continue
				}
				if h.Flags&offload.FlagNeedsCsum != 0 {
					partial++
				}
				if err := offload.Complete(h, f); err != nil {
					t.Error(err)
					return
				}
				if !udpChecksumOK(f[14:]) {
					t.Errorf("datagram %d: bad UDP checksum after Complete (flags %#x)", got, h.Flags)
				}
				got++
			}
		}
		if got != sent {
			t.Errorf("read %d of %d datagrams", got, sent)
		}
		if partial == 0 {
			t.Log("the kernel computed every checksum itself; Complete had nothing to do")
		}
		if batches >= got {
			t.Errorf("%d datagrams took %d reads: no batching", got, batches)
		}
	})
}

// udpChecksumOK checks an IPv4/UDP packet's UDP checksum.
func udpChecksumOK(ip []byte) bool {
	ihl := int(ip[0]&0xf) * 4
	udp := ip[ihl:]
	var acc uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			acc += uint32(b[i])<<8 | uint32(b[i+1])
		}
		if len(b)%2 == 1 {
			acc += uint32(b[len(b)-1]) << 8
		}
	}
	add(ip[12:20])
	acc += 17 + uint32(len(udp))
	add(udp)
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return acc == 0xffff
}
