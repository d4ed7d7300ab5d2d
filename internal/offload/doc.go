// Package offload moves TCP super-frames through a TAP device opened with
// IFF_VNET_HDR. The kernel hands the TAP frames of up to 64 KiB (TSO) with
// a virtio-net header saying how to cut them; Segment cuts them into
// wire-sized frames, each a valid Ethernet frame with its own IP and TCP
// headers and checksums, so that a lost datagram costs one TCP segment.
// On the way in, a Coalescer glues consecutive segments of a TCP flow back
// into one frame with a header that tells the kernel to cut it again where
// needed (GRO). Either way the TAP costs one system call per 64 KiB instead
// of one per 1.5 KiB frame, which is what the data path spends most of its
// time on.
//
// The wire carries ordinary Ethernet frames: peers need not agree on
// anything, and a frame that is not TCP, or not safely mergeable, passes
// through untouched.
package offload
