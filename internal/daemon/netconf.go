package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"

	"github.com/ipopd/ipopd/internal/group"
	"github.com/ipopd/ipopd/uci"
)

// The router's own place in the group, from its certificate, goes into
// OpenWRT's configuration through UCI, never by `ip` calls behind netifd's
// back: the `ipop` interface gets the member's address in the group subnet
// and the DHCP server on it the member's pool slice. netifd and dnsmasq
// then apply it (reload_config). Where there is no OpenWRT network config
// next to ours (plain Linux, tests without one) nothing is written.

// reloadConfig is OpenWRT's command that applies changed UCI configs.
var reloadConfig = "/sbin/reload_config"

// dhcpLease is the lease time written for the pool.
const dhcpLease = "12h"

// applyNetwork writes the member's address and pool into the network and
// dhcp configs in ucidir. It reports whether anything changed.
func applyNetwork(ucidir string, st *group.State) (bool, error) {
	netPath := filepath.Join(ucidir, "network")
	nf, err := uci.ReadFile(netPath)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	iface := nf.Section("ipop")
	if iface == nil || iface.Type() != "interface" {
		return false, fmt.Errorf("%s has no 'interface ipop' section (the package's uci-defaults make it)", netPath)
	}
	mask := netip.PrefixFrom(st.Subnet.Addr(), st.Subnet.Bits())
	changed := false
	set := func(s *uci.Section, opt, val string) error {
		if cur, ok := s.Get(opt); ok && cur == val {
			return nil
		}
		changed = true
		return s.Set(opt, val)
	}
	for _, kv := range [][2]string{{"proto", "static"}, {"ipaddr", st.Address.String()}, {"netmask", netmaskOf(mask)}} {
		if err := set(iface, kv[0], kv[1]); err != nil {
			return false, err
		}
	}
	if changed {
		if err := uci.WriteFile(netPath, nf, 0o644); err != nil {
			return false, err
		}
	}

	dhcpPath := filepath.Join(ucidir, "dhcp")
	df, err := uci.ReadFile(dhcpPath)
	if errors.Is(err, fs.ErrNotExist) || !st.Pool.IsValid() {
		return changed, nil
	}
	if err != nil {
		return changed, err
	}
	dchanged := false
	sec := df.Section("ipop")
	if sec == nil {
		if sec, err = df.AddSection("dhcp", "ipop"); err != nil {
			return changed, err
		}
		dchanged = true
	}
	start, limit := poolRange(st.Subnet, st.Pool)
	for _, kv := range [][2]string{{"interface", "ipop"}, {"start", strconv.Itoa(start)}, {"limit", strconv.Itoa(limit)}, {"leasetime", dhcpLease}, {"dhcpv4", "server"}} {
		if cur, ok := sec.Get(kv[0]); ok && cur == kv[1] {
			continue
		}
		dchanged = true
		if err := sec.Set(kv[0], kv[1]); err != nil {
			return changed, err
		}
	}
	if dchanged {
		if err := uci.WriteFile(dhcpPath, df, 0o644); err != nil {
			return changed, err
		}
	}
	return changed || dchanged, nil
}

// poolRange turns a pool slice into dnsmasq's start/limit, offsets from
// the interface's network address: the whole slice but its first and last
// address.
func poolRange(subnet, pool netip.Prefix) (start, limit int) {
	base := ipv4Int(subnet.Masked().Addr())
	first := ipv4Int(pool.Masked().Addr())
	size := 1 << (32 - pool.Bits())
	return int(first-base) + 1, size - 2
}

func ipv4Int(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func netmaskOf(p netip.Prefix) string {
	m := ^uint32(0) << (32 - p.Bits())
	return netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}).String()
}

// applyNetworkAndReload applies and, on OpenWRT, has netifd and dnsmasq
// take it.
func (d *Daemon) applyNetworkAndReload(st *group.State) {
	if d.opts.ConfigPath == "" {
		return
	}
	changed, err := applyNetwork(filepath.Dir(d.opts.ConfigPath), st)
	if err != nil {
		d.log.Warn("the ipop network was not configured", "err", err)
		return
	}
	if !changed {
		return
	}
	d.log.Info("ipop network configured from the certificate", "address", st.Address.String(), "pool", st.Pool.String())
	if _, err := os.Stat(reloadConfig); err == nil {
		if err := run(reloadConfig); err != nil {
			d.log.Warn("reload_config failed", "err", err)
		}
	}
}

// run runs a command and waits for it. os.StartProcess rather than os/exec:
// os/exec costs 200 KB of a router's flash for this one call.
func run(path string, args ...string) error {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	defer devnull.Close()
	p, err := os.StartProcess(path, append([]string{path}, args...), &os.ProcAttr{Files: []*os.File{devnull, devnull, devnull}})
	if err != nil {
		return err
	}
	st, err := p.Wait()
	if err != nil {
		return err
	}
	if !st.Success() {
		return fmt.Errorf("%s: %v", path, st)
	}
	return nil
}
