package fakeuci

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ipopd/ipopd/uci"
)

// Env is where Run reads and writes. Empty directories take uci's defaults.
type Env struct {
	ConfDir string // committed configs; default /etc/config (-c overrides)
	SaveDir string // staged changes; default /tmp/.uci (-t overrides)
	Stdout  io.Writer
	Stderr  io.Writer
}

// Run executes one uci command line (without the program name) and returns
// the exit status: 0 on success, 1 on any error, like uci.
func Run(env Env, args []string) int {
	if env.Stdout == nil {
		env.Stdout = io.Discard
	}
	if env.Stderr == nil {
		env.Stderr = io.Discard
	}
	quiet, err := run(&env, args)
	if err == nil {
		return 0
	}
	if !quiet {
		fmt.Fprintf(env.Stderr, "uci: %v\n", err)
	}
	return 1
}

// run parses the flags and dispatches; it reports whether -q was given.
func run(env *Env, args []string) (quiet bool, err error) {
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-q":
			quiet = true
		case "-c", "-t":
			if len(args) < 2 {
				return quiet, fmt.Errorf("%w: %s needs a directory", ErrUsage, args[0])
			}
			if args[0] == "-c" {
				env.ConfDir = args[1]
			} else {
				env.SaveDir = args[1]
			}
			args = args[1:]
		default:
			return quiet, fmt.Errorf("%w: unknown flag %q", ErrUsage, args[0])
		}
		args = args[1:]
	}
	if env.ConfDir == "" {
		env.ConfDir = "/etc/config"
	}
	if env.SaveDir == "" {
		env.SaveDir = "/tmp/.uci"
	}
	if len(args) == 0 {
		return quiet, fmt.Errorf("%w: no command", ErrUsage)
	}
	cmd, rest := args[0], args[1:]
	if cmd == "commit" {
		if len(rest) > 1 {
			return quiet, fmt.Errorf("%w: commit takes at most one config", ErrUsage)
		}
		return quiet, commit(env, rest)
	}
	if len(rest) != 1 {
		return quiet, fmt.Errorf("%w: %s takes one argument", ErrUsage, cmd)
	}
	ref, err := ParseRef(rest[0])
	if err != nil {
		return quiet, err
	}
	switch cmd {
	case "get":
		return quiet, get(env, ref)
	case "set", "add_list", "delete":
		return quiet, edit(env, cmd, ref)
	default:
		return quiet, fmt.Errorf("%w: unsupported command %q", ErrUsage, cmd)
	}
}

// load reads the staged copy of a config if there is one, else the
// committed file.
func load(env *Env, config string) (*uci.File, error) {
	for _, p := range []string{filepath.Join(env.SaveDir, config), filepath.Join(env.ConfDir, config)} {
		f, err := uci.ReadFile(p)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("config %q: %w", config, ErrNotFound)
}

func get(env *Env, ref Ref) error {
	if ref.HasValue || ref.Section == "" {
		return fmt.Errorf("%w: get needs CONFIG.SECTION[.OPTION]", ErrUsage)
	}
	f, err := load(env, ref.Config)
	if err != nil {
		return err
	}
	s := f.Section(ref.Section)
	if s == nil {
		return fmt.Errorf("%s.%s: %w", ref.Config, ref.Section, ErrNotFound)
	}
	if ref.Option == "" {
		fmt.Fprintln(env.Stdout, s.Type())
		return nil
	}
	if s.IsList(ref.Option) {
		fmt.Fprintln(env.Stdout, strings.Join(s.List(ref.Option), " "))
		return nil
	}
	v, ok := s.Get(ref.Option)
	if !ok {
		return fmt.Errorf("%s.%s.%s: %w", ref.Config, ref.Section, ref.Option, ErrNotFound)
	}
	fmt.Fprintln(env.Stdout, v)
	return nil
}

// edit applies set, add_list or delete to the staged copy of the config.
func edit(env *Env, cmd string, ref Ref) error {
	if ref.Section == "" {
		return fmt.Errorf("%w: %s needs a section", ErrUsage, cmd)
	}
	if cmd == "delete" && ref.HasValue {
		return fmt.Errorf("%w: delete takes no value", ErrUsage)
	}
	if cmd != "delete" && !ref.HasValue {
		return fmt.Errorf("%w: %s needs =VALUE", ErrUsage, cmd)
	}
	if cmd == "add_list" && ref.Option == "" {
		return fmt.Errorf("%w: add_list needs CONFIG.SECTION.OPTION=VALUE", ErrUsage)
	}
	f, err := load(env, ref.Config)
	if err != nil {
		return err
	}
	s := f.Section(ref.Section)
	switch {
	case cmd == "set" && ref.Option == "":
		err = setSection(f, s, ref)
	case s == nil:
		err = fmt.Errorf("%s.%s: %w", ref.Config, ref.Section, ErrNotFound)
	case cmd == "set":
		err = s.Set(ref.Option, ref.Value)
	case cmd == "add_list":
		err = s.AddList(ref.Option, ref.Value)
	case ref.Option == "":
		f.DeleteSection(ref.Section)
	default:
		if !s.Delete(ref.Option) {
			err = fmt.Errorf("%s.%s.%s: %w", ref.Config, ref.Section, ref.Option, ErrNotFound)
		}
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(env.SaveDir, 0o700); err != nil {
		return fmt.Errorf("stage %s: %w", ref.Config, err)
	}
	return uci.WriteFile(filepath.Join(env.SaveDir, ref.Config), f, 0o600)
}

// setSection handles `set CONFIG.NAME=TYPE`: it creates the named section,
// or does nothing when one of that type exists already. uci would change
// the type of an existing section; package uci cannot, so that is an error.
func setSection(f *uci.File, s *uci.Section, ref Ref) error {
	if strings.HasPrefix(ref.Section, "@") {
		return fmt.Errorf("%w: set %s=%s: cannot create a section by position", ErrUsage, ref.Section, ref.Value)
	}
	if s != nil {
		if s.Type() != ref.Value {
			return fmt.Errorf("%w: set %s.%s=%s: section has type %q", ErrUsage, ref.Config, ref.Section, ref.Value, s.Type())
		}
		return nil
	}
	_, err := f.AddSection(ref.Value, ref.Section)
	return err
}

// commit moves staged configs (one, or all) over the committed files.
func commit(env *Env, configs []string) error {
	if len(configs) == 0 {
		ents, err := os.ReadDir(env.SaveDir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("commit: %w", err)
		}
		for _, e := range ents {
			if e.Type().IsRegular() && validConfig(e.Name()) {
				configs = append(configs, e.Name())
			}
		}
		sort.Strings(configs)
	}
	for _, c := range configs {
		if !validConfig(c) {
			return fmt.Errorf("%w: commit %q", ErrInvalidRef, c)
		}
		staged := filepath.Join(env.SaveDir, c)
		data, err := os.ReadFile(staged)
		if errors.Is(err, os.ErrNotExist) {
			continue // nothing to commit, as with uci
		}
		if err != nil {
			return fmt.Errorf("commit %s: %w", c, err)
		}
		target := filepath.Join(env.ConfDir, c)
		perm := os.FileMode(0o644)
		if st, err := os.Stat(target); err == nil {
			perm = st.Mode().Perm()
		}
		if err := uci.WriteFileAtomic(target, data, perm); err != nil {
			return fmt.Errorf("commit %s: %w", c, err)
		}
		if err := os.Remove(staged); err != nil {
			return fmt.Errorf("commit %s: %w", c, err)
		}
	}
	return nil
}
