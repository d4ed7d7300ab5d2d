package ipopconf

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ipopd/ipopd/internal/underlay"
)

// The section that holds the daemon's settings: config ipopd 'main'.
const (
	SectionType = "ipopd"
	SectionName = "main"
)

// Config is the daemon's configuration. The zero value is not valid; start
// from Default.
type Config struct {
	Enabled       bool            // enabled: run the service
	ListenPort    uint16          // listen_port: the one UDP port
	Interface     string          // interface: TAP device name
	Bridge        string          // bridge: bridge to attach the TAP to; "" = none
	MTU           int             // mtu: TAP MTU
	UnderlayMTU   int             // underlay_mtu: MTU of the path between routers
	LogLevel      slog.Level      // log_level: debug, info, warn or error
	Endpoints     []string        // endpoint: static/bootstrap peers, HOST:PORT
	Announce      []underlay.Rule // announce: which local interfaces or prefixes are offered as candidates
	GuardDHCP     bool            // guard_dhcp: keep DHCP server messages off the overlay
	GuardRA       bool            // guard_ra: keep IPv6 router advertisements off the overlay
	MSSClamp      bool            // mss_clamp: lower the MSS of TCP SYNs so segments fit one overlay record
	FloodLimit    int             // flood_limit: broadcast/multicast frames/s per peer; 0 = unlimited
	FloodBurst    int             // flood_burst: burst allowed above FloodLimit
	FloodAllow    []string        // flood_allow: multicast groups that may cross the overlay; none = all
	MACAging      time.Duration   // mac_aging: how long a learned MAC stays
	Keepalive     time.Duration   // keepalive: interval on an idle link
	RekeyInterval time.Duration   // rekey_interval: longest life of a data channel key
	ControlSocket string          // control_socket: path of the CLI socket
	UbusSocket    string          // ubus_socket: ubusd's socket; "" = do not register on ubus
	GoMemLimit    int64           // gomemlimit: bytes; 0 = Go's default
	GOGC          int             // gogc: percent; 0 = Go's default, GOGCOff = off
	Lighthouse    bool            // lighthouse: answer STUN and queries about members, coordinate punching
	Relay         bool            // relay: forward traffic between members that cannot reach each other (used when a lighthouse)
	LinkIdle      time.Duration   // link_idle: close a link to a member after this long without frames (0 = never)
	TURNServer    string          // turn_server: HOST:PORT of a TURN server (UDP); "" = none
	TURNUsername  string          // turn_username: its long-term credential user
	TURNPassword  string          // turn_password: and password (a secret: never logged or shown)
}

// Default returns the configuration used for every option the file does not
// set.
func Default() Config {
	return Config{
		Enabled:       true,
		ListenPort:    6464,
		Interface:     "ipop0",
		MTU:           1500,
		UnderlayMTU:   1500,
		LogLevel:      slog.LevelInfo,
		GuardDHCP:     true,
		GuardRA:       true,
		MSSClamp:      true,
		FloodLimit:    500,
		FloodBurst:    1000,
		MACAging:      300 * time.Second,
		Keepalive:     5 * time.Second,
		RekeyInterval: 120 * time.Second,
		ControlSocket: "/var/run/ipopd.sock",
		UbusSocket:    "/var/run/ubus/ubus.sock",
		Relay:         true,
		LinkIdle:      600 * time.Second,
	}
}

// spec describes one option: how to read it from its text, how to check the
// typed value and how to write it back.
type spec struct {
	name   string
	list   bool
	parse  func(c *Config, raw string) error // checks raw fully; errors quote it
	check  func(c *Config) error             // checks the typed field
	format func(c *Config) []string          // nil: not set
}

// maxRate bounds flood_limit and flood_burst; far above any broadcast rate
// a home network produces.
const maxRate = 1000000

// specs lists the options of the main section in documentation order.
var specs = []spec{
	boolOpt("enabled", func(c *Config) *bool { return &c.Enabled }),
	{
		name: "listen_port",
		parse: func(c *Config, raw string) error {
			n, ok := parseUint(raw)
			if !ok || n < 1 || n > math.MaxUint16 {
				return invalid(fmt.Sprintf("%q is not a port (1-65535)", raw))
			}
			c.ListenPort = uint16(n)
			return nil
		},
		check: func(c *Config) error {
			if c.ListenPort == 0 {
				return invalid("0 is not a port (1-65535)")
			}
			return nil
		},
		format: func(c *Config) []string { return []string{strconv.Itoa(int(c.ListenPort))} },
	},
	{
		name: "interface",
		parse: func(c *Config, raw string) error {
			c.Interface = raw
			return checkIfname(raw)
		},
		check:  func(c *Config) error { return checkIfname(c.Interface) },
		format: func(c *Config) []string { return []string{c.Interface} },
	},
	{
		name: "bridge",
		parse: func(c *Config, raw string) error {
			c.Bridge = raw
			return checkIfname(raw)
		},
		check: func(c *Config) error {
			if c.Bridge == "" {
				return nil
			}
			return checkIfname(c.Bridge)
		},
		format: func(c *Config) []string { return optional(c.Bridge) },
	},
	intOpt("mtu", 1280, 9000, "", func(c *Config) *int { return &c.MTU }),
	intOpt("underlay_mtu", 576, 9000, "", func(c *Config) *int { return &c.UnderlayMTU }),
	{
		name: "log_level",
		parse: func(c *Config, raw string) (err error) {
			c.LogLevel, err = parseLogLevel(raw)
			return err
		},
		check: func(c *Config) error {
			if _, ok := formatLogLevel(c.LogLevel); !ok {
				return invalid(fmt.Sprintf("level %v is not debug, info, warn or error", c.LogLevel))
			}
			return nil
		},
		format: func(c *Config) []string {
			name, _ := formatLogLevel(c.LogLevel)
			return []string{name}
		},
	},
	{
		name: "endpoint",
		list: true,
		parse: func(c *Config, raw string) error {
			c.Endpoints = append(c.Endpoints, raw)
			return checkEndpoint(raw)
		},
		check: func(c *Config) error {
			var errs []error
			for _, e := range c.Endpoints {
				errs = append(errs, checkEndpoint(e))
			}
			return errors.Join(errs...)
		},
		format: func(c *Config) []string { return append([]string(nil), c.Endpoints...) },
	},
	{
		name: "announce",
		list: true,
		parse: func(c *Config, raw string) error {
			r, err := underlay.ParseRule(raw)
			if err != nil {
				return invalid(err.Error())
			}
			c.Announce = append(c.Announce, r)
			return nil
		},
		check: func(c *Config) error {
			for _, r := range c.Announce {
				if _, err := underlay.ParseRule(r.String()); err != nil {
					return invalid(err.Error())
				}
			}
			return nil
		},
		format: func(c *Config) []string {
			var out []string
			for _, r := range c.Announce {
				out = append(out, r.String())
			}
			return out
		},
	},
	boolOpt("lighthouse", func(c *Config) *bool { return &c.Lighthouse }),
	boolOpt("relay", func(c *Config) *bool { return &c.Relay }),
	{
		name: "turn_server",
		parse: func(c *Config, raw string) error {
			c.TURNServer = raw
			if raw == "" {
				return nil
			}
			return checkEndpoint(raw)
		},
		check: func(c *Config) error {
			if c.TURNServer == "" {
				return nil
			}
			if c.TURNUsername == "" || c.TURNPassword == "" {
				return invalid("a TURN server needs turn_username and turn_password")
			}
			return checkEndpoint(c.TURNServer)
		},
		format: func(c *Config) []string { return optional(c.TURNServer) },
	},
	{
		name:   "turn_username",
		parse:  func(c *Config, raw string) error { c.TURNUsername = raw; return nil },
		check:  func(*Config) error { return nil },
		format: func(c *Config) []string { return optional(c.TURNUsername) },
	},
	{
		name:   "turn_password",
		parse:  func(c *Config, raw string) error { c.TURNPassword = raw; return nil },
		check:  func(*Config) error { return nil },
		format: func(c *Config) []string { return optional(c.TURNPassword) },
	},
	boolOpt("guard_dhcp", func(c *Config) *bool { return &c.GuardDHCP }),
	boolOpt("guard_ra", func(c *Config) *bool { return &c.GuardRA }),
	boolOpt("mss_clamp", func(c *Config) *bool { return &c.MSSClamp }),
	{
		name: "flood_allow",
		list: true,
		parse: func(c *Config, raw string) error {
			c.FloodAllow = append(c.FloodAllow, raw)
			return checkFloodAllow(raw)
		},
		check: func(c *Config) error {
			var errs []error
			for _, e := range c.FloodAllow {
				errs = append(errs, checkFloodAllow(e))
			}
			return errors.Join(errs...)
		},
		format: func(c *Config) []string { return append([]string(nil), c.FloodAllow...) },
	},
	intOpt("flood_limit", 0, maxRate, "frames per second", func(c *Config) *int { return &c.FloodLimit }),
	intOpt("flood_burst", 0, maxRate, "frames", func(c *Config) *int { return &c.FloodBurst }),
	secondsOpt("mac_aging", 10, 86400, func(c *Config) *time.Duration { return &c.MACAging }),
	secondsOpt("keepalive", 1, 600, func(c *Config) *time.Duration { return &c.Keepalive }),
	secondsOpt("rekey_interval", 10, 86400, func(c *Config) *time.Duration { return &c.RekeyInterval }),
	secondsOpt("link_idle", 0, 86400, func(c *Config) *time.Duration { return &c.LinkIdle }),
	{
		name: "control_socket",
		parse: func(c *Config, raw string) error {
			c.ControlSocket = raw
			return checkSocketPath(raw)
		},
		check:  func(c *Config) error { return checkSocketPath(c.ControlSocket) },
		format: func(c *Config) []string { return []string{c.ControlSocket} },
	},
	{
		name: "ubus_socket",
		parse: func(c *Config, raw string) error {
			c.UbusSocket = raw
			if raw == "" {
				return nil
			}
			return checkSocketPath(raw)
		},
		check: func(c *Config) error {
			if c.UbusSocket == "" {
				return nil
			}
			return checkSocketPath(c.UbusSocket)
		},
		format: func(c *Config) []string { return optional(c.UbusSocket) },
	},
	{
		name: "gomemlimit",
		parse: func(c *Config, raw string) (err error) {
			if c.GoMemLimit, err = parseBytes(raw); err != nil {
				return err
			}
			if c.GoMemLimit == 0 {
				// In the file "unset" is spelled by leaving the option out.
				return checkMemLimit(-1, strconv.Quote(raw))
			}
			return checkMemLimit(c.GoMemLimit, strconv.Quote(raw))
		},
		check: func(c *Config) error { return checkMemLimit(c.GoMemLimit, strconv.FormatInt(c.GoMemLimit, 10)) },
		format: func(c *Config) []string {
			if c.GoMemLimit == 0 {
				return nil
			}
			return []string{formatBytes(c.GoMemLimit)}
		},
	},
	{
		name: "gogc",
		parse: func(c *Config, raw string) (err error) {
			c.GOGC, err = parseGOGC(raw)
			return err
		},
		check:  func(c *Config) error { return checkGOGC(int64(c.GOGC), strconv.Itoa(c.GOGC)) },
		format: func(c *Config) []string { return formatGOGC(c.GOGC) },
	},
}

func optional(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func lookupSpec(name string) *spec {
	for i := range specs {
		if specs[i].name == name {
			return &specs[i]
		}
	}
	return nil
}

func boolOpt(name string, field func(*Config) *bool) spec {
	return spec{
		name: name,
		parse: func(c *Config, raw string) (err error) {
			*field(c), err = parseBool(raw)
			return err
		},
		check:  func(*Config) error { return nil },
		format: func(c *Config) []string { return []string{formatBool(*field(c))} },
	}
}

func intOpt(name string, lo, hi int, unit string, field func(*Config) *int) spec {
	rng := fmt.Sprintf("%d-%d", lo, hi)
	if unit != "" {
		rng += " " + unit
	}
	return spec{
		name: name,
		parse: func(c *Config, raw string) error {
			n, ok := parseUint(raw)
			if !ok {
				return invalid(fmt.Sprintf("%q is not a whole number (%s)", raw, rng))
			}
			if n < int64(lo) || n > int64(hi) {
				return invalid(fmt.Sprintf("%q is out of range (%s)", raw, rng))
			}
			*field(c) = int(n)
			return nil
		},
		check: func(c *Config) error {
			if n := *field(c); n < lo || n > hi {
				return invalid(fmt.Sprintf("%d is out of range (%s)", n, rng))
			}
			return nil
		},
		format: func(c *Config) []string { return []string{strconv.Itoa(*field(c))} },
	}
}

// secondsOpt is a duration written as a whole number of seconds, the UCI
// convention.
func secondsOpt(name string, lo, hi int64, field func(*Config) *time.Duration) spec {
	rng := fmt.Sprintf("%d-%d seconds", lo, hi)
	return spec{
		name: name,
		parse: func(c *Config, raw string) error {
			n, ok := parseUint(raw)
			if !ok {
				return invalid(fmt.Sprintf("%q is not a whole number of seconds (%s)", raw, rng))
			}
			if n < lo || n > hi {
				return invalid(fmt.Sprintf("%q is out of range (%s)", raw, rng))
			}
			*field(c) = time.Duration(n) * time.Second
			return nil
		},
		check: func(c *Config) error {
			d := *field(c)
			if d%time.Second != 0 {
				return invalid(fmt.Sprintf("%v is not a whole number of seconds", d))
			}
			if s := int64(d / time.Second); s < lo || s > hi {
				return invalid(fmt.Sprintf("%v is out of range (%s)", d, rng))
			}
			return nil
		},
		format: func(c *Config) []string { return []string{strconv.FormatInt(int64(*field(c)/time.Second), 10)} },
	}
}

// crossErrors checks the rules that involve more than one option. Each
// error names the option to fix.
func (c *Config) crossErrors() []*Error {
	var errs []*Error
	if c.FloodLimit > 0 && c.FloodBurst < 1 {
		errs = append(errs, &Error{Option: "flood_burst", Err: invalid(fmt.Sprintf(
			"%d is too small: it must be at least 1 when flood_limit is set (flood_limit 0 means unlimited)", c.FloodBurst))})
	}
	if len(c.FloodAllow) > 1 && slices.ContainsFunc(c.FloodAllow, func(e string) bool { return strings.EqualFold(strings.TrimSpace(e), "none") }) {
		errs = append(errs, &Error{Option: "flood_allow", Err: invalid(
			"'none' keeps every multicast group off the overlay and cannot be listed with other entries")})
	}
	if c.Bridge != "" && c.Bridge == c.Interface {
		errs = append(errs, &Error{Option: "bridge", Err: invalid(fmt.Sprintf(
			"%q is the TAP interface itself; name the bridge to attach it to, or leave bridge unset", c.Bridge))})
	}
	return errs
}

// Validate checks every field and the rules between them. It returns one
// *Error per problem, joined.
func (c Config) Validate() error {
	var errs []error
	for _, sp := range specs {
		if err := sp.check(&c); err != nil {
			errs = append(errs, &Error{Option: sp.name, Err: err})
		}
	}
	for _, e := range c.crossErrors() {
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}
