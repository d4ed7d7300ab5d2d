package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/ipopd/ipopd/internal/control"
	"github.com/ipopd/ipopd/internal/group"
	"github.com/ipopd/ipopd/internal/overlay"
	"github.com/ipopd/ipopd/internal/tap"
	"github.com/ipopd/ipopd/internal/transport"
	"github.com/ipopd/ipopd/uci/ipopconf"
)

// Options says what to run.
type Options struct {
	Config   ipopconf.Config
	StateDir string
	Version  string
	Logger   *slog.Logger

	// Conn and Device replace the UDP socket and the TAP device (tests).
	Conn   transport.PacketConn
	Device Device
}

// Daemon is one running member.
type Daemon struct {
	opts  Options
	log   *slog.Logger
	state *group.State
	tr    *transport.Transport
	sw    *sw
	start time.Time

	mu        sync.Mutex // guards the fields below
	cfg       ipopconf.Config
	endpoints map[string]context.CancelFunc
}

// socketBuffer is what we ask the kernel for on the UDP socket: enough to
// ride out a scheduling hiccup at a few hundred Mbit/s, small enough for a
// 64 MiB router (the kernel caps it at net.core.rmem_max anyway).
const socketBuffer = 2 << 20

// macExpireEvery sweeps aged MAC entries; lookups already ignore them.
const macExpireEvery = 30 * time.Second

// New loads the group state and opens the socket and the device.
func New(o Options) (*Daemon, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	st, err := group.Load(o.StateDir)
	if err != nil {
		if errors.Is(err, group.ErrNoGroup) {
			return nil, fmt.Errorf("%w\n(create a group with 'ipopd group create --name NAME' or install a bundle with 'ipopd group install FILE')", err)
		}
		return nil, err
	}
	cfg := o.Config
	d := &Daemon{opts: o, log: o.Logger, state: st, start: time.Now(), cfg: cfg, endpoints: map[string]context.CancelFunc{}}

	conn := o.Conn
	if conn == nil {
		uc, err := net.ListenUDP("udp", &net.UDPAddr{Port: int(cfg.ListenPort)})
		if err != nil {
			return nil, fmt.Errorf("listen on udp port %d: %w", cfg.ListenPort, err)
		}
		// Best effort: the kernel may cap these; a smaller buffer still works.
		_ = uc.SetReadBuffer(socketBuffer)
		_ = uc.SetWriteBuffer(socketBuffer)
		conn = uc
	}
	dev := o.Device
	if dev == nil {
		td, err := tap.Open(tap.Config{Name: cfg.Interface, MTU: cfg.MTU, Bridge: cfg.Bridge})
		if err != nil {
			conn.Close()
			return nil, err
		}
		dev = td
	}
	d.sw = &sw{
		dev:       dev,
		macs:      overlay.NewMACTable[*transport.Peer](overlay.DefaultMACTableSize, cfg.MACAging),
		guardsOut: overlay.NewGuards(overlay.GuardConfig{DHCP: cfg.GuardDHCP, RA: cfg.GuardRA}),
		guardsIn:  overlay.NewGuards(overlay.GuardConfig{DHCP: cfg.GuardDHCP, RA: cfg.GuardRA}),
		start:     d.start,
	}
	d.sw.floodRate.Store(&[2]int{cfg.FloodLimit, cfg.FloodBurst})

	tr, err := transport.New(transport.Config{
		Conn:        conn,
		Certificate: st.TLSCertificate(),
		Verify: func(raw [][]byte) (transport.Identity, error) {
			id, err := st.VerifyPeer(raw, time.Now())
			if err != nil {
				return transport.Identity{}, err
			}
			return transport.Identity{NodeID: id.NodeID, Name: id.Name, Address: id.Address}, nil
		},
		Self:        transport.Identity{NodeID: st.NodeID, Name: st.NodeName, Address: st.Address},
		Version:     o.Version,
		Keepalive:   cfg.Keepalive,
		UnderlayMTU: cfg.UnderlayMTU,
		MaxFrame:    cfg.MTU + 18, // Ethernet header and one VLAN tag
		Logger:      d.log,
		OnFrame:     d.sw.receive,
		OnNewPeer:   d.sw.newPeerState,
		OnPeerDown:  func(p *transport.Peer) { d.sw.macs.ForgetPort(p) },
	})
	if err != nil {
		conn.Close()
		dev.Close()
		return nil, err
	}
	d.tr = tr
	d.sw.tr = tr
	return d, nil
}

// Run runs the member until ctx is done, then shuts down cleanly: peers are
// told, the device is closed (the kernel removes the TAP). A value on
// reload makes it apply a new configuration.
func (d *Daemon) Run(ctx context.Context, reload <-chan ipopconf.Config) error {
	d.log.Info("ipopd running", "version", d.opts.Version, "group", d.state.Name, "node", d.state.NodeName,
		"node_id", d.state.NodeID, "address", d.state.Address.String(), "listen", d.tr.LocalAddr().String())
	d.tr.Start()
	d.mu.Lock()
	d.setEndpointsLocked(d.cfg.Endpoints)
	d.mu.Unlock()

	devErr := make(chan error, 1)
	go func() { devErr <- d.sw.readDevice() }()

	ctlCtx, ctlStop := context.WithCancel(context.Background())
	ctlDone := make(chan struct{})
	if path := d.cfg.ControlSocket; path != "" {
		srv, err := control.Listen(path, d.handle, d.log)
		if err != nil {
			// The VPN works without the CLI socket; say so and go on.
			d.log.Error("control socket unavailable; 'ipopd status' and 'ipopd peers' will not work", "err", err)
			close(ctlDone)
		} else {
			go func() { srv.Serve(ctlCtx); close(ctlDone) }()
		}
	} else {
		close(ctlDone)
	}

	tk := time.NewTicker(macExpireEvery)
	defer tk.Stop()
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-devErr:
			runErr = fmt.Errorf("device: %w", err)
			devErr = nil
			break loop
		case cfg := <-reload:
			d.apply(cfg)
		case <-tk.C:
			d.sw.macs.Expire(d.sw.now())
		}
	}
	d.log.Info("shutting down")
	ctlStop()
	<-ctlDone
	d.mu.Lock()
	d.setEndpointsLocked(nil)
	d.mu.Unlock()
	trErr := d.tr.Close()
	devCloseErr := d.sw.dev.Close()
	if devErr != nil {
		<-devErr
	}
	return errors.Join(runErr, trErr, devCloseErr)
}

// setEndpointsLocked keeps a link to each configured endpoint and stops
// keeping those no longer configured.
func (d *Daemon) setEndpointsLocked(eps []string) {
	want := map[string]bool{}
	for _, e := range eps {
		want[e] = true
	}
	for e, cancel := range d.endpoints {
		if !want[e] {
			cancel()
			delete(d.endpoints, e)
		}
	}
	for e := range want {
		if _, ok := d.endpoints[e]; !ok {
			ctx, cancel := context.WithCancel(context.Background())
			d.endpoints[e] = cancel
			d.tr.Maintain(ctx, e)
		}
	}
}

// apply takes a reloaded configuration: what can change live changes, the
// rest is reported as needing a restart. Links stay up.
func (d *Daemon) apply(cfg ipopconf.Config) {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.cfg
	d.sw.guardsOut.Configure(overlay.GuardConfig{DHCP: cfg.GuardDHCP, RA: cfg.GuardRA})
	d.sw.guardsIn.Configure(overlay.GuardConfig{DHCP: cfg.GuardDHCP, RA: cfg.GuardRA})
	d.sw.setFloodRate(cfg.FloodLimit, cfg.FloodBurst)
	d.setEndpointsLocked(cfg.Endpoints)
	var restart []string
	if cfg.ListenPort != old.ListenPort {
		restart = append(restart, "listen_port")
	}
	if cfg.Interface != old.Interface {
		restart = append(restart, "interface")
	}
	if cfg.Bridge != old.Bridge {
		restart = append(restart, "bridge")
	}
	if cfg.MTU != old.MTU || cfg.UnderlayMTU != old.UnderlayMTU {
		restart = append(restart, "mtu")
	}
	if cfg.Keepalive != old.Keepalive || cfg.MACAging != old.MACAging {
		restart = append(restart, "keepalive/mac_aging")
	}
	d.cfg = cfg
	if len(restart) > 0 {
		d.log.Warn("configuration reloaded; some changes take effect only after a restart", "options", restart)
	} else {
		d.log.Info("configuration reloaded")
	}
}

// Status is a snapshot of the member for the CLI and ubus.
type Status struct {
	Group     string
	NodeID    string
	NodeName  string
	Address   netip.Addr
	Listen    string
	Uptime    time.Duration
	Peers     []transport.PeerStatus
	Transport transport.Stats
	GuardsOut overlay.GuardStats
	GuardsIn  overlay.GuardStats
	MACs      int
	Switch    map[string]uint64
}

// Status returns a snapshot.
func (d *Daemon) Status() Status {
	st := Status{
		Group:     d.state.Name,
		NodeID:    d.state.NodeID,
		NodeName:  d.state.NodeName,
		Address:   d.state.Address,
		Listen:    d.tr.LocalAddr().String(),
		Uptime:    time.Since(d.start).Round(time.Second),
		Transport: d.tr.Stats(),
		GuardsOut: d.sw.guardsOut.Stats(),
		GuardsIn:  d.sw.guardsIn.Stats(),
		MACs:      d.sw.macs.Len(),
		Switch: map[string]uint64{
			"flooded_out":       d.sw.stats.floodedOut.Load(),
			"unicast_out":       d.sw.stats.unicastOut.Load(),
			"delivered_in":      d.sw.stats.deliveredIn.Load(),
			"flood_limited_out": d.sw.stats.floodLimitedOut.Load(),
			"flood_limited_in":  d.sw.stats.floodLimitedIn.Load(),
			"tap_write_errors":  d.sw.stats.tapWriteErrors.Load(),
			"send_errors":       d.sw.stats.sendErrors.Load(),
		},
	}
	for _, p := range d.tr.Peers() {
		st.Peers = append(st.Peers, p.Status())
	}
	return st
}
