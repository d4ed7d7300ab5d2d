package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// rawSock is an AF_PACKET socket bound to one interface. It is
// non-blocking and driven by the runtime poller, so read deadlines work.
type rawSock struct {
	ifname  string
	ifindex int
	f       *os.File
	rc      syscall.RawConn
}

// htons converts to network byte order as AF_PACKET wants protocol numbers.
func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}

// openRaw opens a socket on ifname. A listening socket receives every frame
// (all multicast too) except those the interface sends; a sending socket
// receives nothing.
func openRaw(ifname string, listen bool) (*rawSock, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("interface %q: %w", ifname, err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: packet socket: %w", ifname, err)
	}
	fail := func(what string, err error) (*rawSock, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: %s: %w", ifname, what, err)
	}
	proto := uint16(0)
	if listen {
		proto = unix.ETH_P_ALL
		_ = unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(proto), Ifindex: ifi.Index}); err != nil {
		return fail("bind", err)
	}
	if listen {
		mreq := unix.PacketMreq{Ifindex: int32(ifi.Index), Type: unix.PACKET_MR_ALLMULTI}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
			return fail("all-multicast mode", err)
		}
	}
	f := os.NewFile(uintptr(fd), "packet:"+ifname)
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", ifname, err)
	}
	return &rawSock{ifname: ifname, ifindex: ifi.Index, f: f, rc: rc}, nil
}

// send transmits one complete Ethernet frame.
func (s *rawSock) send(frame []byte) error {
	if len(frame) < ethHdrLen {
		return fmt.Errorf("%s: %w", s.ifname, errShort)
	}
	sa := &unix.SockaddrLinklayer{Ifindex: s.ifindex, Protocol: htons(binary.BigEndian.Uint16(frame[12:14]))}
	var werr error
	err := s.rc.Write(func(fd uintptr) bool {
		werr = unix.Sendto(int(fd), frame, 0, sa)
		return werr != unix.EAGAIN
	})
	if err == nil {
		err = werr
	}
	if err != nil {
		return fmt.Errorf("%s: send: %w", s.ifname, err)
	}
	return nil
}

// recv reads the next frame received (not sent) by the interface, waiting
// until deadline; it returns an error wrapping os.ErrDeadlineExceeded then.
func (s *rawSock) recv(buf []byte, deadline time.Time) (int, error) {
	if err := s.f.SetReadDeadline(deadline); err != nil {
		return 0, err
	}
	for {
		var (
			n    int
			from unix.Sockaddr
			rerr error
		)
		err := s.rc.Read(func(fd uintptr) bool {
			n, from, rerr = unix.Recvfrom(int(fd), buf, 0)
			return rerr != unix.EAGAIN
		})
		if err == nil {
			err = rerr
		}
		if err != nil {
			return 0, err
		}
		if sll, ok := from.(*unix.SockaddrLinklayer); ok && sll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		return n, nil
	}
}

// interrupt makes a blocked recv return as if its deadline had passed.
func (s *rawSock) interrupt() { _ = s.f.SetReadDeadline(time.Unix(1, 0)) }

func (s *rawSock) close() error { return s.f.Close() }
