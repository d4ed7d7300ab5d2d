// Package cross knows the router architectures ipopd ships for and builds
// the daemon for them: the OpenWrt package architecture, the Go target that
// runs there, and the qemu-user emulator that runs it on a build machine.
//
// Builds are reproducible: CGO off, -trimpath, no build id, a stripped
// binary and the version stamped with -X main.version, so two builds of one
// commit give the same bytes (TestReproducible checks it). Its tests also run
// every cross-built binary under qemu-user (`ipopd version` and `ipopd
// selftest`), skipping with a message when qemu-user-static is missing.
package cross
