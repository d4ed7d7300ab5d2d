package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipopd/ipopd/internal/netlab"
)

// world is a simulated internet (one switch host) with sites attached:
// each site a router running ipopd with a LAN bridge and one LAN host.
type world struct {
	t     *testing.T
	lab   *netlab.Lab
	inet  *netlab.Host
	ipopd string // the daemon binary
	sites []*site
	// uplinkDelay, when set, delays each NAT box's link to the internet.
	uplinkDelay time.Duration
	uplinkLoss  float64
	// uplinkVia, when set, links NAT box n's wan0 to the switch port
	// p<n> instead (the chaos soak puts a switchable impairer there).
	uplinkVia func(box *netlab.Host, n int)
}

// site is one router, its LAN host and its daemon.
type site struct {
	w       *world
	n       int
	name    string
	router  *netlab.Host
	host    *netlab.Host
	wanIP   string // router's address on the simulated internet
	lanIP   string // LAN host's address in the shared overlay subnet
	state   string // --state dir
	config  string // UCI file
	proc    *netlab.Proc
	options map[string]string
	natBox  *netlab.Host // the NAT in front of the router, if any
}

const (
	port     = "6464"
	overlay  = "10.77.0.0/16"
	inetPfx  = "172.31.0."
	lanPfx   = "10.77."
	groupArg = "e2e"
)

func newWorld(t *testing.T) *world {
	t.Helper()
	lab := netlab.New(t)
	w := &world{t: t, lab: lab, ipopd: netlab.BuildTool(t, "github.com/ipopd/ipopd/ipopd")}
	w.inet = lab.Host("inet")
	w.inet.MustExec(t, "ip", "link", "add", "br-inet", "type", "bridge")
	w.inet.MustExec(t, "ip", "link", "set", "br-inet", "up")
	return w
}

// addSite makes router rN (WAN on the switch) with LAN host hN behind its
// bridge br-lan.
func (w *world) addSite() *site {
	w.t.Helper()
	n := len(w.sites) + 1
	s := &site{w: w, n: n, name: fmt.Sprintf("r%d", n), options: map[string]string{}}
	s.router = w.lab.Router(s.name)
	s.host = w.lab.Host(fmt.Sprintf("h%d", n))
	s.wanIP = fmt.Sprintf("%s%d", inetPfx, n)
	s.lanIP = fmt.Sprintf("%s%d.10", lanPfx, n)
	w.lab.Link(s.router, "wan0", w.inet, fmt.Sprintf("p%d", n))
	w.inet.MustExec(w.t, "ip", "link", "set", fmt.Sprintf("p%d", n), "master", "br-inet")
	s.router.Addr("wan0", s.wanIP+"/24")
	w.lab.Link(s.host, "eth0", s.router, "lan0")
	s.router.Bridge("br-lan", "lan0")
	s.host.Addr("eth0", s.lanIP+"/16")
	dir := w.t.TempDir()
	s.state = filepath.Join(dir, "state")
	s.config = filepath.Join(dir, "ipop")
	w.sites = append(w.sites, s)
	return s
}

// ipopd runs the CLI inside the site's router namespace.
func (s *site) ipopd(args ...string) (string, error) {
	return s.router.Exec(append([]string{s.w.ipopd}, args...)...)
}

func (s *site) mustIpopd(args ...string) string {
	s.w.t.Helper()
	out, err := s.ipopd(args...)
	if err != nil {
		s.w.t.Fatalf("%s: ipopd %s: %v\n%s", s.name, strings.Join(args, " "), err, out)
	}
	return out
}

// provision makes the first site the group owner and gives every other
// site a bundle from it.
func (w *world) provision() {
	w.t.Helper()
	owner := w.sites[0]
	owner.mustIpopd("group", "create", "--name", groupArg, "--subnet", overlay, "--node-name", owner.name, "--state", owner.state)
	for _, s := range w.sites[1:] {
		bundle := filepath.Join(w.t.TempDir(), s.name+".bundle")
		owner.mustIpopd("group", "issue", "--name", s.name, "--out", bundle, "--state", owner.state)
		s.mustIpopd("group", "install", bundle, "--state", s.state)
	}
}

// writeConfig writes the site's /etc/config/ipop: every other site as an
// endpoint, plus extra options.
func (s *site) writeConfig() {
	s.w.t.Helper()
	var eps []string
	for _, o := range s.w.sites {
		if o != s {
			eps = append(eps, o.wanIP+":"+port)
		}
	}
	s.writeConfigWith(eps)
}

// writeConfigWith writes the config with the given endpoints.
func (s *site) writeConfigWith(eps []string) {
	s.w.t.Helper()
	var b strings.Builder
	b.WriteString("config ipopd 'main'\n\toption enabled '1'\n\toption listen_port '" + port + "'\n")
	b.WriteString("\toption interface 'ipop0'\n\toption bridge 'br-lan'\n\toption log_level 'debug'\n\toption keepalive '1'\n")
	b.WriteString("\toption control_socket '" + s.socket() + "'\n")
	for k, v := range s.options {
		fmt.Fprintf(&b, "\toption %s '%s'\n", k, v)
	}
	for _, e := range eps {
		fmt.Fprintf(&b, "\tlist endpoint '%s'\n", e)
	}
	if err := os.WriteFile(s.config, []byte(b.String()), 0o600); err != nil {
		s.w.t.Fatal(err)
	}
}

func (s *site) socket() string { return filepath.Join(filepath.Dir(s.config), "ipopd.sock") }

func (s *site) start() {
	s.w.t.Helper()
	s.writeConfig()
	s.proc = s.router.Start("ipopd", s.w.ipopd, "run", "-c", s.config, "--state", s.state)
}

// stop sends SIGTERM and waits for a clean exit.
func (s *site) stop() {
	s.w.t.Helper()
	if err := s.proc.Stop(); err != nil {
		s.w.t.Fatalf("%s: ipopd did not stop cleanly: %v\n%s", s.name, err, s.proc.Log())
	}
}

func (s *site) reload() {
	s.w.t.Helper()
	s.writeConfig()
	if err := s.proc.Signal(syscall.SIGHUP); err != nil {
		s.w.t.Fatal(err)
	}
}

// waitPeers waits until the site's daemon logged n peers up.
func (s *site) waitLog(what string, within time.Duration) {
	s.w.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if strings.Contains(s.proc.Log(), what) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.w.t.Fatalf("%s: %q not logged within %v; log:\n%s", s.name, what, within, s.proc.Log())
}

func (w *world) startAll() {
	w.t.Helper()
	for _, s := range w.sites {
		s.start()
	}
}

var countRE = regexp.MustCompile(`(?m)^count (\d+)$`)

// count reads the "count N" line that rawframe -listen prints last.
func count(t *testing.T, out string) int {
	t.Helper()
	m := countRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no count line in rawframe output:\n%s", out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
