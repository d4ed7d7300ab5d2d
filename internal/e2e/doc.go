// Package e2e holds ipopd's end-to-end tests: real daemons, real TAP
// devices, bridges, DTLS and NATs, in network namespaces built by package
// netlab. They need root and skip without it; CI runs them as root.
package e2e
