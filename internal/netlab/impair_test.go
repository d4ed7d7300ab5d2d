package netlab

import (
	"strings"
	"testing"
	"time"
)

func TestImpairedLinkDelay(t *testing.T) {
	lab := New(t)
	a, b := lab.Host("a"), lab.Host("b")
	const delay = 20 * time.Millisecond
	p := lab.ImpairedLink(a, "eth0", b, "eth0", delay, 0)
	a.Addr("eth0", "10.0.9.1/24")
	b.Addr("eth0", "10.0.9.2/24")
	a.Addr("eth0", "fd00:9::1/64")
	b.Addr("eth0", "fd00:9::2/64")
	a.WaitPing(t, "10.0.9.2", 5*time.Second)

	out, err := a.Ping("10.0.9.2", 3)
	if err != nil {
		t.Fatalf("ping through the impaired link: %v", err)
	}
	rtts, err := PingRTTs(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, rtt := range rtts {
		if rtt < 2*delay || rtt > time.Second {
			t.Errorf("RTT %v through a link with %v each way, want >= %v", rtt, delay, 2*delay)
		}
	}
	a.WaitPing(t, "fd00:9::2", 5*time.Second)

	// UDP and TCP cross too: checksum-offloaded and GSO frames keep their
	// virtio-net header through the impairer.
	echo := BuildTool(t, UDPEchoTool)
	srv := b.Start("echo", echo, "-listen", "0.0.0.0:7000")
	srv.WaitLog(t, "listening", 5*time.Second)
	out = a.MustExec(t, echo, "-send", "10.0.9.2:7000", "-msg", strings.Repeat("x", 1400))
	if ap, msg, err := ParseEcho(out); err != nil || ap.Addr().String() != "10.0.9.1" || len(msg) != 1400 {
		t.Fatalf("udp echo through the impaired link: %v %d bytes, %v", ap, len(msg), err)
	}
	if HasCommand("iperf3") {
		s := b.Start("iperf", "iperf3", "-s", "-1", "--forceflush", "-B", "10.0.9.2")
		s.WaitLog(t, "Server listening", 5*time.Second)
		a.MustExec(t, "iperf3", "-c", "10.0.9.2", "-n", "2M")
		if err := s.Wait(); err != nil {
			t.Fatalf("iperf3 server: %v\n%s", err, s.Log())
		}
	}

	if err := p.Stop(); err != nil {
		t.Fatalf("impair did not stop cleanly: %v\n%s", err, p.Log())
	}
	if log := p.Log(); !strings.Contains(log, "impair: a->b rx=") || !strings.Contains(log, "lost=0") {
		t.Fatalf("impair counters missing:\n%s", log)
	}
}

func TestImpairedLinkLossAll(t *testing.T) {
	lab := New(t)
	a, b := lab.Host("a"), lab.Host("b")
	p := lab.ImpairedLink(a, "eth0", b, "eth0", 0, 1.0)
	a.Addr("eth0", "10.0.9.1/24")
	b.Addr("eth0", "10.0.9.2/24")
	if out, err := a.Ping("10.0.9.2", 3); err == nil {
		t.Fatalf("ping crossed a link with loss 1.0:\n%s", out)
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("impair stop: %v", err)
	}
	log := p.Log()
	if !strings.Contains(log, "a->b rx=") || !strings.Contains(log, "fwd=0 lost=") || strings.Contains(log, "lost=0 ") && strings.Contains(log, "a->b rx=0") {
		t.Fatalf("counters do not show the losses:\n%s", log)
	}
}

func TestImpairedLinkJitterAndQueue(t *testing.T) {
	lab := New(t)
	a, b := lab.Host("a"), lab.Host("b")
	lab.ImpairedLinkWith(a, "eth0", b, "eth0", Impairment{Delay: 10 * time.Millisecond, Jitter: 5 * time.Millisecond, Queue: 50})
	a.Addr("eth0", "10.0.9.1/24")
	b.Addr("eth0", "10.0.9.2/24")
	a.WaitPing(t, "10.0.9.2", 5*time.Second)
	out, err := a.Ping("10.0.9.2", 2)
	if err != nil {
		t.Fatal(err)
	}
	rtts, err := PingRTTs(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, rtt := range rtts {
		if rtt < 10*time.Millisecond { // two hops of at least 5 ms
			t.Errorf("RTT %v below the minimum delay", rtt)
		}
	}
}
