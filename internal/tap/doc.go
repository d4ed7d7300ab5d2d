// Package tap opens the Linux TAP device that joins the overlay to the
// router's LAN bridge, and attaches it to the bridge with the interface
// ioctls (SIOCSIFMTU, SIOCBRADDIF, SIOCSIFFLAGS).
//
// Frames are read and written behind a virtio-net header (IFF_VNET_HDR)
// with TCP segmentation and checksum offloads on, so that the kernel
// hands over and takes 64 KiB TCP frames; package offload cuts and glues
// them.
//
// The device is opened without IFF_PERSIST: when the daemon exits, for any
// reason, the kernel removes it, so no stale port is left in the bridge.
package tap
