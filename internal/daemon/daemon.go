package daemon

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipopd/ipopd/internal/control"
	"github.com/ipopd/ipopd/internal/group"
	"github.com/ipopd/ipopd/internal/offload"
	"github.com/ipopd/ipopd/internal/overlay"
	"github.com/ipopd/ipopd/internal/relay"
	"github.com/ipopd/ipopd/internal/tap"
	"github.com/ipopd/ipopd/internal/transport"
	"github.com/ipopd/ipopd/uci/ipopconf"
)

// Options says what to run.
type Options struct {
	Config     ipopconf.Config
	ConfigPath string // where Config came from; joining adds endpoints to it ("" = do not write)
	StateDir   string
	Version    string
	Logger     *slog.Logger

	// Conn and Device replace the UDP socket and the TAP device (tests).
	Conn   transport.PacketConn
	Device Device
}

// Daemon is one router's ipopd: unconfigured (waiting for a join) or a
// running member of a group.
type Daemon struct {
	opts  Options
	log   *slog.Logger
	start time.Time

	// mu guards the fields below. It is never held while calling into the
	// transport's blocking operations.
	mu        sync.Mutex
	cfg       ipopconf.Config
	state     *group.State // nil: not a member of a group
	mem       *member      // nil: not running as a member
	endpoints map[string]context.CancelFunc
	joining   bool

	ren    renames                    // owner: renamed members (rename.go)
	pub    publicAddr                 // what a lighthouse reported (public.go)
	events atomic.Pointer[ubusEvents] // set once ubus is started; read without mu
}

// member is the running data plane of a group member.
type member struct {
	tr     *transport.Transport
	sw     *sw
	disc   *discovery
	filter pathFilter // which addresses may carry the overlay
	devErr chan error
	ctx    context.Context // ends when the member stops
	cancel context.CancelFunc
	wg     sync.WaitGroup // discovery goroutines
}

// socketBuffer is what we ask the kernel for on the UDP socket: enough to
// ride out a scheduling hiccup at a few hundred Mbit/s, small enough for a
// 64 MiB router (the kernel caps it at net.core.rmem_max anyway).
const socketBuffer = 2 << 20

// macExpireEvery sweeps aged MAC entries; lookups already ignore them.
const macExpireEvery = 30 * time.Second

// New loads the group state, if there is one. Without it the daemon runs
// unconfigured and waits for a join.
func New(o Options) (*Daemon, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	d := &Daemon{opts: o, log: o.Logger, start: time.Now(), cfg: o.Config, endpoints: map[string]context.CancelFunc{}}
	st, err := group.Load(o.StateDir)
	switch {
	case errors.Is(err, group.ErrNoGroup):
		d.log.Warn("not a member of any group yet: join one with 'ipopd join TOKEN' (or LuCI), or start one with 'ipopd group create'", "state", o.StateDir)
	case err != nil:
		return nil, err
	default:
		d.state = st
	}
	return d, nil
}

// startMemberLocked opens the socket and the device and starts the data
// plane for d.state.
func (d *Daemon) startMemberLocked() error {
	st, cfg := d.state, d.cfg
	conn := d.opts.Conn
	if conn == nil {
		uc, err := net.ListenUDP("udp", &net.UDPAddr{Port: int(cfg.ListenPort)})
		if err != nil {
			return fmt.Errorf("listen on udp port %d: %w", cfg.ListenPort, err)
		}
		// Best effort: the kernel may cap these; a smaller buffer still works.
		_ = uc.SetReadBuffer(socketBuffer)
		_ = uc.SetWriteBuffer(socketBuffer)
		conn = uc
	}
	dev := d.opts.Device
	if dev == nil {
		td, err := tap.Open(tap.Config{Name: cfg.Interface, MTU: cfg.MTU, Bridge: cfg.Bridge})
		if err != nil {
			conn.Close()
			return err
		}
		dev = td
	}
	m := &member{devErr: make(chan error, 1)}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.disc = newDiscovery(d, m)
	f, _ := newFilter(cfg, st.Subnet)
	m.filter.f.Store(f)
	m.sw = &sw{
		dev:       dev,
		macs:      overlay.NewMACTable[*node](overlay.DefaultMACTableSize, cfg.MACAging),
		guardsOut: overlay.NewGuards(overlay.GuardConfig{DHCP: cfg.GuardDHCP, RA: cfg.GuardRA}),
		guardsIn:  overlay.NewGuards(overlay.GuardConfig{DHCP: cfg.GuardDHCP, RA: cfg.GuardRA}),
		start:     d.start,
		gro:       offload.NewCoalescer(dev.Write),

		isLighthouse: cfg.Lighthouse,
		selfAddr:     st.Address,
		selfPool:     st.Pool,
	}
	m.sw.selfNum, _ = transport.NodeNumber(st.NodeID)
	m.sw.floodRate.Store(&[2]int{cfg.FloodLimit, cfg.FloodBurst})
	m.sw.nodes.rate = func() [2]int { return *m.sw.floodRate.Load() }
	if err := m.sw.setFloodAllow(cfg.FloodAllow); err != nil {
		conn.Close()
		dev.Close()
		return err
	}
	m.sw.setMSSClamp(cfg)
	m.sw.wake = m.disc.wake
	var turn *relay.TURNConfig
	if cfg.TURNServer != "" {
		if ap, err := resolveUDP(cfg.TURNServer); err != nil {
			d.log.Warn("TURN server not usable; going on without it", "server", cfg.TURNServer, "err", err)
		} else {
			turn = &relay.TURNConfig{Server: ap, Username: cfg.TURNUsername, Password: cfg.TURNPassword}
		}
	}
	maxFrame := cfg.MTU + 18 // Ethernet header and one VLAN tag
	tr, err := transport.New(transport.Config{
		TURN:        turn,
		Conn:        conn,
		Certificate: st.TLSCertificate(),
		Verify: func(raw [][]byte) (transport.Identity, error) {
			id, err := st.VerifyPeer(raw, time.Now())
			if err != nil {
				return transport.Identity{}, err
			}
			// VerifyPeer parsed it already; the session keeps the serial
			// and the DER, not the parsed certificate (2.5 KiB a peer).
			leaf, err := x509.ParseCertificate(raw[0])
			if err != nil {
				return transport.Identity{}, err
			}
			return transport.Identity{NodeID: id.NodeID, Name: id.Name, Address: id.Address, Pool: id.Pool,
				CertDER: bytes.Clone(raw[0]), Serial: leaf.SerialNumber}, nil
		},
		Self:      transport.Identity{NodeID: st.NodeID, Name: st.NodeName, Address: st.Address},
		Version:   d.opts.Version,
		Keepalive: cfg.Keepalive,
		// RekeyInterval: the transport's own default when the option is
		// unset (a Config built in code, not read from UCI).
		RekeyInterval: cfg.RekeyInterval,
		UnderlayMTU:   cfg.UnderlayMTU,
		MaxFrame:      maxFrame,
		Logger:        d.log,
		OnFrame:       m.sw.receive,
		OnFlood:       m.sw.receiveFlood,
		OnFlush:       m.sw.flushGRO,
		OnNewPeer:     m.sw.newPeerState,
		OnPeerUp: func(p *transport.Peer) {
			d.onPeerUp(p)
			m.disc.peerUp(p)
			m.sw.peerUp(p)
			d.event("ipop.peer.up", peerEvent(p))
		},
		OnPeerDown: func(p *transport.Peer) {
			m.sw.peerDown(p)
			m.disc.peerDown(p)
			d.event("ipop.peer.down", peerEvent(p))
		},
		Lighthouse: cfg.Lighthouse,
		// relay applies to lighthouses only (docs/config.md): a member
		// that says it relays is picked by others when a relay dies.
		Relay:     cfg.Relay && cfg.Lighthouse,
		Owner:     st.Owner(),
		OnControl: d.onControl,
		OnJoin:    d.onJoin,
		PathOK:    m.filter.ok,
	})
	if err != nil {
		conn.Close()
		dev.Close()
		return err
	}
	m.tr = tr
	m.sw.tr = tr
	d.mem = m
	tr.Start()
	go func() { m.devErr <- m.sw.readDevice(maxFrame) }()
	m.wg.Add(2)
	go m.disc.run()
	go func() { defer m.wg.Done(); trimLoop(m.ctx) }()
	if d.opts.Conn == nil {
		// A real socket on this machine's addresses (tests on a
		// simulated network have none to watch).
		m.wg.Add(1)
		go m.disc.watchAddrs()
	}
	d.setEndpointsLocked(cfg.Endpoints)
	d.applyNetworkAndReload(st)
	d.event("ipop.state", map[string]any{"state": "running", "group": st.Name})
	d.log.Info("member running", "version", d.opts.Version, "group", st.Name, "node", st.NodeName,
		"node_id", st.NodeID, "address", st.Address.String(), "owner", st.Owner(), "listen", tr.LocalAddr().String())
	return nil
}

// stopMember shuts the data plane down: peers are told, the device is
// closed (the kernel removes the TAP).
func (d *Daemon) stopMember() error {
	d.mu.Lock()
	m := d.mem
	d.setEndpointsLocked(nil)
	d.mem = nil
	d.mu.Unlock()
	if m == nil {
		return nil
	}
	m.cancel()
	m.wg.Wait()
	trErr := m.tr.Close()
	devCloseErr := m.sw.dev.Close()
	devErr := <-m.devErr
	return errors.Join(trErr, devCloseErr, devErr)
}

// Run runs until ctx is done, then shuts down cleanly. A value on reload
// makes it apply a new configuration.
func (d *Daemon) Run(ctx context.Context, reload <-chan ipopconf.Config) error {
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

	if path := d.cfg.UbusSocket; path != "" {
		uc := d.startUbus(ctlCtx, path)
		d.events.Store(&ubusEvents{client: uc})
		defer uc.Close()
	}
	d.mu.Lock()
	if d.state != nil {
		if err := d.startMemberLocked(); err != nil {
			d.mu.Unlock()
			ctlStop()
			<-ctlDone
			return err
		}
	} else {
		d.event("ipop.state", map[string]any{"state": "unconfigured"})
	}
	d.mu.Unlock()
	d.maybeRenew() // a router that was off for months renews at once

	tk := time.NewTicker(macExpireEvery)
	defer tk.Stop()
	renew := time.NewTicker(renewCheckEvery)
	defer renew.Stop()
	var runErr error
loop:
	for {
		var devErr chan error
		d.mu.Lock()
		if d.mem != nil {
			devErr = d.mem.devErr
		}
		d.mu.Unlock()
		select {
		case <-ctx.Done():
			break loop
		case err := <-devErr:
			devErr <- err // stopMember reads it again
			runErr = fmt.Errorf("device: %w", err)
			break loop
		case cfg := <-reload:
			d.apply(cfg)
		case <-tk.C:
			if m := d.member(); m != nil {
				m.sw.expire()
			}
		case <-renew.C:
			d.maybeRenew()
		}
	}
	d.log.Info("shutting down")
	ctlStop()
	<-ctlDone
	return errors.Join(runErr, d.stopMember())
}

// resolveUDP turns HOST:PORT into an IPv4 address where it can (router
// uplinks mostly have IPv4).
func resolveUDP(hostport string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(hostport); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
	}
	ua, err := net.ResolveUDPAddr("udp", hostport)
	if err != nil {
		return netip.AddrPort{}, err
	}
	ap := ua.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// event sends a ubus event without blocking the caller (peer state
// changes come from the transport's goroutines).
func (d *Daemon) event(id string, data map[string]any) {
	if e := d.events.Load(); e != nil {
		go e.send(id, data)
	}
}

func (d *Daemon) member() *member {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.mem
}

func (d *Daemon) groupState() *group.State {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.state
}

// setEndpointsLocked keeps a link to each configured endpoint and stops
// keeping those no longer configured.
func (d *Daemon) setEndpointsLocked(eps []string) {
	want := map[string]bool{}
	if d.mem != nil {
		for _, e := range eps {
			want[e] = true
		}
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
			d.mem.tr.Maintain(ctx, e)
		}
	}
}

// apply takes a reloaded configuration: what can change live changes, the
// rest is reported as needing a restart. Links stay up.
func (d *Daemon) apply(cfg ipopconf.Config) {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.cfg
	if m := d.mem; m != nil {
		m.sw.guardsOut.Configure(overlay.GuardConfig{DHCP: cfg.GuardDHCP, RA: cfg.GuardRA})
		m.sw.guardsIn.Configure(overlay.GuardConfig{DHCP: cfg.GuardDHCP, RA: cfg.GuardRA})
		m.sw.setFloodRate(cfg.FloodLimit, cfg.FloodBurst)
		if err := m.sw.setFloodAllow(cfg.FloodAllow); err != nil {
			d.log.Warn("flood_allow not applied; keeping the previous one", "err", err)
		}
		m.sw.setMSSClamp(cfg)
	}
	d.cfg = cfg
	if m := d.mem; m != nil && d.state != nil {
		f, _ := newFilter(cfg, d.state.Subnet)
		m.filter.f.Store(f)
	}
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
	if cfg.RekeyInterval != old.RekeyInterval {
		restart = append(restart, "rekey_interval")
	}
	if cfg.ControlSocket != old.ControlSocket {
		restart = append(restart, "control_socket")
	}
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
	Owner     bool
	Listen    string
	Uptime    time.Duration
	Peers     []transport.PeerStatus
	Transport transport.Stats
	GuardsOut overlay.GuardStats
	GuardsIn  overlay.GuardStats
	MACs      int
	Switch    map[string]uint64
}

// Status returns a snapshot; ok is false when the daemon is not running
// as a member.
func (d *Daemon) Status() (st Status, ok bool) {
	d.mu.Lock()
	s, m := d.state, d.mem
	d.mu.Unlock()
	if s == nil || m == nil {
		return Status{Uptime: time.Since(d.start).Round(time.Second)}, false
	}
	st = Status{
		Group:     s.Name,
		NodeID:    s.NodeID,
		NodeName:  s.NodeName,
		Address:   s.Address,
		Owner:     s.Owner(),
		Listen:    m.tr.LocalAddr().String(),
		Uptime:    time.Since(d.start).Round(time.Second),
		Transport: m.tr.Stats(),
		GuardsOut: m.sw.guardsOut.Stats(),
		GuardsIn:  m.sw.guardsIn.Stats(),
		MACs:      m.sw.macs.Len(),
		Switch:    m.sw.counters(),
	}
	for _, p := range m.tr.Peers() {
		st.Peers = append(st.Peers, p.Status())
	}
	return st, true
}
