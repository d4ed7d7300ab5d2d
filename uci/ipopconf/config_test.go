package ipopconf

import (
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ipopd/ipopd/uci"
)

// parse loads a main section holding body.
func parse(t *testing.T, body string) (Config, error) {
	t.Helper()
	f, err := uci.Parse("test", []byte("config ipopd 'main'\n"+body))
	if err != nil {
		t.Fatalf("uci.Parse: %v", err)
	}
	return FromFile(f)
}

func TestDefault(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default() does not validate: %v", err)
	}
	c, err := parse(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("empty main section gives %+v", c)
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		opt, raw string
		err      string // substring of the error; "" for a good value
		check    func(c Config) bool
	}{
		{"enabled", "0", "", func(c Config) bool { return !c.Enabled }},
		{"enabled", "1", "", func(c Config) bool { return c.Enabled }},
		{"enabled", "no", "", func(c Config) bool { return !c.Enabled }},
		{"enabled", "Yes", "", func(c Config) bool { return c.Enabled }},
		{"enabled", "off", "", func(c Config) bool { return !c.Enabled }},
		{"enabled", "on", "", func(c Config) bool { return c.Enabled }},
		{"enabled", "false", "", func(c Config) bool { return !c.Enabled }},
		{"enabled", "TRUE", "", func(c Config) bool { return c.Enabled }},
		{"enabled", "disabled", "", func(c Config) bool { return !c.Enabled }},
		{"enabled", "2", `"2" is not a boolean`, nil},
		{"enabled", "maybe", `"maybe" is not a boolean`, nil},

		{"listen_port", "1", "", func(c Config) bool { return c.ListenPort == 1 }},
		{"listen_port", "65535", "", func(c Config) bool { return c.ListenPort == 65535 }},
		{"listen_port", "0", `"0" is not a port (1-65535)`, nil},
		{"listen_port", "70000", `"70000" is not a port (1-65535)`, nil},
		{"listen_port", "-1", `"-1" is not a port`, nil},
		{"listen_port", "64 64", `"64 64" is not a port`, nil},
		{"listen_port", "99999999999999999999999", `is not a port`, nil},

		{"interface", "tap-ipop", "", func(c Config) bool { return c.Interface == "tap-ipop" }},
		{"interface", "abcdefghijklmno", "", func(c Config) bool { return c.Interface == "abcdefghijklmno" }},
		{"interface", "abcdefghijklmnop", "is not a valid interface name", nil},
		{"interface", "a/b", "is not a valid interface name", nil},
		{"interface", "a:b", "is not a valid interface name", nil},
		{"interface", "a b", "is not a valid interface name", nil},
		{"interface", ".", "is not a valid interface name", nil},
		{"interface", "..", "is not a valid interface name", nil},

		{"bridge", "br-lan", "", func(c Config) bool { return c.Bridge == "br-lan" }},
		{"bridge", "br/lan", "is not a valid interface name", nil},
		{"bridge", "ipop0", "is the TAP interface itself", nil},

		{"mtu", "1280", "", func(c Config) bool { return c.MTU == 1280 }},
		{"mtu", "9000", "", func(c Config) bool { return c.MTU == 9000 }},
		{"mtu", "1279", `"1279" is out of range (1280-9000)`, nil},
		{"mtu", "9001", `"9001" is out of range (1280-9000)`, nil},
		{"mtu", "1.5k", `"1.5k" is not a whole number (1280-9000)`, nil},

		{"underlay_mtu", "576", "", func(c Config) bool { return c.UnderlayMTU == 576 }},
		{"underlay_mtu", "575", `"575" is out of range (576-9000)`, nil},
		{"underlay_mtu", "9001", "out of range", nil},

		{"log_level", "debug", "", func(c Config) bool { return c.LogLevel == slog.LevelDebug }},
		{"log_level", "warn", "", func(c Config) bool { return c.LogLevel == slog.LevelWarn }},
		{"log_level", "ERROR", "", func(c Config) bool { return c.LogLevel == slog.LevelError }},
		{"log_level", "info", "", func(c Config) bool { return c.LogLevel == slog.LevelInfo }},
		{"log_level", "verbose", `"verbose" is not a log level (debug, info, warn or error)`, nil},
		{"log_level", "warning", "is not a log level", nil},

		{"guard_dhcp", "0", "", func(c Config) bool { return !c.GuardDHCP }},
		{"guard_dhcp", "x", "is not a boolean", nil},
		{"guard_ra", "0", "", func(c Config) bool { return !c.GuardRA }},
		{"guard_ra", "", "", func(c Config) bool { return c.GuardRA }}, // empty = unset

		{"flood_limit", "0", "", func(c Config) bool { return c.FloodLimit == 0 }},
		{"flood_limit", "1000000", "", func(c Config) bool { return c.FloodLimit == 1000000 }},
		{"flood_limit", "1000001", "out of range (0-1000000 frames per second)", nil},
		{"flood_limit", "-5", "is not a whole number", nil},
		{"flood_burst", "1", "", func(c Config) bool { return c.FloodBurst == 1 }},
		{"flood_burst", "0", "must be at least 1 when flood_limit is set", nil},
		{"flood_burst", "lots", "is not a whole number", nil},

		{"flood_allow", "224.0.0.251", "", func(c Config) bool { return len(c.FloodAllow) == 1 && c.FloodAllow[0] == "224.0.0.251" }},
		{"flood_allow", "ff02::fb", "", func(c Config) bool { return c.FloodAllow[0] == "ff02::fb" }},
		{"flood_allow", "239.0.0.0/8", "", func(c Config) bool { return c.FloodAllow[0] == "239.0.0.0/8" }},
		{"flood_allow", "01:80:c2:00:00:0e", "", func(c Config) bool { return c.FloodAllow[0] == "01:80:c2:00:00:0e" }},
		{"flood_allow", "all", "", func(c Config) bool { return c.FloodAllow[0] == "all" }},
		{"flood_allow", "None", "", func(c Config) bool { return c.FloodAllow[0] == "None" }},
		{"flood_allow", "10.0.0.1", "not inside 224.0.0.0/4 or ff00::/8", nil},
		{"flood_allow", "224.0.0.0/3", "not inside 224.0.0.0/4", nil},
		{"flood_allow", "02:00:00:00:00:01", "not an Ethernet multicast address", nil},
		{"flood_allow", "ff:ff:ff:ff:ff:ff", "broadcast always crosses", nil},
		{"flood_allow", "mdns", "not a multicast address, prefix or MAC", nil},

		{"mac_aging", "10", "", func(c Config) bool { return c.MACAging == 10*time.Second }},
		{"mac_aging", "86400", "", func(c Config) bool { return c.MACAging == 24*time.Hour }},
		{"mac_aging", "9", `"9" is out of range (10-86400 seconds)`, nil},
		{"mac_aging", "86401", "out of range", nil},
		{"mac_aging", "5m", `"5m" is not a whole number of seconds`, nil},

		{"keepalive", "1", "", func(c Config) bool { return c.Keepalive == time.Second }},
		{"keepalive", "600", "", func(c Config) bool { return c.Keepalive == 10*time.Minute }},
		{"keepalive", "0", "out of range (1-600 seconds)", nil},
		{"keepalive", "601", "out of range", nil},
		{"rekey_interval", "10", "", func(c Config) bool { return c.RekeyInterval == 10*time.Second }},
		{"rekey_interval", "86400", "", func(c Config) bool { return c.RekeyInterval == 24*time.Hour }},
		{"rekey_interval", "9", "out of range (10-86400 seconds)", nil},
		{"rekey_interval", "86401", "out of range", nil},
		{"rekey_interval", "2m", `"2m" is not a whole number of seconds`, nil},

		{"control_socket", "/tmp/ipopd.sock", "", func(c Config) bool { return c.ControlSocket == "/tmp/ipopd.sock" }},
		{"control_socket", "ipopd.sock", "is not an absolute path", nil},
		{"control_socket", "/tmp/", "is a directory", nil},
		{"control_socket", "/" + strings.Repeat("x", 107), "longer than 107 bytes", nil},

		{"gomemlimit", "24MiB", "", func(c Config) bool { return c.GoMemLimit == 24<<20 }},
		{"gomemlimit", "1GiB", "", func(c Config) bool { return c.GoMemLimit == 1<<30 }},
		{"gomemlimit", "4194304", "", func(c Config) bool { return c.GoMemLimit == 4<<20 }},
		{"gomemlimit", "8192KiB", "", func(c Config) bool { return c.GoMemLimit == 8<<20 }},
		{"gomemlimit", "5000000B", "", func(c Config) bool { return c.GoMemLimit == 5000000 }},
		{"gomemlimit", "24", `"24" is less than 4MiB (a number without a suffix means bytes)`, nil},
		{"gomemlimit", "0", "less than 4MiB", nil},
		{"gomemlimit", "24MB", "is not a size", nil},
		{"gomemlimit", "MiB", "is not a size", nil},
		{"gomemlimit", "99999999TiB", "is not a size", nil},

		{"gogc", "50", "", func(c Config) bool { return c.GOGC == 50 }},
		{"gogc", "off", "", func(c Config) bool { return c.GOGC == GOGCOff }},
		{"gogc", "0", `"0" is out of range (1-10000, or off)`, nil},
		{"gogc", "10001", "out of range", nil},
		{"gogc", "-1", "is not a percentage", nil},
	}
	for _, tt := range tests {
		t.Run(tt.opt+"="+tt.raw, func(t *testing.T) {
			c, err := parse(t, "\toption "+tt.opt+" '"+tt.raw+"'\n")
			if tt.err == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if !tt.check(c) {
					t.Errorf("value not applied: %+v", c)
				}
				if err := c.Validate(); err != nil {
					t.Errorf("loaded config does not validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.err)
			}
			if !strings.Contains(err.Error(), tt.err) {
				t.Errorf("error %q does not contain %q", err, tt.err)
			}
			var e *Error
			if !errors.As(err, &e) || e.Option != tt.opt || e.Line != 2 || e.File != "test" {
				t.Errorf("error %#v does not name option %s on line 2", e, tt.opt)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false")
			}
		})
	}
}

func TestEndpoints(t *testing.T) {
	good := []string{
		"1.2.3.4:6464", "[2001:db8::1]:1", "[fe80::1%br-lan]:6464", "[::ffff:1.2.3.4]:65535",
		"vpn.example.org:6464", "vpn.example.org.:6464", "a:1", "xn--bcher-kva.example:443", "host-1.example:06464",
	}
	for _, ep := range good {
		c, err := parse(t, "\tlist endpoint '"+ep+"'\n")
		if err != nil {
			t.Errorf("%s: %v", ep, err)
		} else if len(c.Endpoints) != 1 || c.Endpoints[0] != ep {
			t.Errorf("%s: Endpoints = %q", ep, c.Endpoints)
		}
	}
	bad := map[string]string{
		"":                                       "missing :PORT",
		"1.2.3.4":                                "missing :PORT",
		":6464":                                  "missing host",
		"1.2.3.4:0":                              `port "0" is not 1-65535`,
		"1.2.3.4:65536":                          "is not 1-65535",
		"1.2.3.4:":                               "is not 1-65535",
		"1.2.3.4:+1":                             "is not 1-65535",
		"1.2.3.400:1":                            "is not an IPv4 address",
		"1.2.3:1":                                "is not an IPv4 address",
		"2001:db8::1:6464":                       "must be in brackets",
		"[2001:db8::1]6464":                      "missing :PORT after ']'",
		"[2001:db8::1:6464":                      "missing ']'",
		"[1.2.3.4]:1":                            "is not an IPv6 address",
		"[host]:1":                               "is not an IPv6 address",
		"-bad.example:1":                         "cannot start or end with '-'",
		"bad..example:1":                         "labels are 1-63 characters",
		"under_score.example:1":                  "letters, digits",
		"sp ace:1":                               "letters, digits",
		strings.Repeat("a", 64) + ".example:1":   "labels are 1-63 characters",
		strings.Repeat("abcdefghi.", 26) + "x:1": "longer than 253",
	}
	for ep, want := range bad {
		_, err := parse(t, "\tlist endpoint 'ok.example:1'\n\tlist endpoint '"+ep+"'\n")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", ep, err, want)
			continue
		}
		var e *Error
		if errors.As(err, &e) && e.Line != 3 {
			t.Errorf("%q: error on line %d, want 3 (the bad value's line)", ep, e.Line)
		}
	}
	// A single endpoint may be written as an option, as uci's shell
	// library treats it as a one-element list.
	c, err := parse(t, "\toption endpoint '1.2.3.4:5'\n")
	if err != nil || len(c.Endpoints) != 1 {
		t.Errorf("option endpoint: %v, %q", err, c.Endpoints)
	}
}

func TestErrorFormat(t *testing.T) {
	f, err := uci.Parse("/etc/config/ipop", []byte("# c\n\nconfig ipopd 'main'\n\toption enabled 1\n\toption listen_port '70000'\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = FromFile(f)
	want := `ipop config /etc/config/ipop:5: option listen_port: "70000" is not a port (1-65535)`
	if err == nil || err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	for _, tt := range []struct {
		e    Error
		want string
	}{
		{Error{Option: "mtu", Err: invalid("x")}, "ipop config: option mtu: x"},
		{Error{File: "f", Err: invalid("x")}, "ipop config f: x"},
		{Error{Line: 3, Err: invalid("x")}, "ipop config line 3: x"},
	} {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestUnknownAndMisplaced(t *testing.T) {
	_, err := parse(t, "\toption enabled 1\n\toption listen_prot 1\n")
	if !errors.Is(err, ErrUnknownOption) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"test:3:", "option listen_prot: unknown option (did you mean listen_port?)", "known options: enabled, listen_port,", "gogc"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not contain %q", err, want)
		}
	}
	if _, err := parse(t, "\toption zzzzzzzzz 1\n"); err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("far-off name: %v", err)
	}
	if _, err := parse(t, "\tlist mtu 1400\n"); err == nil || !strings.Contains(err.Error(), "write it as option, not list") {
		t.Errorf("list for a scalar: %v", err)
	}
}

func TestAllErrorsReported(t *testing.T) {
	_, err := parse(t, "\toption mtu 1\n\toption bogus 1\n\toption keepalive 0\n")
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ipop config test:2: option mtu") ||
		!strings.HasPrefix(lines[1], "ipop config test:3: option bogus") || !strings.HasPrefix(lines[2], "ipop config test:4: option keepalive") {
		t.Errorf("errors:\n%s", err)
	}
}

func TestSections(t *testing.T) {
	tests := []struct {
		name, in, err string
	}{
		{"no main section", "config other 'x'\n\toption anything 1\n", ""},
		{"empty file", "", ""},
		{"other sections ignored", "config peer\n\toption x 1\nconfig ipopd 'main'\n\toption mtu 1400\n", ""},
		{"main of another type", "config ipop 'main'\n\toption mtu 1400\n", `test:1: section 'main' has type "ipop"; it must be config ipopd 'main'`},
		{"unnamed ipopd section", "config ipopd\n\toption mtu 1400\n", "test:1: a config ipopd section must be named 'main'"},
		{"misnamed ipopd section", "config ipopd 'mian'\n", "test:1: a config ipopd section must be named 'main'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := uci.Parse("test", []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			c, err := FromFile(f)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.Enabled != true || c.ListenPort != 6464 {
					t.Errorf("defaults not applied: %+v", c)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrSection) {
				t.Errorf("err = %v, want %q", err, tt.err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *Config)
		opt    string
		want   string
	}{
		{"port", func(c *Config) { c.ListenPort = 0 }, "listen_port", "0 is not a port"},
		{"interface", func(c *Config) { c.Interface = "" }, "interface", "not a valid interface name"},
		{"bridge", func(c *Config) { c.Bridge = "a:b" }, "bridge", "not a valid interface name"},
		{"bridge is tap", func(c *Config) { c.Bridge = c.Interface }, "bridge", "TAP interface itself"},
		{"mtu", func(c *Config) { c.MTU = 100 }, "mtu", "100 is out of range (1280-9000)"},
		{"underlay", func(c *Config) { c.UnderlayMTU = 10000 }, "underlay_mtu", "out of range"},
		{"log level", func(c *Config) { c.LogLevel = slog.LevelInfo + 1 }, "log_level", "is not debug, info, warn or error"},
		{"endpoint", func(c *Config) { c.Endpoints = []string{"1.2.3.4:5", "nope"} }, "endpoint", `"nope" is not HOST:PORT`},
		{"flood limit", func(c *Config) { c.FloodLimit = -1 }, "flood_limit", "out of range"},
		{"flood_allow none and more", func(c *Config) { c.FloodAllow = []string{"none", "ff02::fb"} }, "flood_allow", "cannot be listed with other entries"},
		{"flood_allow bad", func(c *Config) { c.FloodAllow = []string{"ff02::fb", "10.0.0.1"} }, "flood_allow", "not inside"},
		{"flood burst", func(c *Config) { c.FloodBurst = 0 }, "flood_burst", "at least 1"},
		{"mac aging", func(c *Config) { c.MACAging = time.Second }, "mac_aging", "1s is out of range (10-86400 seconds)"},
		{"mac aging fraction", func(c *Config) { c.MACAging = 1500 * time.Millisecond }, "mac_aging", "not a whole number of seconds"},
		{"keepalive", func(c *Config) { c.Keepalive = time.Hour }, "keepalive", "out of range"},
		{"rekey interval", func(c *Config) { c.RekeyInterval = 5 * time.Second }, "rekey_interval", "5s is out of range (10-86400 seconds)"},
		{"socket", func(c *Config) { c.ControlSocket = "" }, "control_socket", "not an absolute path"},
		{"socket nul", func(c *Config) { c.ControlSocket = "/a\x00b" }, "control_socket", "NUL"},
		{"memlimit", func(c *Config) { c.GoMemLimit = 1000 }, "gomemlimit", "less than 4MiB"},
		{"memlimit negative", func(c *Config) { c.GoMemLimit = -5 }, "gomemlimit", "less than 4MiB"},
		{"gogc", func(c *Config) { c.GOGC = -2 }, "gogc", "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.modify(&c)
			err := c.Validate()
			var e *Error
			if !errors.As(err, &e) || e.Option != tt.opt || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want option %s: %q", err, tt.opt, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "ipop config: option "+tt.opt+": ") {
				t.Errorf("message %q", err)
			}
		})
	}
	c := Default()
	c.FloodLimit, c.FloodBurst = 0, 0 // unlimited: the burst does not matter
	c.GoMemLimit, c.GOGC = 64<<20, GOGCOff
	c.Bridge = "br-lan"
	if err := c.Validate(); err != nil {
		t.Errorf("valid config rejected: %v", err)
	}
}

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"abc", "", 3}, {"", "ab", 2}, {"listen_prot", "listen_port", 2}, {"mtu", "mtv", 1}, {"kitten", "sitting", 3}} {
		if got := distance(tt.a, tt.b); got != tt.d {
			t.Errorf("distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.d)
		}
	}
}
