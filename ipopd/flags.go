package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// errHelp means the user asked for help and got it.
var errHelp = errors.New("help shown")

// usageError is a mistake on the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// command is one subcommand's flags.
type command struct {
	name  string
	args  string // positional arguments, for the usage line
	about string
	fs    *flag.FlagSet
}

func newCommand(name, args, about string) *command {
	c := &command{name: name, args: args, about: about, fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	c.fs.SetOutput(io.Discard)
	return c
}

func (c *command) printUsage() {
	fmt.Printf("usage: ipopd %s [flags] %s\n\n%s\n\nflags:\n", c.name, c.args, c.about)
	c.fs.SetOutput(os.Stdout)
	c.fs.PrintDefaults()
	c.fs.SetOutput(io.Discard)
}

// parse parses flags that may come before, between or after positional
// arguments ("install FILE --state DIR" and "install --state DIR FILE"),
// and returns the positional ones. "--" ends flag parsing.
func (c *command) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := c.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				c.printUsage()
				return nil, errHelp
			}
			return nil, usageError{fmt.Sprintf("%s: %v", c.name, err)}
		}
		rest := c.fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// flag stops at "--" (dropping it) or at the first non-flag.
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parseN parses flags and wants exactly n positional arguments.
func (c *command) parseN(args []string, n int) ([]string, error) {
	pos, err := c.parse(args)
	if err != nil {
		return nil, err
	}
	return pos, c.wantArgs(pos, n)
}

// wantArgs checks the number of positional arguments.
func (c *command) wantArgs(pos []string, n int) error {
	if len(pos) != n {
		if n == 0 {
			return usageError{fmt.Sprintf("%s takes no arguments, got %s", c.name, strings.Join(pos, " "))}
		}
		return usageError{fmt.Sprintf("usage: ipopd %s [flags] %s", c.name, c.args)}
	}
	return nil
}

// commonFlags adds -c/--config and --state.
func commonFlags(c *command) (config, state *string) {
	config = new(string)
	state = new(string)
	c.fs.StringVar(config, "c", defaultConfig, "UCI configuration `file`")
	c.fs.StringVar(config, "config", defaultConfig, "UCI configuration `file`")
	c.fs.StringVar(state, "state", defaultState, "group state `dir`ectory")
	return config, state
}

const (
	defaultConfig = "/etc/config/ipop"
	defaultState  = "/etc/ipop"
)
