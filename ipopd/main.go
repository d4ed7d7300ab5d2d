// Command ipopd is the ipop GroupVPN daemon and its command-line tool: one
// binary that joins a router's LAN to a group of routers over DTLS.
package main

import (
	"errors"
	"fmt"
	"os"
)

// version is stamped at build time: -ldflags "-X main.version=...".
var version = "dev"

const usage = `ipopd - GroupVPN for routers: joins this router's LAN to a group of routers.

Start a group on one router, invite the others, run the daemon:

  ipopd group create --name home       # on the first router (the owner)
  ipopd run                            # on every router (the init script does this)
  ipopd invite                         # on the owner: prints a token
  ipopd join TOKEN                     # on the new router

(Offline alternative for mass deployment: 'ipopd group issue' on the owner writes a
bundle, 'ipopd group install FILE' installs it.)

Commands:
  run               run the daemon (reads -c CONFIG, default /etc/config/ipop)
  group create      create a group; this router becomes its owner
  group issue       issue a certificate bundle for another router (owner only)
  group install     install a bundle received from the owner
  group show        show this router's group membership
  status [--json]   the running daemon's state
  peers [--json]    the members this router has links with
  invite            make an invite token for a new router (owner; --list, --cancel ID)
  join TOKEN        join a group with an invite token
  leave             leave the group
  revoke NODE       revoke a member (owner)
  rename NODE NAME  rename a member (owner): a new certificate with the new name
  version           print the version
  selftest          check ciphers, UCI, blobmsg and a DTLS handshake on this machine

Common flags (before or after the arguments):
  -c, --config FILE   UCI configuration file (default /etc/config/ipop)
  --state DIR         group state directory (default /etc/ipop)

Run 'ipopd COMMAND --help' for the flags of a command.
`

func main() {
	err := run(os.Args[1:])
	if err == nil {
		return
	}
	if errors.Is(err, errHelp) {
		return
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(os.Stderr, "ipopd: %v\n", err)
		fmt.Fprintln(os.Stderr, "Run 'ipopd --help' for usage.")
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "ipopd: %v\n", err)
	os.Exit(1)
}

func run(args []string) error {
	if len(args) == 0 {
		fmt.Print(usage)
		return usageError{"no command given"}
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Print(usage)
		return nil
	case "version", "--version", "-v":
		fmt.Printf("ipopd %s\n", version)
		return nil
	case "run":
		return cmdRun(args[1:])
	case "selftest":
		return cmdSelftest(args[1:])
	case "status":
		return cmdStatus(args[1:])
	case "peers":
		return cmdPeers(args[1:])
	case "invite":
		return cmdInvite(args[1:])
	case "join":
		return cmdJoin(args[1:])
	case "leave":
		return cmdLeave(args[1:])
	case "revoke":
		return cmdRevoke(args[1:])
	case "rename":
		return cmdRename(args[1:])
	case "group":
		if len(args) < 2 {
			return usageError{"group needs a subcommand: create, issue, install or show"}
		}
		switch args[1] {
		case "create":
			return cmdGroupCreate(args[2:])
		case "issue":
			return cmdGroupIssue(args[2:])
		case "install":
			return cmdGroupInstall(args[2:])
		case "show":
			return cmdGroupShow(args[2:])
		case "-h", "--help", "help":
			fmt.Print(usage)
			return nil
		}
		return usageError{fmt.Sprintf("unknown group subcommand %q", args[1])}
	}
	return usageError{fmt.Sprintf("unknown command %q", args[0])}
}
