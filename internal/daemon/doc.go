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
//  3. unicast to a learned MAC goes to the member that owns it (staged,
//     and the link woken, when it has none); broadcast, multicast and
//     unknown unicast pass flood_allow, then go to the owner of an asked
//     address, as one reflect copy to a lighthouse, or (no lighthouse up,
//     or this is one) to every up peer, each copy through that peer's
//     outgoing flood limiter (flood.go);
//  4. frames of one batch for the same peer go together to
//     transport.SendFrames, which seals them and sends them in one system
//     call.
//
// In (the transport's socket reader goroutine, through OnFrame, or
// OnFlood for floods through a lighthouse):
//
//  1. ingress guards again (a peer with the guard switched off must not
//     leak its DHCP server into our LAN);
//  2. learn the source MAC for the member it came from (the origin of a
//     reflected frame, which may have no link with us);
//  3. flooded frames pass that member's incoming flood limiter; a
//     lighthouse reflects a reflect frame to its other peers; multicast
//     passes flood_allow;
//  4. the Coalescer glues consecutive TCP segments of a flow into one
//     TSO frame (GRO) and writes to the TAP after each socket read; other
//     frames are written as they come. Split horizon: a frame from a peer never goes to
//     another peer, except a reflect frame at a lighthouse, and a reflected
//     frame is never reflected again, so there are no loops.
package daemon
