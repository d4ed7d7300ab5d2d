package e2e

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/curve25519"

	"github.com/ipopd/ipopd/internal/netlab"
)

// wireguard-go as a contender: one daemon per router, configured over its
// UAPI socket with the text protocol of wireguard-go's device/uapi.go, so
// that no wireguard-tools are needed.

const (
	wgPort = "51820"
	wgNet  = "10.201.0." // tunnel addresses: .1 on r1, .2 on r2
	// wgSocketDir is where wireguard-go puts its UAPI sockets. It is one
	// directory for every network namespace, so the two ends need
	// different interface names (wgb1, wgb2).
	wgSocketDir = "/var/run/wireguard"
	// wgStartup bounds the wait for the UAPI socket to appear.
	wgStartup = 10 * time.Second
	// uapiTimeout bounds one configuration exchange on the socket.
	uapiTimeout = 5 * time.Second
)

// wgKeys is a Curve25519 key pair.
type wgKeys struct{ priv, pub [32]byte }

func newWGKeys() (wgKeys, error) {
	var k wgKeys
	if _, err := rand.Read(k.priv[:]); err != nil {
		return k, fmt.Errorf("bench: wireguard key: %w", err)
	}
	// Clamp as RFC 7748 says; X25519 would do it anyway, but then the key
	// wireguard-go reports back differs from the one we hold.
	k.priv[0] &= 248
	k.priv[31] = k.priv[31]&127 | 64
	pub, err := curve25519.X25519(k.priv[:], curve25519.Basepoint)
	if err != nil {
		return k, fmt.Errorf("bench: wireguard public key: %w", err)
	}
	copy(k.pub[:], pub)
	return k, nil
}

// wgConfig is the UAPI "set" request for one end: its own key and port and
// a single peer, the other end, that may send from peerTunnelIP only.
func wgConfig(self, peer wgKeys, peerEndpoint, peerTunnelIP string) string {
	return "set=1\n" +
		"private_key=" + hex.EncodeToString(self.priv[:]) + "\n" +
		"listen_port=" + wgPort + "\n" +
		"replace_peers=true\n" +
		"public_key=" + hex.EncodeToString(peer.pub[:]) + "\n" +
		"endpoint=" + peerEndpoint + "\n" +
		"replace_allowed_ips=true\n" +
		"allowed_ip=" + peerTunnelIP + "/32\n" +
		"\n"
}

// parseUAPIReply checks wireguard-go's answer to a set request: key=value
// lines ending with an empty line, among them errno=N; 0 means applied.
func parseUAPIReply(reply string) error {
	for _, line := range strings.Split(reply, "\n") {
		v, ok := strings.CutPrefix(line, "errno=")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%w: wireguard-go UAPI reply line %q", errToolOutput, line)
		}
		if n != 0 {
			return fmt.Errorf("bench: wireguard-go refused the configuration: errno %d", n)
		}
		return nil
	}
	return fmt.Errorf("%w: wireguard-go UAPI reply without errno: %q", errToolOutput, reply)
}

// uapiSet sends a set request on a UAPI socket and checks the reply.
func uapiSet(sock, req string) error {
	c, err := net.DialTimeout("unix", sock, uapiTimeout)
	if err != nil {
		return fmt.Errorf("bench: wireguard-go UAPI: %w", err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(uapiTimeout)); err != nil {
		return fmt.Errorf("bench: wireguard-go UAPI: %w", err)
	}
	if _, err := c.Write([]byte(req)); err != nil {
		return fmt.Errorf("bench: wireguard-go UAPI %s: %w", sock, err)
	}
	var reply strings.Builder
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		reply.WriteString(line)
		if line == "\n" {
			break
		}
		if err != nil {
			return fmt.Errorf("bench: wireguard-go UAPI %s: reading the reply %q: %w", sock, reply.String(), err)
		}
	}
	return parseUAPIReply(reply.String())
}

// waitSocket waits until path exists while p runs.
func waitSocket(p *netlab.Proc, path string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		select {
		case <-p.Done():
			return fmt.Errorf("%s exited (%v) before creating %s:\n%s", p, p.Wait(), path, p.Log())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s created no %s within %v:\n%s", p, path, within, p.Log())
		}
	}
}

// startWireguard runs wireguard-go on both routers, each with the other as
// its one peer, and waits until r1 reaches r2 through the tunnel.
func (bn *benchNet) startWireguard(exe string) (*tunnel, error) {
	ends := []*site{bn.a, bn.b}
	var keys [2]wgKeys
	for i := range keys {
		var err error
		if keys[i], err = newWGKeys(); err != nil {
			return nil, err
		}
	}
	tn := &tunnel{addr: wgNet + "2"}
	for i, s := range ends {
		ifname := fmt.Sprintf("wgb%d", i+1)
		sock := filepath.Join(wgSocketDir, ifname+".sock")
		// A socket that answers belongs to a wireguard-go we did not
		// start (another bench run): refuse rather than reconfigure it.
		if c, err := net.DialTimeout("unix", sock, time.Second); err == nil {
			c.Close()
			return nil, tn.failStop(fmt.Errorf("bench: %s is in use by another wireguard-go", sock))
		}
		p := s.router.Start("wireguard-go", exe, "-f", ifname)
		tn.add(p, s.router, ifname)
		if err := waitSocket(p, sock, wgStartup); err != nil {
			return nil, tn.failStop(err)
		}
		peer := ends[1-i]
		req := wgConfig(keys[i], keys[1-i], peer.wanIP+":"+wgPort, fmt.Sprintf("%s%d", wgNet, 2-i))
		if err := uapiSet(sock, req); err != nil {
			return nil, tn.failStop(err)
		}
		for _, args := range [][]string{
			{"ip", "addr", "add", fmt.Sprintf("%s%d/24", wgNet, i+1), "dev", ifname},
			{"ip", "link", "set", "dev", ifname, "up"},
		} {
			if _, err := s.router.Exec(args...); err != nil {
				return nil, tn.failStop(err)
			}
		}
	}
	if err := waitReach(bn.a.router, tn.addr, linkUpTimeout); err != nil {
		return nil, tn.failStop(err)
	}
	return tn, nil
}
