package netlab

import (
	"fmt"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// flushConntrack deletes every conntrack entry in namespace ns over netlink.
func flushConntrack(ns string) error {
	nsh, err := netns.GetFromName(ns)
	if err != nil {
		return fmt.Errorf("netlab: open namespace %s: %w", ns, err)
	}
	defer nsh.Close()
	h, err := netlink.NewHandleAt(nsh, unix.NETLINK_NETFILTER)
	if err != nil {
		return fmt.Errorf("netlab: netlink in %s: %w", ns, err)
	}
	defer h.Close()
	// One flush request covers every family: the kernel treats a request
	// without filter as AF_UNSPEC.
	if err := h.ConntrackTableFlush(netlink.ConntrackTable); err != nil {
		return fmt.Errorf("netlab: flush conntrack in %s: %w", ns, err)
	}
	return nil
}
