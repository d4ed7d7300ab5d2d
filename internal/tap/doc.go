// Package tap opens the Linux TAP device that joins the overlay to the
// router's LAN bridge, and attaches it to the bridge with the interface
// ioctls (SIOCSIFMTU, SIOCBRADDIF, SIOCSIFFLAGS).
//
// The device is opened without IFF_PERSIST: when the daemon exits, for any
// reason, the kernel removes it, so no stale port is left in the bridge.
package tap
