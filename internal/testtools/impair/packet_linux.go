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

const (
	// vnetHdrLen is sizeof(struct virtio_net_hdr), which PACKET_VNET_HDR
	// puts in front of every frame read and expects in front of every
	// frame written.
	vnetHdrLen = 10
	// vnetFlagDataValid (VIRTIO_NET_HDR_F_DATA_VALID) says the receiver
	// verified the checksum; it means nothing on transmit, so it is
	// cleared.
	vnetFlagDataValid = 2
	ethHdrLen         = 14
)

// packetPort is an AF_PACKET socket bound to one interface, in promiscuous
// mode, reading and writing frames with their virtio-net header. The socket
// is non-blocking and driven by the runtime poller, so deadlines (and Close)
// wake a blocked ReadFrame.
type packetPort struct {
	name    string
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

func openPacketPort(ifname string) (*packetPort, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("interface %q: %w", ifname, err)
	}
	// Protocol 0 receives nothing until bind, so no frame of another
	// interface slips in before the socket is bound to this one.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: packet socket: %w", ifname, err)
	}
	fail := func(what string, err error) (*packetPort, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: %s: %w", ifname, what, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
		return fail("PACKET_VNET_HDR", err)
	}
	// Without this the socket would also see the frames we send out of
	// this interface; readFrame filters by packet type as well for
	// kernels before 4.20.
	_ = unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)
	// Larger buffers absorb bursts while the writer of the other
	// direction sleeps; best effort.
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 4<<20)
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
		return fail("bind", err)
	}
	mreq := unix.PacketMreq{Ifindex: int32(ifi.Index), Type: unix.PACKET_MR_PROMISC}
	if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
		return fail("promiscuous mode", err)
	}
	f := os.NewFile(uintptr(fd), "packet:"+ifname)
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", ifname, err)
	}
	return &packetPort{name: ifname, ifindex: ifi.Index, f: f, rc: rc}, nil
}

// ReadFrame reads the next frame received on the interface (virtio-net
// header included), skipping frames the interface sent.
func (p *packetPort) ReadFrame(buf []byte) (int, error) {
	for {
		var (
			n    int
			from unix.Sockaddr
			rerr error
		)
		err := p.rc.Read(func(fd uintptr) bool {
			n, from, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_TRUNC)
			return rerr != unix.EAGAIN
		})
		if err != nil {
			// RawConn reports only closing and the deadline set by
			// Interrupt: make both recognisable as os.ErrClosed.
			return 0, fmt.Errorf("%s: %w: %v", p.name, os.ErrClosed, err)
		}
		if rerr != nil {
			return 0, fmt.Errorf("%s: read: %w", p.name, rerr)
		}
		if sll, ok := from.(*unix.SockaddrLinklayer); ok && sll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		if n > len(buf) {
			return 0, fmt.Errorf("%s: %d byte frame: %w", p.name, n, errTruncated)
		}
		if n < vnetHdrLen+ethHdrLen {
			return 0, fmt.Errorf("%s: %d byte frame is too short", p.name, n)
		}
		buf[0] &^= vnetFlagDataValid
		return n, nil
	}
}

// WriteFrame sends a frame read by ReadFrame (virtio-net header first) out
// of the interface.
func (p *packetPort) WriteFrame(b []byte) error {
	if len(b) < vnetHdrLen+ethHdrLen {
		return fmt.Errorf("%s: %d byte frame is too short", p.name, len(b))
	}
	// The EtherType as protocol lets the kernel set skb->protocol, which
	// GSO segmentation needs.
	proto := binary.BigEndian.Uint16(b[vnetHdrLen+12:])
	sa := &unix.SockaddrLinklayer{Ifindex: p.ifindex, Protocol: htons(proto)}
	var werr error
	err := p.rc.Write(func(fd uintptr) bool {
		werr = unix.Sendto(int(fd), b, 0, sa)
		return werr != unix.EAGAIN
	})
	if err != nil {
		return err
	}
	if werr != nil {
		return fmt.Errorf("%s: write: %w", p.name, werr)
	}
	return nil
}

// Interrupt wakes blocked reads and writes and fails later ones, through
// an expired deadline.
func (p *packetPort) Interrupt() { _ = p.f.SetDeadline(time.Unix(1, 0)) }

// Close closes the socket.
func (p *packetPort) Close() error { return p.f.Close() }
