package transport

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v3"

	"github.com/ipopd/ipopd/internal/dtlscookie"
	"github.com/ipopd/ipopd/internal/relay"
	"github.com/ipopd/ipopd/internal/wire"
	"golang.org/x/sys/cpu"
)

// PacketConn is the one UDP socket. *net.UDPConn implements it, and so
// does the in-process network of package netsim.
type PacketConn interface {
	ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error)
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
	LocalAddr() net.Addr
	Close() error
}

// Identity is what a verified peer certificate says.
type Identity struct {
	NodeID  string
	Name    string
	Address netip.Addr
	Pool    netip.Prefix // the DHCP pool slice; zero if none
	// CertDER is the peer's leaf certificate as it came in the handshake;
	// Certificate parses it when needed (a renewal). A parsed certificate
	// costs a session about 2.5 KiB for as long as it lives, its DER a
	// sixth of that.
	CertDER []byte
	// Serial is the certificate's serial number, which revocation checks.
	Serial *big.Int
	// Joiner is set for a client that has no member certificate yet and
	// came to join with an invite (see JoinSession).
	Joiner bool
}

// Certificate parses the peer's leaf certificate.
func (id Identity) Certificate() (*x509.Certificate, error) {
	if len(id.CertDER) == 0 {
		return nil, errors.New("no certificate")
	}
	return x509.ParseCertificate(id.CertDER)
}

// Config configures a Transport.
type Config struct {
	Conn        PacketConn      // the socket; the Transport closes it
	Certificate tls.Certificate // this node's certificate chain and key
	// Verify checks a peer's certificate chain against the group CA and
	// says who it is. It is the whole check: errors reject the handshake
	// and are logged as the reason.
	Verify    func(rawCerts [][]byte) (Identity, error)
	Self      Identity      // this node, to refuse links to itself
	Version   string        // software version, sent in Hello
	Keepalive time.Duration // keepalive interval on idle sessions (default 5 s)
	// RekeyInterval is the longest a data channel key lives: a new
	// handshake replaces every session this often (default 120 s;
	// rekey.go).
	RekeyInterval time.Duration
	UnderlayMTU   int // MTU between members (default 1500)
	MaxFrame      int // largest Ethernet frame carried (default 1518)
	Logger        *slog.Logger

	// OnFrame receives every frame from a peer. It runs on the socket
	// reader goroutine; frame is valid only during the call.
	OnFrame func(p *Peer, frame []byte)
	// OnFlood, when set, receives the floods that travel through a
	// lighthouse (FrameReflect, FrameReflected; see flood.go) instead of
	// OnFrame, with how they came. Same goroutine and lifetime rules.
	OnFlood func(p *Peer, frame []byte, via Via)
	// OnFlush runs on the same goroutine after each socket read, once the
	// frames it held went to OnFrame: the moment to write what was
	// gathered from them.
	OnFlush func()
	// OnNewPeer runs once per peer before it is visible elsewhere (to set Ext).
	OnNewPeer func(p *Peer)
	// OnPeerUp and OnPeerDown report a peer's state changes.
	OnPeerUp, OnPeerDown func(p *Peer)
	// OnControl receives the control messages of member sessions that the
	// transport does not handle itself (CRL, renewal, join forwarding). It
	// runs on the session's reader goroutine.
	OnControl func(p *Peer, m any)
	// TURN, when set, makes this member allocate a relayed address on a
	// TURN server and offer it to the others (see turn.go).
	TURN *relay.TURNConfig
	// Lighthouse makes this member answer STUN on its port; Relay makes it
	// forward datagrams between members that cannot reach each other.
	Lighthouse, Relay bool
	// Owner says this member holds the group CA key (RoleOwner in Hello).
	Owner bool
	// PathOK, when set, says whether a peer may be reached directly at an
	// address. Addresses on the overlay itself must fail it: a packet sent
	// there goes through the tunnel and comes back authenticated, and a
	// session that followed it would carry itself (see package underlay).
	// Candidates, probes, dials, new handshakes and path changes to an
	// address it refuses are dropped. It is called on the socket reader
	// goroutine (on a path change or a ClientHello, not per datagram).
	PathOK func(netip.Addr) bool
	// OnJoin, when set, lets clients without a member certificate make a
	// session to ask to join with an invite; it receives their messages.
	// Nil: such clients are refused in the handshake.
	OnJoin func(j *JoinSession, m any)
}

// Timings. Each says why it has its value.
const (
	// handshakeTimeout covers a full DTLS handshake with several
	// retransmissions on a lossy path.
	handshakeTimeout = 10 * time.Second
	// helloTimeout: the Hello is the first record after the handshake;
	// missing it means the peer is broken or gone.
	helloTimeout = 5 * time.Second
	// flightInterval is pion's first retransmission timer: shorter than
	// its 1 s default so a lost handshake flight costs less.
	flightInterval = 500 * time.Millisecond
	// retireGrace keeps a replaced session open so records already in
	// flight on it still decrypt.
	retireGrace = 2 * time.Second
	// tick is the timer goroutine's period.
	tick = 250 * time.Millisecond
	// Dial backoff after a failed attempt: quick first retries so a
	// restarting peer is found at once, capped so a dead one costs little.
	minBackoff = 500 * time.Millisecond
	maxBackoff = 30 * time.Second
	// maxPendingHandshakes caps server handshakes in progress (each holds
	// a goroutine and pion's state until handshakeTimeout), so proven
	// addresses cannot make us hold unbounded state either.
	maxPendingHandshakes = 64
	// reservedHandshakes of them are only for the addresses of live
	// sessions: a flood from elsewhere never starves rekeys and redials.
	reservedHandshakes = 16
	// maxPendingPerSource: one source (not a live session's) holds at
	// most this many of the others.
	maxPendingPerSource = 8
	// Cookie replies per second (and bursts): for everyone, and for the
	// addresses of live sessions apart. Answering costs a MAC and a send
	// (a few microseconds); 10,000/s answers a legitimate client at least
	// every other try in a 20,000/s flood, and pion retries in 0.5 s.
	hvrRate, hvrBurst           = 10000, 2000
	hvrKnownRate, hvrKnownBurst = 1000, 200
	// Handshakes per second a proven source may start, and its burst:
	// the members behind one carrier NAT coming back after a lighthouse
	// restart fit. A source whose handshake fails is slowed at once
	// (hsPenaltyEvery), so this is not what stops a foreign flooder.
	hsRate, hsBurst = 20, 64
	// A source whose handshake failed authentication may start one per
	// hsPenaltyEvery for hsPenaltyFor.
	hsPenaltyEvery = 10 * time.Second
	hsPenaltyFor   = 5 * time.Minute
	// maxLimitSources bounds the per-source table (about 100 bytes each).
	maxLimitSources = 4096
	// provenTTL: how long a stock client's address stays proven, long
	// enough for its retry; maxProven bounds the set.
	provenTTL = time.Minute
	maxProven = 1024
	// liveSetAge: how stale the set of live sessions' addresses may be.
	liveSetAge = time.Second
	// failLogInterval limits handshake failure logs per remote address.
	failLogInterval = 30 * time.Second
)

// Stats counts what the transport dropped and why.
type Stats struct {
	UnknownIndex   uint64 // data records for no session (cheap drop)
	AuthFailed     uint64 // data records that did not authenticate
	Replayed       uint64 // data records seen before or too old
	BadPayload     uint64 // authenticated but malformed payloads
	NotDTLS        uint64 // datagrams of no kind we handle
	HandshakeLimit uint64 // ClientHellos dropped at the pending limit
	CookiesSent    uint64 // HelloVerifyRequests sent (stateless cookies)
	HelloBadCookie uint64 // ClientHellos with a cookie that is not ours, stale or for another address
	HelloLimited   uint64 // ClientHellos dropped by a rate limit (cookie replies, per-source handshakes)
	HelloMalformed uint64 // ClientHellos we could not parse
	HandshakeAuth  uint64 // handshakes that failed authentication (a certificate of another group)
	JoinLimited    uint64 // join sessions refused by the per-source join limit
	JoinRefused    uint64 // join requests refused (a bad invite proof, an unknown or used invite)
	SendErrors     uint64 // socket write errors
	NoSession      uint64 // frames for a peer that is down
	Relayed        uint64 // datagrams this member relayed for others
	RelayDropped   uint64 // relay envelopes refused (unknown sender or destination)
	PathRefused    uint64 // packets and path changes refused: the address is on the overlay itself
	KeyLimit       uint64 // data records not sealed or refused: the key's record limit, or a key just erased
	Rekeys         uint64 // sessions replaced by a newer one with the same peer instance (rekey.go)
	RekeyFailures  uint64 // rekey handshakes that failed
}

// Transport is a member's socket and its sessions with peers.
type Transport struct {
	cfg         Config
	conn        PacketConn
	log         *slog.Logger
	start       time.Time
	instance    uint64
	maxFrame    int
	underlayMTU int
	keepalive   time.Duration
	suites      []dtls.CipherSuiteID

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	bufs    sync.Pool // *packetBuf
	gsoBufs sync.Pool // *gsoBuf
	udp     *udpOffload

	stUnknownIndex, stAuthFailed, stReplayed, stBadPayload atomic.Uint64
	stNotDTLS, stHandshakeLimit, stSendErrors, stNoSession atomic.Uint64
	stRelayed, stRelayDropped, stPathRefused               atomic.Uint64
	stKeyLimit, stRekeys, stRekeyFailures                  atomic.Uint64
	stCookiesSent, stHelloBadCookie, stHelloRateLimited    atomic.Uint64
	stHelloMalformed, stHandshakeAuthFailed                atomic.Uint64
	stJoinLimited, stJoinRefused                           atomic.Uint64

	// Handshake flood defences (package dtlscookie, ratelimit.go).
	cookies                   *dtlscookie.Jar
	hvrBudget, hvrKnownBudget globalLimit
	hsLimit                   *sourceLimit // handshakes per proven source
	joinLimit                 *sourceLimit // join sessions per source
	proven                    provenSet
	live                      atomic.Pointer[liveSet]

	// idxMu guards byIndex; separate from mu so the receive path takes only
	// a read lock.
	idxMu   sync.RWMutex
	byIndex map[uint32]*session

	upPeers atomic.Pointer[[]*Peer] // peers with an active session, for flooding
	// lastNudge is when quiet sessions last made us send keepalives to the
	// relays (redial.go); the timer goroutine's alone.
	lastNudge int64

	// turnMu guards turn, the TURN client (nil without a TURN server).
	turnMu     sync.Mutex
	turn       *relay.TURN
	turnServer netip.AddrPort
	cert       atomic.Pointer[tls.Certificate]

	// mu guards the fields below. Lock order: mu before Peer.mu and session.mu.
	mu           sync.Mutex
	closed       bool
	byCID        map[[cidLen]byte]*vconn
	byAddr       map[pathKey]*vconn // handshakes, by remote address (and relayed peer)
	pending      int                // server handshakes in progress
	pendingBy    map[limitKey]int   // the same, by source
	joins        int                // join sessions open
	sessions     map[*session]struct{}
	peers        map[string]*Peer
	endpointNode map[string]string // configured endpoint -> node id seen there
	failLog      map[netip.Addr]time.Time
	joinFailLog  map[netip.Addr]time.Time // JoinSession.ProofFailed's log limit

	// keepPion leaves every session's record layer with pion's Conn, as
	// ipopd did before control.go (tests: a peer of an older version).
	keepPion bool
}

// packetBuf is a send buffer: one datagram and the nonce scratch that
// would otherwise escape to the heap on every Seal.
type packetBuf struct {
	b     [relayHeaderLen + maxDatagram]byte // headroom for a relay envelope, then the record
	nonce [nonceLen]byte
}

// maxDatagram bounds one record we send (underlay MTU at most 9000).
const maxDatagram = 9216

// New makes a Transport; Start runs it.
func New(cfg Config) (*Transport, error) {
	if cfg.Conn == nil || cfg.Verify == nil || len(cfg.Certificate.Certificate) == 0 {
		return nil, errors.New("transport: Conn, Verify and Certificate are required")
	}
	if cfg.Keepalive <= 0 {
		cfg.Keepalive = 5 * time.Second
	}
	if cfg.RekeyInterval <= 0 {
		cfg.RekeyInterval = DefaultRekeyInterval
	}
	if cfg.UnderlayMTU == 0 {
		cfg.UnderlayMTU = 1500
	}
	if cfg.UnderlayMTU < 576 || cfg.UnderlayMTU > 9000 {
		return nil, fmt.Errorf("transport: underlay MTU %d out of range 576-9000", cfg.UnderlayMTU)
	}
	if cfg.MaxFrame == 0 {
		cfg.MaxFrame = 1518
	}
	if cfg.MaxFrame < 64 || cfg.MaxFrame > 9018+4 {
		return nil, fmt.Errorf("transport: max frame %d out of range", cfg.MaxFrame)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.OnFrame == nil {
		cfg.OnFrame = func(*Peer, []byte) {}
	}
	if cfg.OnFlush == nil {
		cfg.OnFlush = func() {}
	}
	var inst [8]byte
	if _, err := rand.Read(inst[:]); err != nil {
		return nil, fmt.Errorf("transport: random: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &Transport{
		cfg:          cfg,
		conn:         cfg.Conn,
		log:          cfg.Logger,
		start:        time.Now(),
		instance:     binary.BigEndian.Uint64(inst[:]),
		maxFrame:     cfg.MaxFrame,
		underlayMTU:  cfg.UnderlayMTU,
		keepalive:    cfg.Keepalive,
		suites:       preferredSuites(),
		ctx:          ctx,
		cancel:       cancel,
		byIndex:      make(map[uint32]*session),
		byCID:        make(map[[cidLen]byte]*vconn),
		byAddr:       make(map[pathKey]*vconn),
		sessions:     make(map[*session]struct{}),
		peers:        make(map[string]*Peer),
		endpointNode: make(map[string]string),
		failLog:      make(map[netip.Addr]time.Time),
		joinFailLog:  make(map[netip.Addr]time.Time),
		pendingBy:    make(map[limitKey]int),
		cookies:      dtlscookie.NewJar(time.Now),
		hsLimit:      newSourceLimit(hsRate, hsBurst, 1/hsPenaltyEvery.Seconds(), hsPenaltyFor, maxLimitSources),
		joinLimit:    newSourceLimit(joinRate, joinBurst, 1/hsPenaltyEvery.Seconds(), hsPenaltyFor, maxLimitSources),
	}
	t.hvrBudget = globalLimit{rate: hvrRate, burst: hvrBurst}
	t.hvrKnownBudget = globalLimit{rate: hvrKnownRate, burst: hvrKnownBurst}
	t.bufs.New = func() any { return new(packetBuf) }
	t.gsoBufs.New = func() any { return new(gsoBuf) }
	t.udp = newUDPOffload(cfg.Conn)
	if cfg.TURN != nil {
		t.turn = relay.NewTURN(*cfg.TURN)
		t.turnServer = cfg.TURN.Server
	}
	t.SetCertificate(cfg.Certificate)
	empty := []*Peer{}
	t.upPeers.Store(&empty)
	return t, nil
}

// hasAES reports whether this CPU has AES and carry-less multiply
// instructions, which make AES-GCM the faster AEAD.
func hasAES() bool {
	return cpu.X86.HasAES && cpu.X86.HasPCLMULQDQ || cpu.ARM64.HasAES && cpu.ARM64.HasPMULL
}

// PreferredCipher names the data channel AEAD this CPU asks for first.
func PreferredCipher() string {
	if hasAES() {
		return CipherAESGCM
	}
	return CipherChaCha20
}

// preferredSuites puts AES-GCM first where the CPU has AES instructions and
// ChaCha20-Poly1305 first elsewhere (MIPS and most router ARM cores), where
// it is several times faster.
func preferredSuites() []dtls.CipherSuiteID {
	if hasAES() {
		return []dtls.CipherSuiteID{dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, dtls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}
	}
	return []dtls.CipherSuiteID{dtls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
}

// Start runs the socket reader and the timer goroutine.
func (t *Transport) Start() {
	t.wg.Add(2)
	go t.readLoop()
	go t.timerLoop()
}

// Close shuts every session down (telling each peer), closes the socket
// and waits for every goroutine the Transport started.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	live := make([]*session, 0, len(t.sessions))
	for s := range t.sessions {
		live = append(live, s)
	}
	t.mu.Unlock()
	t.cancel()
	var wg sync.WaitGroup
	for _, s := range live {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s.ready.Load() {
				s.sendControl(byeShutdown)
			}
			s.close("shutdown")
		}()
	}
	wg.Wait()
	err := t.conn.Close()
	t.wg.Wait()
	return err
}

// now is the transport's monotonic clock in nanoseconds.
func (t *Transport) now() int64 { return int64(time.Since(t.start)) }

// Stats returns the drop counters.
func (t *Transport) Stats() Stats {
	return Stats{
		UnknownIndex:   t.stUnknownIndex.Load(),
		AuthFailed:     t.stAuthFailed.Load(),
		Replayed:       t.stReplayed.Load(),
		BadPayload:     t.stBadPayload.Load(),
		NotDTLS:        t.stNotDTLS.Load(),
		HandshakeLimit: t.stHandshakeLimit.Load(),
		SendErrors:     t.stSendErrors.Load(),
		NoSession:      t.stNoSession.Load(),
		Relayed:        t.stRelayed.Load(),
		RelayDropped:   t.stRelayDropped.Load(),
		PathRefused:    t.stPathRefused.Load(),
		KeyLimit:       t.stKeyLimit.Load(),
		Rekeys:         t.stRekeys.Load(),
		RekeyFailures:  t.stRekeyFailures.Load(),
		CookiesSent:    t.stCookiesSent.Load(),
		HelloBadCookie: t.stHelloBadCookie.Load(),
		HelloLimited:   t.stHelloRateLimited.Load(),
		HelloMalformed: t.stHelloMalformed.Load(),
		HandshakeAuth:  t.stHandshakeAuthFailed.Load(),
		JoinLimited:    t.stJoinLimited.Load(),
		JoinRefused:    t.stJoinRefused.Load(),
	}
}

// UpPeers returns the peers with an established session. The slice is
// shared and must not be modified; it costs nothing to call per frame.
func (t *Transport) UpPeers() []*Peer { return *t.upPeers.Load() }

// Peer returns the peer with node id id, or nil if there is none.
func (t *Transport) Peer(id string) *Peer {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.peers[id]
}

// Peers returns every peer known, up or down.
func (t *Transport) Peers() []*Peer {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*Peer, 0, len(t.peers))
	for _, p := range t.peers {
		out = append(out, p)
	}
	return out
}

// LocalAddr is the socket's address.
func (t *Transport) LocalAddr() net.Addr { return t.conn.LocalAddr() }

// dtlsConfig makes the DTLS configuration for one handshake. id receives
// the verified peer identity.
//
//lint:ignore SA1019 pion/dtls v3 keeps Config for its whole major version; the options API has no per-handshake CID generator hook we could share
func (t *Transport) dtlsConfig(vc *vconn, id *Identity) *dtls.Config {
	//lint:ignore SA1019 pion/dtls v3 keeps Config for its whole major version; the options API has no per-handshake CID generator hook we could share
	return &dtls.Config{
		// The certificate is looked up per handshake so that a renewed one
		// is used from the next handshake on, without a restart.
		GetCertificate: func(*dtls.ClientHelloInfo) (*tls.Certificate, error) { return t.cert.Load(), nil },
		GetClientCertificate: func(*dtls.CertificateRequestInfo) (*tls.Certificate, error) {
			return t.cert.Load(), nil
		},
		// The group CA check is ours, in VerifyPeerCertificate, for both
		// roles: certificates name nodes, not hosts, so the stock hostname
		// check does not apply.
		InsecureSkipVerify: true,
		ClientAuth:         dtls.RequireAnyClientCert,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			got, err := t.cfg.Verify(raw)
			if err != nil {
				// Not a member: as server, maybe a joiner with an invite.
				if !vc.client && t.cfg.OnJoin != nil {
					if j, jerr := joinerIdentity(raw); jerr == nil {
						*id = j
						return nil
					}
				}
				vc.authFailed.Store(true)
				return fmt.Errorf("%w: %w", errPeerCertificate, err)
			}
			if got.NodeID == t.cfg.Self.NodeID {
				return ErrSelf
			}
			*id = got
			return nil
		},
		// No SessionStore: every handshake, rekeys included, is a full
		// one with fresh ECDHE keys and both certificates checked. A
		// resumed session would take its keys from an old master secret,
		// which a rekey must never do.
		CipherSuites:          t.suites,
		ExtendedMasterSecret:  dtls.RequireExtendedMasterSecret,
		ConnectionIDGenerator: vc.generateCID,
		FlightInterval:        flightInterval,
		LoggerFactory:         pionLogs{t.log},
		// The transport did the cookie exchange (dtlscookie), except for
		// a stock client's retry, which gets pion's own.
		InsecureSkipVerifyHello: !vc.client && !vc.pionCookie,
	}
}

func (t *Transport) roles() uint8 {
	var r uint8
	if t.cfg.Lighthouse {
		r |= wire.RoleLighthouse
	}
	if t.cfg.Relay {
		r |= wire.RoleRelay
	}
	if t.cfg.Owner {
		r |= wire.RoleOwner
	}
	return r
}

// SetCertificate replaces this node's certificate for new handshakes
// (after a renewal). Sessions already up keep theirs.
func (t *Transport) SetCertificate(c tls.Certificate) {
	t.cert.Store(&c)
}

func (t *Transport) registerCID(cid [cidLen]byte, vc *vconn) {
	t.mu.Lock()
	t.byCID[cid] = vc
	t.mu.Unlock()
}

// handshake runs a DTLS handshake on vc and sets up the session.
func (t *Transport) handshake(vc *vconn) (*session, error) {
	return t.handshakeCtx(t.ctx, vc, path{})
}

// handshakeCtx is handshake bounded by ctx as well as handshakeTimeout.
// fb, when relayed, is the session's fallback (a redial of a session that
// began on a relay keeps it); otherwise the path it begins on decides.
func (t *Transport) handshakeCtx(ctx context.Context, vc *vconn, fb path) (*session, error) {
	var id Identity
	cfg := t.dtlsConfig(vc, &id)
	raddr := net.UDPAddrFromAddrPort(vc.endpoint())
	var conn *dtls.Conn
	var err error
	if vc.client {
		//lint:ignore SA1019 pion/dtls v3 keeps Config for its whole major version; the options API has no per-handshake CID generator hook we could share
		conn, err = dtls.Client(vc, raddr, cfg)
	} else {
		//lint:ignore SA1019 pion/dtls v3 keeps Config for its whole major version; the options API has no per-handshake CID generator hook we could share
		conn, err = dtls.Server(vc, raddr, cfg)
	}
	if err != nil {
		t.dropVconn(vc)
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	if err := conn.HandshakeContext(ctx); err != nil {
		_ = conn.Close()
		t.dropVconn(vc)
		return nil, err
	}
	state, ok := conn.ConnectionState()
	if !ok {
		_ = conn.Close()
		t.dropVconn(vc)
		return nil, errors.New("no connection state after handshake")
	}
	ks, err := deriveKeys(state, vc.client)
	if err != nil {
		_ = conn.Close()
		t.dropVconn(vc)
		return nil, err
	}
	vc.established.Store(true)
	if id.Joiner {
		t.startJoinSession(vc, conn, id)
		return nil, errJoinerSession
	}
	now := t.now()
	s := &session{
		t:          t,
		vc:         vc,
		conn:       conn,
		id:         id,
		client:     vc.client,
		cipher:     state.CipherSuiteID.String(),
		created:    now,
		rekeyAfter: t.rekeyAfter(),
		done:       make(chan struct{}),
		readyC:     make(chan struct{}),
	}
	s.keys.Store(&ks)
	s.lastRecv.Store(now)
	s.lastSend.Store(now)
	if !vc.path().relayed() {
		// The handshake just crossed the direct path: it works (a redial
		// or rekey that keeps a relayed fallback must not fall back on it
		// before its first record).
		s.lastDirect.Store(now)
	}
	if p := vc.path(); p.relayed() {
		s.fallback.Store(&p)
	} else if fb.relayed() {
		s.fallback.Store(&fb) // a redial keeps the relay of the session it replaces
	}
	if err := t.addSession(s); err != nil {
		_ = conn.Close()
		t.dropVconn(vc)
		return nil, err
	}
	s.sendHello()
	return s, nil
}

// addSession publishes a new session: a fresh receiver index, the peer
// object, and its control reader.
func (t *Transport) addSession(s *session) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	p := t.peers[s.id.NodeID]
	if p == nil {
		p = &Peer{NodeID: s.id.NodeID}
		p.downSince = time.Now()
		if t.cfg.OnNewPeer != nil {
			t.cfg.OnNewPeer(p)
		}
		t.peers[s.id.NodeID] = p
	}
	p.mu.Lock()
	p.name, p.address, p.pool, p.lastHandshake = s.id.Name, s.id.Address, s.id.Pool, time.Now()
	p.mu.Unlock()
	s.peer = p

	t.idxMu.Lock()
	for {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			t.idxMu.Unlock()
			return err
		}
		idx := binary.BigEndian.Uint32(b[:])
		if _, taken := t.byIndex[idx]; !taken {
			s.localIndex = idx
			t.byIndex[idx] = s
			break
		}
	}
	t.idxMu.Unlock()
	t.sessions[s] = struct{}{}
	t.wg.Add(1)
	go s.readControl()
	return nil
}
