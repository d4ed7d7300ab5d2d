//go:build !linux

package main

import (
	"errors"
	"time"
)

type rawSock struct{}

var errNotLinux = errors.New("rawframe needs Linux (AF_PACKET sockets)")

func openRaw(string, bool) (*rawSock, error)         { return nil, errNotLinux }
func (*rawSock) send([]byte) error                   { return errNotLinux }
func (*rawSock) recv([]byte, time.Time) (int, error) { return 0, errNotLinux }
func (*rawSock) close() error                        { return nil }
func (*rawSock) interrupt()                          {}
