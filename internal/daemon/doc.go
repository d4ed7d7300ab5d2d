// Package daemon runs one member: it wires the TAP device, the switch and
// the transport together and keeps them running until told to stop.
//
// # The path of a frame
//
// Out (one goroutine, the TAP reader):
//
//  1. read a batch of frames from the TAP (tap.Device.ReadBatch); a TSO
//     frame of up to 64 KiB is cut into wire-sized TCP segments
//     (offload.Segment), which share one forwarding decision;
//  2. egress guards (DHCP server replies, router advertisements) drop what
//     must stay on this LAN;
//  3. unicast to a learned MAC goes to the peer that owns it; broadcast,
//     multicast and unknown unicast go to every up peer, each through that
//     peer's outgoing flood limiter;
//  4. frames of one batch for the same peer go together to
//     transport.SendFrames, which seals them and sends them in one system
//     call.
//
// In (the transport's socket reader goroutine, through OnFrame):
//
//  1. ingress guards again (a peer with the guard switched off must not
//     leak its DHCP server into our LAN);
//  2. learn the source MAC for that peer;
//  3. flooded frames pass the peer's incoming flood limiter;
//  4. the Coalescer glues consecutive TCP segments of a flow into one
//     TSO frame (GRO) and writes to the TAP after each socket read; other
//     frames are written as they come. Split horizon: a frame from a peer never goes to
//     another peer, so a full mesh has no loops.
package daemon
