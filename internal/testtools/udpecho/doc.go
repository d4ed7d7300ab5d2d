// Command udpecho is a UDP echo used by NAT tests to see the source address
// a packet has after crossing NATs.
//
//	udpecho -listen ADDR
//
// answers every datagram with "ip:port\n" (the source it observed) followed
// by the datagram itself, and logs "from ip:port N bytes" per datagram. It
// runs until SIGTERM or SIGINT.
//
//	udpecho -send ADDR [-from PORT] [-msg X] [-timeout 2s] [-linger 0]
//
// sends X from local port PORT (0: any) to ADDR and prints the reply from
// ADDR verbatim; it exits 1 when no reply arrives within the timeout. With
// -linger D it then keeps the socket (and so the NAT mapping it opened) for
// D more, echoing every datagram like -listen and logging "from ip:port
// MSG", so a test can check who may reach the mapped port. netlab.ParseEcho
// reads the printed reply.
package main
