package pkgtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// procdRun is what one init script action sent to the procd recorders.
type procdRun struct {
	calls     [][]string            // every call, in order
	service   string                // procd_open_service name
	instances map[string][][]string // instance name -> its procd_set_param calls
	firewall  []map[string]string   // objects of the firewall array in instance data
	triggers  [][]string            // procd_add_*trigger calls
	changed   []string              // procd_set_config_changed arguments
	killed    bool                  // procd_kill ipopd
}

// param returns the arguments of the instance's procd_set_param NAME.
func (r *procdRun) param(inst, name string) ([]string, bool) {
	for _, c := range r.instances[inst] {
		if c[1] == name {
			return c[2:], true
		}
	}
	return nil, false
}

// parseProcdLog interprets the recorder's log.
func parseProcdLog(t *testing.T, log string) *procdRun {
	t.Helper()
	r := &procdRun{instances: map[string][][]string{}}
	var inst string
	var inData, inFirewall bool
	var obj map[string]string
	for _, ln := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
		if ln == "" {
			continue
		}
		c := strings.Split(ln, "\t")
		r.calls = append(r.calls, c)
		switch c[0] {
		case "procd_open_service":
			r.service = c[1]
		case "procd_open_instance":
			inst = "instance1"
			if len(c) > 1 && c[1] != "" {
				inst = c[1]
			}
			r.instances[inst] = nil
		case "procd_close_instance":
			inst = ""
		case "procd_set_param", "procd_append_param":
			if inst == "" {
				t.Errorf("%s outside an instance: %q", c[0], c)
				continue
			}
			r.instances[inst] = append(r.instances[inst], c)
		case "procd_open_data":
			inData = true
		case "procd_close_data":
			inData = false
		case "json_add_array":
			inFirewall = inData && len(c) > 1 && c[1] == "firewall"
		case "json_close_array":
			inFirewall = false
		case "json_add_object":
			if inFirewall {
				obj = map[string]string{}
			}
		case "json_add_string":
			if obj != nil && len(c) == 3 {
				obj[c[1]] = c[2]
			}
		case "json_close_object":
			if obj != nil {
				r.firewall = append(r.firewall, obj)
				obj = nil
			}
		case "procd_set_config_changed":
			r.changed = append(r.changed, c[1:]...)
		case "procd_kill":
			r.killed = len(c) > 1 && c[1] == "ipopd"
		default:
			if strings.HasPrefix(c[0], "procd_add_") && strings.HasSuffix(c[0], "trigger") {
				r.triggers = append(r.triggers, c)
			}
		}
	}
	return r
}

// runInit runs `/etc/init.d/ipopd ACTION` with the recorders, the ipop
// config edited by the given uci set commands, and returns the record.
func runInit(t *testing.T, shell []string, action string, sets ...string) *procdRun {
	t.Helper()
	dir := openwrtDir(t)
	root := t.TempDir()
	for _, f := range []string{"lib/functions.sh", "lib/functions/procd.sh", "etc/rc.common"} {
		copyFile(t, filepath.Join("testdata", "procdroot", f), filepath.Join(root, f), 0o644)
	}
	initscript := filepath.Join(root, "etc", "init.d", "ipopd")
	copyFile(t, filepath.Join(dir, "ipopd", "files", "ipopd.init"), initscript, 0o755)
	copyFile(t, filepath.Join(dir, "ipopd", "files", "ipop.config"), filepath.Join(root, "etc", "config", "ipop"), 0o600)
	env := fakeUCI(t, root)
	for _, s := range sets {
		runCmd(t, env, filepath.Join(root, "bin", "uci"), "set", s)
	}
	if len(sets) > 0 {
		runCmd(t, env, filepath.Join(root, "bin", "uci"), "commit", "ipop")
	}
	log := filepath.Join(root, "procd.log")
	env = append(env, "IPKG_INSTROOT="+root, "PROCD_LOG="+log)
	args := append(append([]string{}, shell[1:]...), filepath.Join(root, "etc", "rc.common"), initscript, action)
	cmd := exec.Command(shell[0], args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ipopd %s: %v\n%s", action, err, out)
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatalf("ipopd %s recorded nothing: %v\n%s", action, err, out)
	}
	return parseProcdLog(t, string(data))
}

func runCmd(t *testing.T, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
}

func TestInitScript(t *testing.T) {
	wantCommand := []string{"/usr/sbin/ipopd", "run", "-c", "/etc/config/ipop", "--state", "/etc/ipop"}
	wantTriggers := [][]string{
		{"procd_add_reload_trigger", "ipop"},
		{"procd_add_interface_trigger", "interface.*.up", "wan", "/etc/init.d/ipopd", "reload"},
		{"procd_add_interface_trigger", "interface.*.up", "wan6", "/etc/init.d/ipopd", "reload"},
	}
	rule := func(port string) map[string]string {
		return map[string]string{"type": "rule", "name": "Allow-ipopd", "src": "wan", "proto": "udp",
			"dest_port": port, "target": "ACCEPT"}
	}
	tests := []struct {
		name    string
		action  string
		sets    []string
		running bool   // an instance is sent
		port    string // firewall dest_port
	}{
		{name: "shipped config", action: "start", running: true, port: "6464"},
		{name: "other port", action: "start", sets: []string{"ipop.main.listen_port=7000"}, running: true, port: "7000"},
		{name: "bad port left to the daemon", action: "start", sets: []string{"ipop.main.listen_port=70000"}, running: true, port: "6464"},
		{name: "port not a number", action: "start", sets: []string{"ipop.main.listen_port=x1"}, running: true, port: "6464"},
		{name: "enabled unset", action: "start", sets: []string{"ipop.main.enabled="}, running: true, port: "6464"},
		{name: "disabled", action: "start", sets: []string{"ipop.main.enabled=0"}},
		{name: "disabled by word", action: "start", sets: []string{"ipop.main.enabled=off"}},
		{name: "reload re-sends the instance", action: "reload", running: true, port: "6464"},
		{name: "reload of a disabled service drops it", action: "reload", sets: []string{"ipop.main.enabled=no"}},
	}
	for shName, shell := range shells(t) {
		for _, tt := range tests {
			t.Run(shName+"/"+tt.name, func(t *testing.T) {
				r := runInit(t, shell, tt.action, tt.sets...)
				if r.service != "ipopd" {
					t.Errorf("service name %q, want ipopd", r.service)
				}
				if !reflect.DeepEqual(r.triggers, wantTriggers) {
					t.Errorf("triggers:\n%q\nwant:\n%q", r.triggers, wantTriggers)
				}
				if !reflect.DeepEqual(r.changed, []string{"firewall"}) {
					t.Errorf("config changes signalled: %q, want [firewall]", r.changed)
				}
				if !tt.running {
					if len(r.instances) != 0 || len(r.firewall) != 0 {
						t.Errorf("disabled service sent instances %v, firewall %v", r.instances, r.firewall)
					}
					return
				}
				if len(r.instances) != 1 {
					t.Fatalf("instances %v, want exactly main", r.instances)
				}
				checks := map[string][]string{
					"command":       wantCommand,
					"respawn":       {},
					"stdout":        {"1"},
					"stderr":        {"1"},
					"reload_signal": {"HUP"},
				}
				for name, want := range checks {
					got, ok := r.param("main", name)
					if !ok || !reflect.DeepEqual(append([]string{}, got...), want) {
						t.Errorf("procd_set_param %s = %q (set %v), want %q", name, got, ok, want)
					}
				}
				if _, ok := r.param("main", "netdev"); ok {
					t.Error("netdev set: procd would restart ipopd on every reload (its TAP gets a new ifindex per start)")
				}
				if want := []map[string]string{rule(tt.port)}; !reflect.DeepEqual(r.firewall, want) {
					t.Errorf("firewall data %v, want %v", r.firewall, want)
				}
			})
		}
		t.Run(shName+"/stop", func(t *testing.T) {
			r := runInit(t, shell, "stop")
			if !r.killed || len(r.instances) != 0 {
				t.Errorf("stop: killed=%v instances=%v", r.killed, r.instances)
			}
			if !reflect.DeepEqual(r.changed, []string{"firewall"}) {
				t.Errorf("stop signalled config changes %q, want [firewall]", r.changed)
			}
		})
	}
}
