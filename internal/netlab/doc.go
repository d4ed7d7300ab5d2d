// Package netlab builds throw-away network laboratories out of Linux network
// namespaces for ipopd's end-to-end tests.
//
// A Lab owns a set of namespaces ("hosts") joined by veth pairs, bridges and
// optional NAT rules or impaired links, and background processes started in
// them. Everything a Lab creates is removed by t.Cleanup, also when the test
// fails. Tests that use it skip unless they run as root with iproute2
// installed.
//
// # Naming and safety
//
// Every namespace is called ipl<pid>x<lab>-<host>: the owner's pid lets
// SweepStale remove namespaces left behind by a test binary that was killed
// (for example by a -timeout panic, which skips cleanups) without touching
// the namespaces of a binary that still runs. veth pairs are created in the
// root namespace under random names ("nl" + 8 hex digits), moved into their
// namespaces at once and renamed only there, so no interface of the host is
// ever touched. Addresses are only configured inside namespaces.
//
// # A typical topology
//
//	lan host h1 --lan0-- [br-lan] router r1 wan0 --+
//	                                               |-- "internet" switch
//	lan host h2 --lan0-- [br-lan] router r2 wan0 --+
//
//	lab := netlab.New(t)
//	r1, h1 := lab.Router("r1"), lab.Host("h1")
//	lab.Link(h1, "eth0", r1, "lan0")
//	r1.Bridge("br-lan", "lan0")
//	r1.Addr("br-lan", "10.1.0.1/24")
//	h1.Addr("eth0", "10.1.0.2/24")
//	h1.Route("default", "via", "10.1.0.1")
//	lab.NAT(r1, "wan0", netlab.PortRestricted)
//
// Methods that report failures through t.Fatalf must be called from the test
// goroutine; Host.Exec and Proc methods return errors and may be used from
// any goroutine.
//
// # Test tools
//
// BuildTool compiles the helper programs under internal/testtools once per
// test binary: udpecho (UDP echo that reports the observed source, used to
// see NAT mappings), impair (userspace delay/jitter/loss link, since the
// kernel has no netem) and rawframe (sends and captures raw Ethernet frames:
// router advertisements and test broadcasts).
package netlab
