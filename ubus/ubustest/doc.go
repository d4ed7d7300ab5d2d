// Package ubustest is a fake ubusd for tests, written from the protocol notes
// (PROTOCOL.md) rather than from ubusd's code: it listens on a unix socket,
// greets each client with HELLO, assigns random client and object ids (≥
// 1024, like ubusd), and handles PING, LOOKUP, ADD_OBJECT, REMOVE_OBJECT,
// INVOKE routing between clients with DATA/STATUS forwarding (peer
// rewritten to the object id), events (object 1 "send" and "register"),
// SUBSCRIBE/UNSUBSCRIBE and NOTIFY. It enforces the 1 MiB message limit by
// dropping the client, as ubusd does. It has no ACLs and reports every caller
// as user and group "root".
//
// A test starts one with Serve(t); Stop and Start simulate a ubusd restart on
// the same path, DropClients a lost connection, and Inject garbage on the
// wire.
package ubustest
