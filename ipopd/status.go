package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/ipopd/ipopd/internal/control"
	"github.com/ipopd/ipopd/uci/ipopconf"
)

// controlPath finds the daemon's socket the way the daemon does: from the
// config file (option control_socket), else the default.
func controlPath(config string) string {
	cfg, err := ipopconf.Load(config)
	if err != nil || cfg.ControlSocket == "" {
		return ipopconf.Default().ControlSocket
	}
	return cfg.ControlSocket
}

func callDaemon(config, method string, result any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return control.Call(ctx, controlPath(config), method, nil, result)
}

func cmdStatus(args []string) error {
	c := newCommand("status", "", "Show the running daemon's state.")
	config, _ := commonFlags(c)
	asJSON := c.fs.Bool("json", false, "print JSON for scripts")
	_, err := c.parseN(args, 0)
	if err != nil {
		return err
	}
	var st control.Status
	if err := callDaemon(*config, "status", &st); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(st)
	}
	fmt.Printf("state:    %s\ngroup:    %s\nnode:     %s (%s)\naddress:  %s\nlisten:   %s\nuptime:   %s\npeers:    %d up of %d\nmacs:     %d learned\n",
		st.State, st.Group, st.Name, st.NodeID, st.Address, st.Listen, time.Duration(st.UptimeSec)*time.Second, st.PeersUp, st.Peers, st.MACs)
	if st.PublicEndpoint != "" {
		fmt.Printf("public:   %s (as a lighthouse sees this router)\n", st.PublicEndpoint)
	}
	if st.WANEndpoint != "" {
		fmt.Printf("wan:      %s\n", st.WANEndpoint)
	}
	return nil
}

func cmdPeers(args []string) error {
	c := newCommand("peers", "", "List the group members this router has links with.")
	config, _ := commonFlags(c)
	asJSON := c.fs.Bool("json", false, "print JSON for scripts")
	_, err := c.parseN(args, 0)
	if err != nil {
		return err
	}
	var peers []control.Peer
	if err := callDaemon(*config, "peers", &peers); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(peers)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tADDRESS\tSTATE\tPATH\tENDPOINT\tRTT\tIN\tOUT\tSINCE")
	for _, p := range peers {
		rtt := "-"
		if p.RTTMillis > 0 {
			rtt = fmt.Sprintf("%.1fms", p.RTTMillis)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, dash(p.Address), p.State, dash(p.Path), dash(p.Endpoint),
			rtt, bytesHuman(p.BytesIn), bytesHuman(p.BytesOut), since(p.Since))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func since(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return time.Since(t).Round(time.Second).String() + " ago"
}

func bytesHuman(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f%ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
