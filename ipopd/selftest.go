package main

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/ipopd/ipopd/internal/group"
	"github.com/ipopd/ipopd/internal/netsim"
	"github.com/ipopd/ipopd/internal/transport"
	"github.com/ipopd/ipopd/ubus"
	"github.com/ipopd/ipopd/uci"
	"github.com/ipopd/ipopd/uci/ipopconf"
)

// selftestConfig is the default /etc/config/ipop as shipped (comments
// trimmed), so the UCI check exercises the parser on the text a router
// really starts with. selftest_test.go checks it still matches the file in
// openwrt/ipopd/files.
const selftestConfig = `# /etc/config/ipop: settings of ipopd, the GroupVPN daemon.

config ipopd 'main'
	# Run the service (1) or keep it stopped (0).
	option enabled '1'
	option listen_port '6464'
	option interface 'ipop0'
	option bridge 'br-ipop'
	#option mtu '1500'
	#list endpoint 'vpn.example.org:6464'
`

// selftestHandshakeTimeout bounds the DTLS check. Under qemu-user on a slow
// CI machine a P-256 handshake takes a few seconds; a minute means "broken",
// not "slow".
const selftestHandshakeTimeout = 60 * time.Second

// selfCheck is one named check of `ipopd selftest`.
type selfCheck struct {
	name string
	run  func() error
}

func selfChecks() []selfCheck {
	return []selfCheck{
		{"crypto chacha20-poly1305", func() error { return aeadRoundTrip(chacha20poly1305.New) }},
		{"crypto aes-256-gcm", func() error { return aeadRoundTrip(newAESGCM) }},
		{"uci parse", func() error { return uciCheck(selftestConfig) }},
		{"blobmsg round trip", blobmsgCheck},
		{"dtls handshake", dtlsCheck},
	}
}

func cmdSelftest(args []string) error {
	c := newCommand("selftest", "", "Check that this build works on this machine: ciphers, the UCI parser, blobmsg\nencoding and one in-memory DTLS handshake between two nodes. Touches nothing outside a temporary\ndirectory; prints one line per check.")
	_, err := c.parseN(args, 0)
	if err != nil {
		return err
	}
	return runSelfChecks(os.Stdout, selfChecks())
}

// runSelfChecks runs every check, printing "ok" or "FAIL" per line, and
// fails if any failed: the later checks still run so one report shows all.
func runSelfChecks(w io.Writer, checks []selfCheck) error {
	failed := 0
	for _, c := range checks {
		start := time.Now()
		if err := c.run(); err != nil {
			failed++
			fmt.Fprintf(w, "FAIL %-26s %v\n", c.name, err)
			continue
		}
		fmt.Fprintf(w, "ok   %-26s %v\n", c.name, time.Since(start).Round(time.Millisecond))
	}
	if failed > 0 {
		return fmt.Errorf("selftest: %d of %d checks failed", failed, len(checks))
	}
	return nil
}

func newAESGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// aeadRoundTrip seals and opens a message with a random key, and checks that
// a flipped ciphertext bit and wrong additional data are both refused: a
// miscompiled assembly path fails one of the three.
func aeadRoundTrip(newAEAD func(key []byte) (cipher.AEAD, error)) error {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("random key: %w", err)
	}
	a, err := newAEAD(key)
	if err != nil {
		return fmt.Errorf("new cipher: %w", err)
	}
	nonce := make([]byte, a.NonceSize())
	nonce[len(nonce)-1] = 1
	// 1500 bytes: long enough for the vectorised paths, odd tail included.
	msg := make([]byte, 1499)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	ad := []byte("ipopd selftest")
	sealed := a.Seal(nil, nonce, msg, ad)
	if len(sealed) != len(msg)+a.Overhead() {
		return fmt.Errorf("sealed %d bytes, want %d", len(sealed), len(msg)+a.Overhead())
	}
	opened, err := a.Open(nil, nonce, sealed, ad)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	if !bytes.Equal(opened, msg) {
		return errors.New("opened text differs from the sealed one")
	}
	sealed[10] ^= 1
	if _, err := a.Open(nil, nonce, sealed, ad); err == nil {
		return errors.New("a corrupted ciphertext was accepted")
	}
	sealed[10] ^= 1
	if _, err := a.Open(nil, nonce, sealed, []byte("other")); err == nil {
		return errors.New("wrong additional data was accepted")
	}
	return nil
}

// uciCheck parses text, reads the typed config from it, edits one option and
// parses the result again: the parser, the writer and the model in one go.
func uciCheck(text string) error {
	f, err := uci.Parse("ipop", []byte(text))
	if err != nil {
		return err
	}
	if got := f.Bytes(); !bytes.Equal(got, []byte(text)) {
		return errors.New("unmodified file does not render byte for byte")
	}
	c, err := ipopconf.FromFile(f)
	if err != nil {
		return err
	}
	if c.ListenPort != 6464 || c.Interface != "ipop0" || !c.Enabled {
		return fmt.Errorf("parsed listen_port %d, interface %q, enabled %v; want 6464, ipop0, true", c.ListenPort, c.Interface, c.Enabled)
	}
	s := f.Section("main")
	if s == nil {
		return errors.New("section main not found")
	}
	if err := s.Set("listen_port", "7000"); err != nil {
		return err
	}
	f2, err := uci.Parse("ipop", f.Bytes())
	if err != nil {
		return fmt.Errorf("reparse after edit: %w", err)
	}
	c2, err := ipopconf.FromFile(f2)
	if err != nil {
		return fmt.Errorf("reparse after edit: %w", err)
	}
	if c2.ListenPort != 7000 {
		return fmt.Errorf("edited listen_port reads back as %d, want 7000", c2.ListenPort)
	}
	return nil
}

// blobmsgOneInt32 is the table {"a": int32 1} as ubusd sends it: the
// attribute header (extended bit, type 5, length 12), name length 1, "a",
// NUL, then the big-endian value. A byte-order slip on one architecture shows
// here.
var blobmsgOneInt32 = []byte{0x85, 0, 0, 12, 0, 1, 'a', 0, 0, 0, 0, 1}

// blobmsgCheck encodes a table of every blobmsg type, decodes it, and
// encodes it again: the values and the bytes must survive.
func blobmsgCheck() error {
	b, err := ubus.EncodeTable(ubus.Table{{Name: "a", Value: int32(1)}})
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	if !bytes.Equal(b, blobmsgOneInt32) {
		return fmt.Errorf("encoded {a: 1} as % x, want % x", b, blobmsgOneInt32)
	}
	in := ubus.Table{
		{Name: "name", Value: "ipopd"},
		{Name: "i8", Value: int8(-3)},
		{Name: "i16", Value: int16(1234)},
		{Name: "i32", Value: int32(-70000)},
		{Name: "i64", Value: int64(1) << 40},
		{Name: "ratio", Value: 0.25},
		{Name: "peers", Value: ubus.Array{"a", int32(2), ubus.Table{{Name: "up", Value: int8(1)}}}},
		{Name: "empty", Value: ubus.Table{}},
	}
	b, err = ubus.EncodeTable(in)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	out, err := ubus.DecodeTable(b)
	if err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if !reflect.DeepEqual(normalizeTable(in), normalizeTable(out)) {
		return fmt.Errorf("decoded %v, want %v", out, in)
	}
	again, err := ubus.EncodeTable(out)
	if err != nil {
		return fmt.Errorf("encode again: %w", err)
	}
	if !bytes.Equal(again, b) {
		return errors.New("decode then encode changed the bytes")
	}
	return nil
}

// normalizeTable makes empty containers compare equal whether nil or not.
func normalizeTable(t ubus.Table) ubus.Table {
	out := ubus.Table{}
	for _, f := range t {
		out = append(out, ubus.Field{Name: f.Name, Value: normalizeValue(f.Value)})
	}
	return out
}

func normalizeValue(v any) any {
	switch x := v.(type) {
	case ubus.Table:
		return normalizeTable(x)
	case ubus.Array:
		out := ubus.Array{}
		for _, e := range x {
			out = append(out, normalizeValue(e))
		}
		return out
	}
	return v
}

// dtlsCheck makes a throwaway group with two members in a temporary
// directory, runs both transports over an in-memory network, connects one to
// the other and sends one frame across.
func dtlsCheck() error {
	dir, err := os.MkdirTemp("", "ipopd-selftest-")
	if err != nil {
		return fmt.Errorf("temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)
	now := time.Now()
	noPrefixes := func() ([]netip.Prefix, error) { return nil, nil }
	owner, err := group.Create(filepath.Join(dir, "a"), group.CreateOptions{
		Name: "selftest", NodeName: "selftest-a", Now: now, LocalPrefixes: noPrefixes,
	})
	if err != nil {
		return fmt.Errorf("create group: %w", err)
	}
	bundle, err := owner.Issue("selftest-b", netip.Addr{}, now)
	if err != nil {
		return fmt.Errorf("issue certificate: %w", err)
	}
	member, err := group.Install(filepath.Join(dir, "b"), bundle, group.InstallOptions{Now: now, LocalPrefixes: noPrefixes})
	if err != nil {
		return fmt.Errorf("install bundle: %w", err)
	}

	net := netsim.New()
	got := make(chan []byte, 1)
	a, err := selftestNode(net, owner, "10.99.0.1:6464", nil)
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := selftestNode(net, member, "10.99.0.2:6464", func(_ *transport.Peer, f []byte) {
		select {
		case got <- append([]byte(nil), f...):
		default:
		}
	})
	if err != nil {
		return err
	}
	defer b.Close()

	ctx, cancel := context.WithTimeout(context.Background(), selftestHandshakeTimeout)
	defer cancel()
	peer, err := a.Connect(ctx, netip.MustParseAddrPort("10.99.0.2:6464"))
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	frame := make([]byte, 60)
	copy(frame, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5, 's', 'e', 'l', 'f'})
	// The receiver may finish its side of the handshake just after the
	// sender's Connect returns, so resend until the frame shows up.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := a.SendFrame(peer, frame); err != nil && !errors.Is(err, transport.ErrNotReady) {
			return fmt.Errorf("send frame: %w", err)
		}
		select {
		case f := <-got:
			if !bytes.Equal(f, frame) {
				return fmt.Errorf("received frame of %d bytes differs from the one sent", len(f))
			}
			return nil
		case <-ctx.Done():
			return errors.New("handshake: frame not received in time")
		case <-tick.C:
		}
	}
}

func selftestNode(n *netsim.Network, st *group.State, addr string, onFrame func(*transport.Peer, []byte)) (*transport.Transport, error) {
	conn, err := n.Listen(netip.MustParseAddrPort(addr))
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	if onFrame == nil {
		onFrame = func(*transport.Peer, []byte) {}
	}
	t, err := transport.New(transport.Config{
		Conn:        conn,
		Certificate: st.TLSCertificate(),
		Verify: func(raw [][]byte) (transport.Identity, error) {
			id, err := st.VerifyPeer(raw, time.Now())
			if err != nil {
				return transport.Identity{}, err
			}
			return transport.Identity{NodeID: id.NodeID, Name: id.Name, Address: id.Address}, nil
		},
		Self:    transport.Identity{NodeID: st.NodeID, Name: st.NodeName, Address: st.Address},
		Version: version,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnFrame: onFrame,
	})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("transport %s: %w", st.NodeName, err)
	}
	t.Start()
	return t, nil
}
