package fakeuci

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const network = `# keep me
config interface 'lan'
	option proto 'static'
	list dns '1.1.1.1'

config device
	option name 'br-lan'
`

// uciRun runs one command line against env and returns status and output.
func uciRun(t *testing.T, env Env, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env.Stdout, env.Stderr = &out, &errb
	return Run(env, args), out.String(), errb.String()
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	env := Env{ConfDir: filepath.Join(dir, "config"), SaveDir: filepath.Join(dir, "save")}
	if err := os.MkdirAll(env.ConfDir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(env.ConfDir, "network")
	if err := os.WriteFile(path, []byte(network), 0o644); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		args    []string
		status  int
		stdout  string
		errPart string
	}{
		{args: []string{"get", "network.lan.proto"}, stdout: "static\n"},
		{args: []string{"get", "network.lan"}, stdout: "interface\n"},
		{args: []string{"get", "network.lan.dns"}, stdout: "1.1.1.1\n"},
		{args: []string{"get", "network.@device[0].name"}, stdout: "br-lan\n"},
		{args: []string{"get", "network.@device[1]"}, status: 1, errPart: "entry not found"},
		{args: []string{"-q", "get", "network.nope"}, status: 1},
		{args: []string{"get", "nope.x"}, status: 1, errPart: "entry not found"},
		{args: []string{"set", "network.ipop=interface"}},
		{args: []string{"set", "network.ipop=interface"}},
		{args: []string{"set", "network.ipop=device"}, status: 1, errPart: "has type"},
		{args: []string{"set", "network.ipop.proto=none"}},
		{args: []string{"add_list", "network.ipop.ports=a"}},
		{args: []string{"add_list", "network.ipop.ports=b"}},
		{args: []string{"get", "network.ipop.ports"}, stdout: "a b\n"},
		{args: []string{"set", "network.missing.x=1"}, status: 1, errPart: "entry not found"},
		{args: []string{"set", "network.@device[0]=x"}, status: 1, errPart: "by position"},
		{args: []string{"set", "network.lan.proto"}, status: 1, errPart: "needs =VALUE"},
		{args: []string{"delete", "network.lan.nope"}, status: 1, errPart: "entry not found"},
		{args: []string{"frobnicate", "network.lan"}, status: 1, errPart: "unsupported"},
		{args: []string{"-x", "get", "network.lan"}, status: 1, errPart: "unknown flag"},
		{args: []string{}, status: 1, errPart: "no command"},
		{args: []string{"commit", "a", "b"}, status: 1, errPart: "at most one"},
		{args: []string{"commit", "network"}},
		{args: []string{"commit"}},
	}
	for _, s := range steps {
		status, out, errOut := uciRun(t, env, s.args...)
		if status != s.status || (s.stdout != "" && out != s.stdout) || !strings.Contains(errOut, s.errPart) {
			t.Errorf("uci %q = %d, %q, %q; want %d, %q, error containing %q",
				s.args, status, out, errOut, s.status, s.stdout, s.errPart)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := network + "\nconfig interface 'ipop'\n\toption proto 'none'\n\tlist ports 'a'\n\tlist ports 'b'\n"
	if string(got) != want {
		t.Errorf("committed network:\n%s\nwant:\n%s", got, want)
	}
	if ents, _ := os.ReadDir(env.SaveDir); len(ents) != 0 {
		t.Errorf("staged files left after commit: %v", ents)
	}
}

// TestRunUncommitted checks that staged edits do not reach the config dir.
func TestRunUncommitted(t *testing.T) {
	dir := t.TempDir()
	env := Env{ConfDir: dir, SaveDir: filepath.Join(dir, ".save")}
	path := filepath.Join(dir, "network")
	if err := os.WriteFile(path, []byte(network), 0o644); err != nil {
		t.Fatal(err)
	}
	if st, _, e := uciRun(t, env, "delete", "network.lan"); st != 0 {
		t.Fatalf("delete: %s", e)
	}
	if st, _, _ := uciRun(t, env, "-q", "get", "network.lan"); st != 1 {
		t.Error("deleted section still visible to get")
	}
	if got, _ := os.ReadFile(path); string(got) != network {
		t.Errorf("config changed without commit:\n%s", got)
	}
}
