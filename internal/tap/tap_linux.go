package tap

import (
	"errors"
	"fmt"
	"os"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Device is an open TAP device.
type Device struct {
	name string
	file *os.File
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
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
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
	// A non-blocking fd in os.File goes through the runtime poller, so a
	// blocked Read returns when Close is called.
	d := &Device{name: ifr.Name(), file: os.NewFile(uintptr(fd), "tap:"+ifr.Name())}
	if err := d.configure(cfg); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func (d *Device) configure(cfg Config) error {
	link, err := netlink.LinkByName(d.name)
	if err != nil {
		return fmt.Errorf("tap: find %s: %w", d.name, err)
	}
	if cfg.MTU > 0 {
		if err := netlink.LinkSetMTU(link, cfg.MTU); err != nil {
			return fmt.Errorf("tap: set %s mtu %d: %w", d.name, cfg.MTU, err)
		}
	}
	if cfg.Bridge != "" {
		br, err := netlink.LinkByName(cfg.Bridge)
		if err != nil {
			return fmt.Errorf("tap: bridge %s: %w", cfg.Bridge, err)
		}
		if br.Type() != "bridge" {
			return fmt.Errorf("tap: %s is a %s, not a bridge", cfg.Bridge, br.Type())
		}
		if err := netlink.LinkSetMaster(link, br); err != nil {
			return fmt.Errorf("tap: attach %s to %s: %w", d.name, cfg.Bridge, err)
		}
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("tap: set %s up: %w", d.name, err)
	}
	return nil
}

// Name is the interface name the kernel gave the device.
func (d *Device) Name() string { return d.name }

// Read reads one Ethernet frame.
func (d *Device) Read(b []byte) (int, error) { return d.file.Read(b) }

// Write writes one Ethernet frame.
func (d *Device) Write(b []byte) (int, error) { return d.file.Write(b) }

// Close closes the device; the kernel removes it.
func (d *Device) Close() error { return d.file.Close() }
