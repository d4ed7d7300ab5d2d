// Package daemon runs one member: it wires the TAP device, the switch and
// the transport together and keeps them running until told to stop.
//
// # The path of a frame
//
// Out (one goroutine, the TAP reader):
//
//  1. read a frame from the TAP;
//  2. egress guards (DHCP server replies, router advertisements) drop what
//     must stay on this LAN;
//  3. unicast to a learned MAC goes to the peer that owns it; broadcast,
//     multicast and unknown unicast go to every up peer, each through that
//     peer's outgoing flood limiter;
//  4. transport.SendFrame seals and sends.
//
// In (the transport's socket reader goroutine, through OnFrame):
//
//  1. ingress guards again (a peer with the guard switched off must not
//     leak its DHCP server into our LAN);
//  2. learn the source MAC for that peer;
//  3. flooded frames pass the peer's incoming flood limiter;
//  4. write to the TAP. Split horizon: a frame from a peer never goes to
//     another peer, so a full mesh has no loops.
package daemon
