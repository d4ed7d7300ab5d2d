package netlab

import (
	"fmt"
	"net/netip"
	"strings"
)

// UDPEchoTool is the import path of the UDP echo helper for BuildTool.
// `udpecho -listen ADDR` answers every datagram with "ip:port\n" (the source
// it observed) followed by the datagram; `udpecho -send ADDR -from PORT -msg
// X` prints that reply. ParseEcho reads it.
const UDPEchoTool = "github.com/ipopd/ipopd/internal/testtools/udpecho"

// ParseEcho splits udpecho's printed reply into the source address the echo
// server observed (the NAT mapping, seen from outside) and the echoed
// message.
func ParseEcho(out string) (observed netip.AddrPort, msg string, err error) {
	first, rest, ok := strings.Cut(out, "\n")
	if !ok {
		return netip.AddrPort{}, "", fmt.Errorf("%w: udpecho reply %q has no address line", ErrBadOutput, out)
	}
	observed, err = netip.ParseAddrPort(strings.TrimSpace(first))
	if err != nil {
		return netip.AddrPort{}, "", fmt.Errorf("%w: udpecho reply %q: %v", ErrBadOutput, out, err)
	}
	return observed, strings.TrimSuffix(rest, "\n"), nil
}
