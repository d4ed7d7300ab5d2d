package main

import (
	"testing"

	"github.com/ipopd/ipopd/internal/dtlscookie"
)

// TestClientHello: the flood's hello is one the target parses and answers
// with a cookie (not one it drops as malformed, which would cost it less).
func TestClientHello(t *testing.T) {
	h, err := dtlscookie.Parse(clientHello())
	if err != nil {
		t.Fatal(err)
	}
	if h.MsgSeq != 0 || len(h.Cookie) != 0 {
		t.Errorf("hello: seq %d, cookie %x", h.MsgSeq, h.Cookie)
	}
}
