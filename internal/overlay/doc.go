// Package overlay holds the pure, allocation-free pieces of ipopd's virtual
// Ethernet switch: the MAC learning table, Ethernet header helpers, the edge
// guards (DHCP server replies, IPv6 router advertisements) and the per-peer
// flood rate limiter. It opens no sockets, starts no goroutines and never
// reads the clock: callers pass monotonic nanoseconds in, so every rule is
// testable without a network and nothing here allocates per frame.
//
// # The switch
//
// Every member router has one TAP port (its LAN) and one link per peer
// router it exchanges unicast with, plus the lighthouses. The daemon moves frames with these rules:
//
//   - Learn: the source MAC of every frame that arrives from a peer is
//     learned on that peer (MACTable.Learn). Local MACs are the business of
//     the Linux bridge that holds the TAP: it learns them and hands the TAP
//     only frames for MACs it does not know locally. Multicast, broadcast and
//     all-zero source MACs are never learned.
//   - Unicast: a frame whose destination MAC is in the table goes to the one
//     peer that owns it (MACTable.Lookup), not through the flood limiter.
//   - Flood: broadcast, multicast and unknown unicast go to a lighthouse to
//     reflect, or with none to every linked peer, each copy through that
//     peer's RateLimiter, so a broadcast storm on one LAN cannot saturate
//     the uplinks of the whole group.
//   - Split horizon: a frame that came from a peer goes only to the local TAP,
//     never to another peer, except at a lighthouse, which reflects a
//     member's flood to the others once (the daemon's flood.go); a
//     reflected frame is never reflected again, so there are no loops.
//   - Address plan: ResolveTarget finds the address an ARP request or IPv6
//     neighbour solicitation asks about, so the daemon can send it only to
//     the member whose slice holds it.
//   - FloodFilter (flood_allow) says which multicast groups may cross.
//   - Guards: Guards.Drop runs on the way out to the overlay (do not export
//     this site's DHCP server or router advertisements) and again on the way
//     in from it (do not trust a peer that forgot to). Each router is the
//     DHCP server and IPv6 gateway of its own LAN only.
//
// # Where the pieces run
//
// Outbound, one TAP reader goroutine per daemon:
//
//  1. ValidFrame, then Guards.Drop (outbound instance).
//  2. Dst: unicast -> MACTable.Lookup -> the owner's link queue.
//  3. Multicast or a lookup miss -> for each peer, that peer's
//     RateLimiter.Allow -> the peer's link queue (drop when denied).
//
// Inbound, one receiver goroutine per link:
//
//  1. ValidFrame, then Guards.Drop (inbound instance).
//  2. MACTable.Learn(Src(frame), peer, now).
//  3. Write to the local TAP only (split horizon).
//
// A maintenance timer calls MACTable.Expire now and then, and the link
// manager calls MACTable.ForgetPort when a peer goes away.
//
// # Concurrency
//
// MACTable is written by the link receivers and read by the TAP reader at
// the same time; a known MAC is refreshed under the read lock with an atomic
// timestamp, so the write lock is taken only for new MACs and moves. Guards
// and RateLimiter are safe for concurrent use; Inspect and the Ethernet
// helpers are pure functions.
package overlay
