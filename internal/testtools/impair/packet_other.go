//go:build !linux

package main

import "errors"

// openPacketPort needs Linux AF_PACKET sockets.
func openPacketPort(ifname string) (port, error) {
	return nil, errors.New("impair needs Linux (AF_PACKET sockets)")
}
