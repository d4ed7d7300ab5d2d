// Package join is the joining router's side of an invite: it reaches a
// bootstrap member named in the token, checks that member against the
// group CA fingerprint in the token, proves it holds the invite secret
// (bound to this DTLS session, so the proof is worthless anywhere else),
// sends its public key and name, and gets its signed certificate. Its key
// never leaves it.
//
//	joiner                                  member (or, through it, the owner)
//	  DTLS handshake: self-signed cert  ->  accepted as a join session only
//	  JoinHello                         ->
//	                                    <-  JoinInfo {group, CA certificate}
//	  check CA fingerprint == token's, member cert chains to that CA
//	  JoinRequest {invite id, HMAC(secret, session binding), name, key} ->
//	                                    <-  JoinReply {certificate, address, pool} or error
package join
