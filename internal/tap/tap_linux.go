package tap

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/ipopd/ipopd/internal/offload"
)

// Device is an open TAP device.
type Device struct {
	name string
	file *os.File

	// The non-blocking half of ReadBatch (one reader goroutine): the
	// function is made once so that a read allocates nothing.
	raw    syscall.RawConn
	tryBuf []byte
	tryN   int
	tryErr error
	tryFn  func(fd uintptr) bool
}

// Config says which device to make and where to attach it.
type Config struct {
	Name   string // interface name, e.g. ipop0
	MTU    int    // 0 keeps the kernel default (1500)
	Bridge string // bridge to attach to; empty for none
}

// Open creates the TAP device, sets its MTU, attaches it to the bridge and
// brings it up. On any error nothing is left behind.
func Open(cfg Config) (*Device, error) {
	if len(cfg.Name) == 0 || len(cfg.Name) >= unix.IFNAMSIZ {
		return nil, fmt.Errorf("tap: bad interface name %q", cfg.Name)
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("tap: open /dev/net/tun: %w (is the tun module loaded? on OpenWRT: kmod-tun)", err)
	}
	ifr, err := unix.NewIfreq(cfg.Name)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tap: %w", err)
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EBUSY) {
			return nil, fmt.Errorf("tap: create %s: device busy (another ipopd running?)", cfg.Name)
		}
		if errors.Is(err, unix.EPERM) {
			return nil, fmt.Errorf("tap: create %s: %w (needs root or CAP_NET_ADMIN)", cfg.Name, err)
		}
		return nil, fmt.Errorf("tap: create %s: %w", cfg.Name, err)
	}
	if err := setOffloads(fd); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tap: %s: %w", cfg.Name, err)
	}
	// A non-blocking fd in os.File goes through the runtime poller, so a
	// blocked Read returns when Close is called.
	d := &Device{name: ifr.Name(), file: os.NewFile(uintptr(fd), "tap:"+ifr.Name())}
	if err := d.configure(cfg); err != nil {
		d.Close()
		return nil, err
	}
	if d.raw, err = d.file.SyscallConn(); err != nil {
		d.Close()
		return nil, fmt.Errorf("tap: %s: %w", d.name, err)
	}
	d.tryFn = func(fd uintptr) bool {
		d.tryN, d.tryErr = unix.Read(int(fd), d.tryBuf)
		return true // never wait: EAGAIN ends the batch
	}
	return d, nil
}

// setOffloads makes every frame carry a virtio-net header (see package
// offload) and lets the kernel hand us TCP frames of up to 64 KiB with
// their checksums left for us: the TAP then costs one system call per
// 64 KiB of a bulk transfer instead of one per 1.5 KiB frame.
func setOffloads(fd int) error {
	if err := unix.IoctlSetPointerInt(fd, unix.TUNSETVNETHDRSZ, offload.HdrLen); err != nil {
		return fmt.Errorf("set virtio-net header size: %w", err)
	}
	if err := unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, unix.TUN_F_CSUM|unix.TUN_F_TSO4|unix.TUN_F_TSO6); err != nil {
		return fmt.Errorf("set offloads: %w", err)
	}
	return nil
}

// configure sets the MTU, attaches the device to the bridge and brings it
// up with the classic interface ioctls on a datagram socket: three calls
// that need no netlink library (which cost the router binary ~100 KB).
// The socket, like the TAP, belongs to the calling thread's network
// namespace, so everything here acts in that namespace.
func (d *Device) configure(cfg Config) error {
	s, err := ioctlSocket()
	if err != nil {
		return err
	}
	defer unix.Close(s)
	if cfg.MTU > 0 {
		ifr, err := unix.NewIfreq(d.name)
		if err != nil {
			return fmt.Errorf("tap: %w", err)
		}
		ifr.SetUint32(uint32(cfg.MTU))
		if err := unix.IoctlIfreq(s, unix.SIOCSIFMTU, ifr); err != nil {
			return fmt.Errorf("tap: set %s mtu %d: %w", d.name, cfg.MTU, err)
		}
	}
	if cfg.Bridge != "" {
		if err := d.attach(s, cfg.Bridge); err != nil {
			return err
		}
	}
	return d.setUp(s)
}

// ioctlSocket opens the socket the interface ioctls go through: AF_INET
// where the kernel has IPv4, AF_UNIX otherwise (any family takes them).
func ioctlSocket() (int, error) {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err == nil {
		return s, nil
	}
	s, err2 := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err2 != nil {
		return -1, fmt.Errorf("tap: socket for interface ioctls: %w", errors.Join(err, err2))
	}
	return s, nil
}

// attach makes the device a port of bridge (SIOCBRADDIF, what brctl addif
// does). Whether bridge exists and is a bridge is asked of the kernel
// through the same socket rather than read from /sys/class/net, which
// shows the namespace sysfs was mounted in, not necessarily ours.
func (d *Device) attach(s int, bridge string) error {
	ifr, err := unix.NewIfreq(d.name)
	if err != nil {
		return fmt.Errorf("tap: %w", err)
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFINDEX, ifr); err != nil {
		return fmt.Errorf("tap: find %s: %w", d.name, err)
	}
	index := ifr.Uint32()
	br, err := unix.NewIfreq(bridge)
	if err != nil {
		return fmt.Errorf("tap: bridge name %q: %w", bridge, err)
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFINDEX, br); err != nil {
		if errors.Is(err, unix.ENODEV) {
			return fmt.Errorf("tap: bridge %s does not exist", bridge)
		}
		return fmt.Errorf("tap: bridge %s: %w", bridge, err)
	}
	br.SetUint32(index)
	if err := unix.IoctlIfreq(s, unix.SIOCBRADDIF, br); err != nil {
		// The kernel answers EOPNOTSUPP when the master device is not a
		// bridge (net/core/dev_ioctl.c: netif_is_bridge_master).
		if errors.Is(err, unix.EOPNOTSUPP) {
			return fmt.Errorf("tap: %s is not a bridge", bridge)
		}
		return fmt.Errorf("tap: attach %s to %s: %w", d.name, bridge, err)
	}
	return nil
}

// setUp sets IFF_UP, keeping the other flags.
func (d *Device) setUp(s int) error {
	ifr, err := unix.NewIfreq(d.name)
	if err != nil {
		return fmt.Errorf("tap: %w", err)
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("tap: get %s flags: %w", d.name, err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("tap: set %s up: %w", d.name, err)
	}
	return nil
}

// Name is the interface name the kernel gave the device.
func (d *Device) Name() string { return d.name }

// Read reads one Ethernet frame behind its virtio-net header (offload.HdrLen
// bytes). With TSO the frame may be up to 64 KiB: b should hold
// offload.HdrLen+offload.MaxFrame bytes.
func (d *Device) Read(b []byte) (int, error) { return d.file.Read(b) }

// ReadBatch reads frames one after another into buf: the first read
// waits for a frame, the others take only what the kernel has queued
// already. It stops after len(ends) frames or when a largest frame would
// not fit the rest of buf, and returns how many it read; frame i is
// buf[ends[i-1]:ends[i]] (from 0 for the first). A burst of small frames
// then costs the reader one wakeup, and the sender can batch them.
func (d *Device) ReadBatch(buf []byte, ends []int) (int, error) {
	const most = offload.HdrLen + offload.MaxFrame
	n, err := d.file.Read(buf)
	if err != nil {
		return 0, err
	}
	ends[0] = n
	k := 1
	for k < len(ends) && len(buf)-n >= most {
		d.tryBuf = buf[n:]
		if err := d.raw.Read(d.tryFn); err != nil || d.tryErr != nil || d.tryN <= 0 {
			break // EAGAIN (nothing queued) or an error the next blocking Read reports
		}
		n += d.tryN
		ends[k] = n
		k++
	}
	d.tryBuf = nil
	return k, nil
}

// Write writes one Ethernet frame behind its virtio-net header.
func (d *Device) Write(b []byte) (int, error) { return d.file.Write(b) }

// Close closes the device; the kernel removes it.
func (d *Device) Close() error { return d.file.Close() }
