package join

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"

	"github.com/pion/dtls/v3"

	"github.com/ipopd/ipopd/internal/dtlscookie"
	"github.com/ipopd/ipopd/internal/group"
	"github.com/ipopd/ipopd/internal/wire"
)

// exportLabel must match the member side (internal/transport).
const exportLabel = "EXPORTER-ipop-join-v1"

// attemptTimeout bounds one bootstrap member: handshake and two round trips.
const attemptTimeout = 10 * time.Second

// ErrUnreachable: no bootstrap member in the token answered.
var ErrUnreachable = errors.New("no bootstrap member of the group could be reached")

// Refused is the group's answer when it turned the join down (used
// invite, expired, bad proof...). It is final: retrying will not help.
type Refused struct{ Reason string }

func (e *Refused) Error() string { return "the group refused the join: " + e.Reason }

// Run asks the group in tok to let this router in as nodeName with key.
// It tries each bootstrap endpoint in turn.
func Run(ctx context.Context, tok group.Token, nodeName string, key *ecdsa.PrivateKey) (*group.JoinResult, error) {
	if len(tok.Endpoints) == 0 {
		return nil, errors.New("the token names no bootstrap member")
	}
	cert, err := selfSigned(nodeName, key)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, ep := range tok.Endpoints {
		res, err := attempt(ctx, tok, ep, nodeName, key, cert)
		if err == nil {
			return res, nil
		}
		var r *Refused
		if errors.As(err, &r) {
			return nil, err
		}
		errs = append(errs, fmt.Errorf("%s: %w", ep, err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("%w (is the group owner online? try again later): %w", ErrUnreachable, errors.Join(errs...))
}

func attempt(ctx context.Context, tok group.Token, endpoint, nodeName string, key *ecdsa.PrivateKey, cert tls.Certificate) (*group.JoinResult, error) {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	raddr, err := net.ResolveUDPAddr("udp", endpoint)
	if err != nil {
		return nil, err
	}
	pc, err := net.ListenUDP("udp", nil)
	if err != nil {
		return nil, err
	}
	defer pc.Close()
	var memberCert *x509.Certificate
	//lint:ignore SA1019 pion/dtls v3 keeps Config for its whole major version; the options API has no per-handshake CID generator hook we could share
	// ClientConn does the members' stateless cookie exchange (see package
	// dtlscookie) beside pion's.
	conn, err := dtls.Client(dtlscookie.NewClientConn(pc), raddr, &dtls.Config{
		Certificates: []tls.Certificate{cert},
		// The member is checked below against the CA the token names,
		// once we have that CA's certificate.
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("member presented no certificate")
			}
			c, err := x509.ParseCertificate(raw[0])
			memberCert = c
			return err
		},
		CipherSuites:         []dtls.CipherSuiteID{dtls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
		ExtendedMasterSecret: dtls.RequireExtendedMasterSecret,
		FlightInterval:       500 * time.Millisecond,
	})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("handshake: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	var info wire.JoinInfo
	if err := roundTrip(conn, &wire.JoinHello{}, &info); err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(info.CACert)
	if err != nil {
		return nil, fmt.Errorf("member sent a bad CA certificate: %w", err)
	}
	if sha256.Sum256(ca.Raw) != tok.CAFingerprint {
		return nil, fmt.Errorf("member at %s is not of the invited group: its CA fingerprint differs from the token's", endpoint)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if _, err := memberCert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, fmt.Errorf("member at %s is not signed by the invited group's CA: %w", endpoint, err)
	}
	state, ok := conn.ConnectionState()
	if !ok {
		return nil, errors.New("no session state")
	}
	binding, err := state.ExportKeyingMaterial(exportLabel, nil, 32)
	if err != nil {
		return nil, err
	}
	pub := group.MarshalPublicKey(key)
	if pub == nil {
		return nil, errors.New("unusable node key")
	}
	reqBytes, err := group.MarshalJoinRequest(group.JoinRequest{
		InviteID:  tok.ID,
		Proof:     group.Proof(tok.Secret, binding),
		NodeName:  nodeName,
		PublicKey: pub,
	})
	if err != nil {
		return nil, err
	}
	var reply wire.JoinReply
	if err := roundTrip(conn, &wire.JoinRequest{Request: reqBytes}, &reply); err != nil {
		return nil, err
	}
	if reply.Error != "" {
		return nil, &Refused{Reason: reply.Error}
	}
	res, err := group.UnmarshalJoinResult(reply.Result)
	if err != nil {
		return nil, fmt.Errorf("member sent a bad join result: %w", err)
	}
	return res, nil
}

// roundTrip sends one control message and reads the answer into out.
func roundTrip(conn *dtls.Conn, req any, out any) error {
	b, err := wire.Marshal(req)
	if err != nil {
		return err
	}
	if _, err := conn.Write(b); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	buf := make([]byte, wire.MaxMessageSize+64)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return fmt.Errorf("no answer: %w", err)
		}
		m, err := wire.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		switch v := out.(type) {
		case *wire.JoinInfo:
			if got, ok := m.(*wire.JoinInfo); ok {
				*v = *got
				return nil
			}
		case *wire.JoinReply:
			if got, ok := m.(*wire.JoinReply); ok {
				*v = *got
				return nil
			}
		}
	}
}

// selfSigned makes the certificate the joiner shows in the handshake: it
// proves possession of key and carries the name it asks for.
func selfSigned(name string, key *ecdsa.PrivateKey) (tls.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
