package addrwatch

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// readTimeout bounds how long Watch takes to notice that ctx ended.
const readTimeout = 500 * time.Millisecond

// Watch calls changed after every change of this machine's IPv4 or
// IPv6 addresses, until ctx ends. It listens to the kernel's address
// notifications on a netlink socket (no polling); a burst of them (an
// interface coming up with several addresses) is reported once per read.
// It returns when ctx ends, or at once with an error if the socket cannot
// be opened.
func Watch(ctx context.Context, changed func()) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("address watch: netlink socket: %w", err)
	}
	sa := &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: unix.RTMGRP_IPV4_IFADDR | unix.RTMGRP_IPV6_IFADDR}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return fmt.Errorf("address watch: bind: %w", err)
	}
	defer unix.Close(fd)
	// Reads wake up every readTimeout to see whether ctx ended: a
	// blocked netlink read cannot be interrupted portably otherwise.
	tv := unix.NsecToTimeval(int64(readTimeout))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("address watch: receive timeout: %w", err)
	}
	buf := make([]byte, 8192)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if ctx.Err() != nil {
			return nil
		}
		switch {
		case err == unix.EINTR || err == unix.EAGAIN:
			continue
		case err == unix.ENOBUFS:
			// Notifications were lost: something changed.
			changed()
			continue
		case err != nil:
			return fmt.Errorf("address watch: %w", err)
		case n == 0:
			continue
		}
		if addrChange(buf[:n]) {
			changed()
		}
	}
}

// addrChange reports whether a netlink datagram holds an address
// notification. It walks the message headers only; a malformed one ends
// the walk.
func addrChange(b []byte) bool {
	for len(b) >= unix.NLMSG_HDRLEN {
		l := int(binary.NativeEndian.Uint32(b[0:4]))
		typ := binary.NativeEndian.Uint16(b[4:6])
		if l < unix.NLMSG_HDRLEN || l > len(b) {
			return false
		}
		if typ == unix.RTM_NEWADDR || typ == unix.RTM_DELADDR {
			return true
		}
		l = (l + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1)
		if l > len(b) {
			return false
		}
		b = b[l:]
	}
	return false
}
