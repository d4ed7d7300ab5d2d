// Command hsflood floods a DTLS endpoint with handshakes, for the flood
// tests (internal/e2e/flood_test.go):
//
//	hsflood -mode spoof -target 172.31.0.2:6464 -rate 20000 -duration 5s
//	    sends ClientHellos from random spoofed IPv4 sources in -src through
//	    a raw socket (IP_HDRINCL; needs root), paced to -rate per second;
//	hsflood -mode foreign -target 172.31.0.2:6464 -duration 5s
//	    completes real DTLS handshakes from this host's address, in a loop
//	    on -workers goroutines, with a certificate of a throwaway CA (a
//	    group of its own), doing the cookie exchange as an ipopd member
//	    does so that each try costs the target a full handshake.
//
// Both print what they achieved as "key value" lines at the end:
// "sent", "seconds", "rate" (per second); foreign adds "handshakes" (tries
// that reached the certificate check: refused with an alert) and
// "timeouts" (tries the target did not answer: rate limited).
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/dtls/v3"

	"github.com/ipopd/ipopd/internal/dtlscookie"
)

func main() {
	mode := flag.String("mode", "spoof", "spoof or foreign")
	target := flag.String("target", "", "address:port to flood")
	rate := flag.Int("rate", 20000, "spoof: ClientHellos per second")
	src := flag.String("src", "10.200.0.0/16", "spoof: the prefix the sources are drawn from")
	duration := flag.Duration("duration", 5*time.Second, "how long to flood")
	workers := flag.Int("workers", 16, "foreign: concurrent handshakes")
	flag.Parse()
	to, err := netip.ParseAddrPort(*target)
	if err != nil || !to.Addr().Is4() {
		fatal(fmt.Errorf("-target must be an IPv4 address:port: %q", *target))
	}
	switch *mode {
	case "spoof":
		pfx, err := netip.ParsePrefix(*src)
		if err != nil || !pfx.Addr().Is4() {
			fatal(fmt.Errorf("-src must be an IPv4 prefix: %q", *src))
		}
		err = spoof(to, pfx.Masked(), *rate, *duration)
		if err != nil {
			fatal(err)
		}
	case "foreign":
		if err := foreign(to, *workers, *duration); err != nil {
			fatal(err)
		}
	default:
		fatal(fmt.Errorf("unknown -mode %q", *mode))
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "hsflood:", err)
	os.Exit(1)
}

// spoof sends ClientHellos from random sources in pfx, paced in 1 ms
// slices, and reports the rate it achieved.
func spoof(to netip.AddrPort, pfx netip.Prefix, rate int, d time.Duration) error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	if err != nil {
		return fmt.Errorf("raw socket (root needed): %w", err)
	}
	defer syscall.Close(fd)
	if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_IP, syscall.IP_HDRINCL, 1); err != nil {
		return err
	}
	hello := clientHello()
	pkt := make([]byte, 20+8+len(hello))
	copy(pkt[28:], hello)
	dst := to.Addr().As4()
	sa := &syscall.SockaddrInet4{Addr: dst}
	base := binary.BigEndian.Uint32(pfx.Addr().AsSlice())
	hostBits := 32 - pfx.Bits()
	start := time.Now()
	sent := 0
	for now := start; now.Sub(start) < d; now = time.Now() {
		due := int(float64(rate) * now.Sub(start).Seconds())
		for ; sent < due; sent++ {
			var s [4]byte
			host := mrand.Uint32()
			if hostBits < 32 {
				host &= 1<<hostBits - 1
			}
			binary.BigEndian.PutUint32(s[:], base|host)
			ipUDP(pkt, s, dst, uint16(1024+mrand.IntN(64000)), to.Port())
			// A fresh random per hello, as a real client's.
			binary.BigEndian.PutUint64(pkt[28+27:], mrand.Uint64())
			if err := syscall.Sendto(fd, pkt, 0, sa); err != nil && !errors.Is(err, syscall.ENOBUFS) {
				return fmt.Errorf("sendto: %w", err)
			}
		}
		time.Sleep(time.Millisecond)
	}
	report(sent, time.Since(start))
	return nil
}

func report(sent int, took time.Duration) {
	fmt.Printf("sent %d\nseconds %.2f\nrate %.0f\n", sent, took.Seconds(), float64(sent)/took.Seconds())
}

// ipUDP writes the IPv4 and UDP headers in front of the payload in pkt.
// The kernel fills the IP checksum; UDP's is left out (zero, allowed
// over IPv4).
func ipUDP(pkt []byte, src, dst [4]byte, sport, dport uint16) {
	pkt[0] = 0x45
	binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
	pkt[8] = 64
	pkt[9] = syscall.IPPROTO_UDP
	copy(pkt[12:], src[:])
	copy(pkt[16:], dst[:])
	binary.BigEndian.PutUint16(pkt[20:], sport)
	binary.BigEndian.PutUint16(pkt[22:], dport)
	binary.BigEndian.PutUint16(pkt[24:], uint16(len(pkt)-20))
	pkt[26], pkt[27] = 0, 0
}

// clientHello builds a DTLS 1.2 ClientHello of the shape pion sends: the
// two ECDHE-ECDSA AEAD suites, P-256 and X25519, extended master secret.
func clientHello() []byte {
	body := []byte{0xfe, 0xfd}
	body = append(body, make([]byte, 32)...) // random, varied per packet
	body = append(body, 0)                   // session id
	body = append(body, 0)                   // cookie
	body = append(body, 0, 4, 0xc0, 0x2b, 0xcc, 0xa9)
	body = append(body, 1, 0) // compression: null
	ext := []byte{
		0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17, // supported_groups
		0x00, 0x0b, 0x00, 0x02, 0x01, 0x00, // ec_point_formats
		0x00, 0x0d, 0x00, 0x06, 0x00, 0x04, 0x04, 0x03, 0x08, 0x04, // signature_algorithms
		0x00, 0x17, 0x00, 0x00, // extended_master_secret
		0xff, 0x01, 0x00, 0x01, 0x00, // renegotiation_info
	}
	body = binary.BigEndian.AppendUint16(body, uint16(len(ext)))
	body = append(body, ext...)
	n := len(body)
	hs := []byte{1, byte(n >> 16), byte(n >> 8), byte(n), 0, 0, 0, 0, 0, byte(n >> 16), byte(n >> 8), byte(n)}
	rec := []byte{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0}
	rec = binary.BigEndian.AppendUint16(rec, uint16(len(hs)+n))
	return append(append(rec, hs...), body...)
}

// foreign completes handshakes with a certificate of another group.
func foreign(to netip.AddrPort, workers int, d time.Duration) error {
	cert, err := throwawayCert()
	if err != nil {
		return err
	}
	var tries, refused, timeouts atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				tries.Add(1)
				switch err := handshake(ctx, to, cert); {
				case errors.Is(err, context.DeadlineExceeded):
					timeouts.Add(1)
				case err != nil:
					refused.Add(1)
				}
			}
		})
	}
	wg.Wait()
	report(int(tries.Load()), time.Since(start))
	fmt.Printf("handshakes %d\ntimeouts %d\n", refused.Load(), timeouts.Load())
	return nil
}

func handshake(ctx context.Context, to netip.AddrPort, cert tls.Certificate) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	pc, err := net.ListenUDP("udp4", nil)
	if err != nil {
		return err
	}
	defer pc.Close()
	//lint:ignore SA1019 pion/dtls v3 keeps Config for its whole major version
	conn, err := dtls.Client(dtlscookie.NewClientConn(pc), net.UDPAddrFromAddrPort(to), &dtls.Config{
		Certificates:         []tls.Certificate{cert},
		InsecureSkipVerify:   true, // take the target's certificate, so that it must check ours
		ExtendedMasterSecret: dtls.RequireExtendedMasterSecret,
		FlightInterval:       200 * time.Millisecond,
	})
	if err != nil {
		return err
	}
	defer conn.Close()
	err = conn.HandshakeContext(ctx)
	if ctx.Err() != nil {
		return context.DeadlineExceeded
	}
	if err == nil {
		return errors.New("the target accepted a foreign certificate")
	}
	return err
}

// throwawayCert makes a CA and a leaf certificate from it: a member of a
// group the target has never heard of.
func throwawayCert() (tls.Certificate, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hsflood CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "intruder"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der, caDER}, PrivateKey: key}, nil
}
