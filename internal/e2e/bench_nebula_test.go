package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// nebula as a contender: a CA and one certificate per router made with
// nebula-cert, and a config per end that knows the other end from
// static_host_map (no lighthouse: nebula then only dials static entries,
// which is all two routers need).

const (
	nebPort = "4242"
	nebNet  = "10.202.0." // tunnel addresses: .1 on r1, .2 on r2
	// nebLargeBuffer is the socket buffer size of the "large buffers" row
	// (listen.read_buffer and write_buffer), 4 MiB.
	nebLargeBuffer = 4 << 20
	// nebStartup bounds nebula's start until its TUN is up.
	nebStartup = 10 * time.Second
	// certTimeout bounds one nebula-cert run.
	certTimeout = 30 * time.Second
)

// makeNebulaPKI writes ca.crt/ca.key and n1, n2 certificates and keys for
// the two routers' tunnel addresses into dir.
func makeNebulaPKI(certExe, dir string) error {
	runs := [][]string{{"ca", "-name", "ipop-bench", "-out-crt", "ca.crt", "-out-key", "ca.key"}}
	for i := 1; i <= 2; i++ {
		runs = append(runs, []string{"sign", "-name", fmt.Sprintf("n%d", i), "-networks", fmt.Sprintf("%s%d/24", nebNet, i),
			"-ca-crt", "ca.crt", "-ca-key", "ca.key", "-out-crt", fmt.Sprintf("n%d.crt", i), "-out-key", fmt.Sprintf("n%d.key", i)})
	}
	for _, args := range runs {
		ctx, cancel := context.WithTimeout(context.Background(), certTimeout)
		cmd := exec.CommandContext(ctx, certExe, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			return fmt.Errorf("bench: nebula-cert %s: %w\n%s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// nebulaConfig is the YAML config of end n (1 or 2) whose peer end has
// tunnel address peerIP at underlay address peerWAN.
func nebulaConfig(dir string, n int, peerIP, peerWAN string, largeBuffers bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "pki:\n  ca: %s\n  cert: %s\n  key: %s\n",
		filepath.Join(dir, "ca.crt"), filepath.Join(dir, fmt.Sprintf("n%d.crt", n)), filepath.Join(dir, fmt.Sprintf("n%d.key", n)))
	fmt.Fprintf(&b, "static_host_map:\n  %q: [%q]\n", peerIP, peerWAN+":"+nebPort)
	b.WriteString("lighthouse:\n  am_lighthouse: false\n")
	fmt.Fprintf(&b, "listen:\n  host: 0.0.0.0\n  port: %s\n", nebPort)
	if largeBuffers {
		fmt.Fprintf(&b, "  read_buffer: %d\n  write_buffer: %d\n", nebLargeBuffer, nebLargeBuffer)
	}
	// Distinct TUN names per end, so that logs and `ip link` never mix
	// them up.
	fmt.Fprintf(&b, "tun:\n  dev: nebb%d\n", n)
	b.WriteString("logging:\n  level: info\n")
	b.WriteString("firewall:\n")
	for _, dir := range []string{"outbound", "inbound"} {
		fmt.Fprintf(&b, "  %s:\n    - port: any\n      proto: any\n      host: any\n", dir)
	}
	return b.String()
}

// startNebula runs nebula on both routers and waits until r1 reaches r2
// through it.
func (bn *benchNet) startNebula(exe string, largeBuffers bool) (*tunnel, error) {
	variant := "default"
	if largeBuffers {
		variant = "large"
	}
	tn := &tunnel{addr: nebNet + "2"}
	ends := []*site{bn.a, bn.b}
	for i, s := range ends {
		n := i + 1
		peer := ends[1-i]
		cfg := filepath.Join(bn.dir, fmt.Sprintf("nebula-%s-%d.yml", variant, n))
		if err := os.WriteFile(cfg, []byte(nebulaConfig(bn.dir, n, fmt.Sprintf("%s%d", nebNet, 2-i), peer.wanIP, largeBuffers)), 0o600); err != nil {
			return nil, tn.failStop(fmt.Errorf("bench: nebula config: %w", err))
		}
		p := s.router.Start("nebula", exe, "-config", cfg)
		tn.add(p, s.router, fmt.Sprintf("nebb%d", n))
		if err := waitOutput(p, "Nebula interface is active", nebStartup); err != nil {
			return nil, tn.failStop(err)
		}
	}
	if err := waitReach(bn.a.router, tn.addr, linkUpTimeout); err != nil {
		return nil, tn.failStop(err)
	}
	return tn, nil
}
