package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ipopd/ipopd/internal/control"
	"github.com/ipopd/ipopd/internal/daemon"
	"github.com/ipopd/ipopd/internal/group"
	"github.com/ipopd/ipopd/uci/ipopconf"
)

// The membership commands go through the running daemon when there is
// one (so that it acts at once: spreads a revocation, starts after a
// join), and work on the state directory directly when there is none.

// daemonUp reports whether a daemon answers on the control socket.
func daemonUp(config string) bool {
	var st control.Status
	return callDaemon(config, "status", &st) == nil
}

func callArgs(config, method string, args, result any, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return control.Call(ctx, controlPath(config), method, args, result)
}

func cmdInvite(args []string) error {
	c := newCommand("invite", "", "Make an invite token for a new router (owner only). Paste it on the new\nrouter: 'ipopd join TOKEN' or LuCI's Join page. Single use and expiring by default.")
	config, state := commonFlags(c)
	ttl := c.fs.Duration("ttl", 24*time.Hour, "how long the token is valid")
	uses := c.fs.Int("uses", 1, "how many routers may join with it")
	name := c.fs.String("name", "", "the `name` the new router gets in the group (default: its host name,\nwith a suffix such as -2 if taken)")
	var eps stringList
	c.fs.Var(&eps, "endpoint", "`HOST:PORT` where the new router reaches this one: an address or a DNS name\n(repeatable, or several separated by commas; default: the public address a\nlighthouse reported, the WAN address and this router's other addresses)")
	list := c.fs.Bool("list", false, "list the invites instead")
	cancel := c.fs.String("cancel", "", "cancel the invite with this `id`")
	_, err := c.parseN(args, 0)
	if err != nil {
		return err
	}
	switch {
	case *list:
		var invites []group.InviteInfo
		if daemonUp(*config) {
			err = callArgs(*config, "invites", nil, &invites, 10*time.Second)
		} else {
			st, lerr := group.Load(*state)
			if lerr != nil {
				return lerr
			}
			invites, err = st.Invites(time.Now())
		}
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tFOR\tEXPIRES\tUSES LEFT\tUSED BY")
		for _, in := range invites {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", in.ID, dash(in.NameHint), in.Expires.Format(time.RFC3339), in.UsesLeft, dash(strings.Join(in.UsedBy, ",")))
		}
		return tw.Flush()
	case *cancel != "":
		if daemonUp(*config) {
			return callArgs(*config, "invite_cancel", map[string]string{"id": *cancel}, nil, 10*time.Second)
		}
		st, err := group.Load(*state)
		if err != nil {
			return err
		}
		return st.CancelInvite(*cancel)
	}
	parsed, err := group.ParseEndpoints(strings.Join(eps, ","))
	if err != nil {
		return usageError{fmt.Sprintf("invite: --endpoint: %v", err)}
	}
	if *name != "" {
		if err := group.ValidateName(*name); err != nil {
			return usageError{fmt.Sprintf("invite: --name: %v", err)}
		}
	}
	a := daemon.InviteArgs{TTL: ttl.String(), Uses: *uses, Name: *name, Endpoints: parsed}
	var res daemon.InviteResult
	if daemonUp(*config) {
		err = callArgs(*config, "invite", a, &res, 10*time.Second)
	} else {
		res, err = offlineInvite(*config, *state, a)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "invite %s, valid until %s, reaching this router at %s", res.ID, res.Expires.Format(time.RFC3339), strings.Join(res.Endpoints, ", "))
	if res.Name != "" {
		fmt.Fprintf(os.Stderr, "; the new router will be %q", res.Name)
	}
	fmt.Fprintln(os.Stderr, "; on the new router run:")
	fmt.Println(res.Token)
	return nil
}

func offlineInvite(config, state string, a daemon.InviteArgs) (daemon.InviteResult, error) {
	st, err := group.Load(state)
	if err != nil {
		return daemon.InviteResult{}, err
	}
	if !st.Owner() {
		return daemon.InviteResult{}, errors.New("only the group owner can invite")
	}
	cfg, err := ipopconf.Load(config)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return daemon.InviteResult{}, err
	}
	if err != nil {
		cfg = ipopconf.Default()
	}
	eps := []string(a.Endpoints)
	if len(eps) == 0 {
		eps = daemon.LocalEndpoints(cfg, st.Subnet)
	}
	if len(eps) == 0 {
		return daemon.InviteResult{}, errors.New("no address of this router to put in the invite: give --endpoint HOST:PORT")
	}
	tok, err := st.CreateInvite(group.InviteOptions{TTL: mustDuration(a.TTL), Uses: a.Uses, NameHint: a.Name, Endpoints: eps, Now: time.Now()})
	if err != nil {
		return daemon.InviteResult{}, err
	}
	return daemon.InviteResult{Token: tok.Encode(), ID: fmt.Sprintf("%x", tok.ID), Expires: tok.Expires, Name: a.Name, Endpoints: tok.Endpoints}, nil
}

func mustDuration(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 24 * time.Hour
	}
	return d
}

func cmdJoin(args []string) error {
	c := newCommand("join", "TOKEN", "Join a group with an invite token from its owner.")
	config, state := commonFlags(c)
	name := c.fs.String("name", "", "the `name` this router proposes (default: host name); the owner's name\nin the invite wins, and a taken name gets a suffix such as -2")
	pos, err := c.parseN(args, 1)
	if err != nil {
		return err
	}
	if _, err := group.DecodeToken(pos[0]); err != nil {
		return err // a typo is reported before anything else happens
	}
	if daemonUp(*config) {
		var res daemon.JoinReply
		if err := callArgs(*config, "join", map[string]string{"token": pos[0], "name": *name}, &res, 60*time.Second); err != nil {
			return err
		}
		fmt.Printf("%s; the daemon is running as a member\n", res.Message())
		return nil
	}
	tok, _ := group.DecodeToken(pos[0])
	proposed, err := daemon.ProposedName(*name)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := daemon.JoinGroup(ctx, *state, tok, proposed)
	if err != nil {
		return err
	}
	cfg, err := ipopconf.Load(*config)
	if err != nil {
		cfg = ipopconf.Default()
	}
	for _, e := range tok.Endpoints {
		if !contains(cfg.Endpoints, e) {
			cfg.Endpoints = append(cfg.Endpoints, e)
		}
	}
	if err := ipopconf.Save(*config, cfg); err != nil {
		fmt.Fprintf(os.Stderr, "ipopd: joined, but could not add the endpoints to %s: %v\n", *config, err)
	}
	res := daemon.JoinReply{Group: st.Name, Name: st.NodeName, Address: st.Address.String(), Proposed: proposed}
	fmt.Printf("%s; start the daemon (ipopd run, or /etc/init.d/ipopd start)\n", res.Message())
	return nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func cmdLeave(args []string) error {
	c := newCommand("leave", "", "Leave the group: stop the member and remove this router's group state.")
	config, state := commonFlags(c)
	_, err := c.parseN(args, 0)
	if err != nil {
		return err
	}
	if daemonUp(*config) {
		err = callArgs(*config, "leave", nil, nil, 20*time.Second)
	} else {
		err = group.Leave(*state, false)
	}
	if err != nil {
		return err
	}
	fmt.Println("left the group; the state directory no longer holds group keys")
	return nil
}

func cmdRevoke(args []string) error {
	c := newCommand("revoke", "NODE", "Revoke a member (owner only): every member drops its links within seconds\nand refuses it from then on.")
	config, state := commonFlags(c)
	pos, err := c.parseN(args, 1)
	if err != nil {
		return err
	}
	if daemonUp(*config) {
		err = callArgs(*config, "revoke", map[string]string{"node": pos[0]}, nil, 20*time.Second)
	} else {
		var st *group.State
		if st, err = group.Load(*state); err == nil {
			_, err = st.Revoke(pos[0], time.Now())
		}
		if err == nil {
			fmt.Println("revoked; the list spreads to the members when the daemon runs")
		}
	}
	if err != nil {
		return err
	}
	fmt.Printf("revoked %s\n", pos[0])
	return nil
}

func cmdRename(args []string) error {
	c := newCommand("rename", "NODE NEWNAME", "Rename a member (owner only; NODE is its name or node id). The old name is\nfree at once; the member gets a certificate with the new name (same key,\naddress and pool) over its link, at once if it is online, else when it next\nconnects to the owner.")
	config, state := commonFlags(c)
	pos, err := c.parseN(args, 2)
	if err != nil {
		return err
	}
	if err := group.ValidateName(pos[1]); err != nil {
		return usageError{fmt.Sprintf("rename: new name: %v", err)}
	}
	if daemonUp(*config) {
		var r daemon.RenameReply
		if err := callArgs(*config, "rename", map[string]string{"node": pos[0], "name": pos[1]}, &r, 20*time.Second); err != nil {
			return err
		}
		when := "it gets its new certificate when it next connects"
		if r.Delivered {
			when = "its new certificate was sent over its link"
		}
		fmt.Printf("renamed %q to %q (node id %s); %s\n", r.OldName, r.NewName, r.NodeID, when)
		return nil
	}
	st, err := group.Load(*state)
	if err != nil {
		return err
	}
	r, err := st.Rename(pos[0], pos[1], time.Now())
	if err != nil {
		return err
	}
	fmt.Printf("renamed %q to %q (node id %s); the member gets its new certificate when the daemon runs and it connects\n", r.OldName, r.NewName, r.NodeID)
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }
