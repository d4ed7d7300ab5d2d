// Command impair is a userspace link impairer for network-namespace tests on
// kernels without the netem qdisc.
//
//	impair -a ethA -b ethB [-delay 20ms] [-jitter 5ms] [-loss 0.02] [-queue 1000] [-seed N]
//
// It runs in a namespace holding two interfaces and forwards every Ethernet
// frame received on one to the other, in both directions:
//
//	ethA --AF_PACKET--> reader a->b --loss?--> queue (bounded) --> writer a->b: sleep until due --> ethB
//	ethB --AF_PACKET--> reader b->a --loss?--> queue (bounded) --> writer b->a: sleep until due --> ethA
//
// One reader and one writer goroutine run per direction (four in all). A
// frame is dropped at random with probability -loss, otherwise stamped with
// due = now + delay + uniform jitter in [-jitter, +jitter] (never earlier
// than the frame before it, so jitter does not reorder) and queued; a full
// queue drops the frame and counts it. Frames travel with their
// virtio-net header (PACKET_VNET_HDR), so checksum-offloaded and GSO
// packets from veth peers cross intact; loss applies to such a GSO packet
// as a whole.
//
// It prints "impair: ready ..." once both sockets are bound, the counters
// on SIGUSR1, and the counters again when SIGTERM or SIGINT stops it:
//
//	impair: a->b rx=120 fwd=118 lost=2 qdrop=0 err=0
//	impair: b->a rx=118 fwd=118 lost=0 qdrop=0 err=0
package main
