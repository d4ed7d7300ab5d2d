package tap

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
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
