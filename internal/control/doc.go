// Package control is the daemon's local control API: the methods the CLI
// (and later ubus) call, and the unix socket that carries them off OpenWRT.
//
// # Socket protocol
//
// The socket (UCI option control_socket, default /var/run/ipopd.sock) is a
// unix stream socket, mode 0600, so only root can use it. A client sends
// one request, a single JSON object on one line, and reads one response
// line, then the server closes the connection:
//
//	-> {"method":"peers","args":{}}
//	<- {"ok":true,"result":[{"name":"cabin", ...}]}
//	<- {"ok":false,"error":"unknown method \"x\""}
//
// Requests are limited to 64 KiB; a malformed request gets an error
// response, never a crash.
package control
