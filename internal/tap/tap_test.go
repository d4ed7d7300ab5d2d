package tap

import (
	"os"
	"os/exec"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// inNewNetns runs f on a locked thread inside a fresh network namespace,
// so the test never touches the host's interfaces.
func inNewNetns(t *testing.T, f func()) {
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
		orig, err := netns.Get()
		if err != nil {
			t.Error(err)
			return
		}
		defer orig.Close()
		ns, err := netns.New()
		if err != nil {
			t.Error(err)
			return
		}
		defer ns.Close()
		f()
		if err := netns.Set(orig); err != nil {
			t.Error(err)
		}
	}()
	<-done
}

func TestOpenAttachClose(t *testing.T) {
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2")
	}
	inNewNetns(t, func() {
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br-test"}}
		if err := netlink.LinkAdd(br); err != nil {
			t.Error(err)
			return
		}
		d, err := Open(Config{Name: "ipoptest0", MTU: 1400, Bridge: "br-test"})
		if err != nil {
			t.Error(err)
			return
		}
		l, err := netlink.LinkByName("ipoptest0")
		if err != nil {
			t.Error(err)
			return
		}
		if l.Attrs().MTU != 1400 || l.Attrs().MasterIndex != br.Attrs().Index {
			t.Errorf("mtu %d master %d, want 1400 and %d", l.Attrs().MTU, l.Attrs().MasterIndex, br.Attrs().Index)
		}
		if _, err := Open(Config{Name: "ipoptest0"}); err == nil {
			t.Error("second open of the same TAP succeeded")
		}
		d.Close()
		if _, err := netlink.LinkByName("ipoptest0"); err == nil {
			t.Error("TAP still exists after Close")
		}
		if _, err := Open(Config{Name: "ipoptest1", Bridge: "nosuchbr"}); err == nil {
			t.Error("attach to a missing bridge succeeded")
		}
		if _, err := netlink.LinkByName("ipoptest1"); err == nil {
			t.Error("failed Open left its TAP behind")
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
