// Command manypeers links many members to one ipopd, from one process: the
// members of a memory benchmark (issue 11: what one linked peer costs a
// lighthouse of 1000) without a thousand daemons.
//
//	manypeers -bundles DIR -hub ADDR [-bind IP] [-active ADDR -active-n K] [-stdin]
//
// makes one transport (its own UDP socket on IP, any port) per bundle file
// in DIR (as `ipopd group issue` writes them, read in name order), links
// each to the daemon at ADDR (ip:port) and, when that daemon is a
// lighthouse, announces its address to it as a member would. When every
// link is up it prints "up N". With -active, the first K members also link
// to the member daemon at that address and send it one frame a second, so
// that it holds K active links; it prints "active K" once they are up. It
// runs until SIGTERM or SIGINT (with -stdin, also until the end of its
// standard input), then closes
// every session (each peer is told) and exits.
package main
