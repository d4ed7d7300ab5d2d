// Command stunclient asks STUN servers (ipopd lighthouses answer STUN on
// their one port) for the address a NAT maps this socket to, from one
// local port to each server in turn, and prints one line per server:
//
//	stunclient -local :40000 172.31.0.100:6464 172.31.0.101:6464
//	172.31.0.100:6464 mapped 172.31.0.5:40000
//	172.31.0.101:6464 mapped 172.31.0.5:40000
//
// The same mapped port towards two servers means endpoint-independent
// mapping; different ports mean endpoint-dependent (symmetric) mapping.
// Used by the NAT tests to check that each simulated NAT is what its name
// says.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/ipopd/ipopd/internal/nat"
)

func main() {
	local := flag.String("local", ":0", "local UDP `address` to send from")
	timeout := flag.Duration("timeout", 2*time.Second, "wait per server")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: stunclient [-local ADDR] SERVER...")
		os.Exit(2)
	}
	la, err := net.ResolveUDPAddr("udp4", *local)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	c, err := net.ListenUDP("udp4", la)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer c.Close()
	fail := false
	for _, s := range flag.Args() {
		srv, err := netip.ParseAddrPort(s)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		mapped, err := query(c, srv, *timeout)
		if err != nil {
			fmt.Printf("%s error %v\n", srv, err)
			fail = true
			continue
		}
		fmt.Printf("%s mapped %s\n", srv, mapped)
	}
	if fail {
		os.Exit(1)
	}
}

func query(c *net.UDPConn, srv netip.AddrPort, timeout time.Duration) (netip.AddrPort, error) {
	req, id := nat.BindingRequest()
	buf := make([]byte, 1500)
	deadline := time.Now().Add(timeout)
	for attempt := 0; attempt < 3; attempt++ {
		if _, err := c.WriteToUDPAddrPort(req, srv); err != nil {
			return netip.AddrPort{}, err
		}
		_ = c.SetReadDeadline(time.Now().Add(timeout / 3))
		for {
			n, _, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				break
			}
			if a, err := nat.MappedAddress(buf[:n], id); err == nil {
				return a, nil
			}
		}
		if time.Now().After(deadline) {
			break
		}
	}
	return netip.AddrPort{}, fmt.Errorf("no answer")
}
