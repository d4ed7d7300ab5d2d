// Package group keeps an ipopd group's membership: it creates the group CA,
// makes invite tokens and admits joiners (signing a certificate for the
// joiner's own key), issues member certificates as bundles, allocates
// addresses and DHCP pool slices, revokes and renews certificates, keeps
// the state directory, and verifies the certificates that peers present on
// DTLS links. It is pure logic and persistence: the network protocol that
// carries join requests, renewals and revocation lists lives elsewhere and
// calls this API.
//
// # State directory
//
// Everything lives in one directory (default /etc/ipop, mode 0700):
//
//	ca.crt            group CA certificate (PEM)                      0644
//	ca.key            group CA key, only on the owner (PEM, SEC 1)    0600
//	node.crt          this node's certificate (PEM)                   0644
//	node.key          this node's key (PEM, SEC 1)                    0600
//	group.json        {"name","subnet","node_name","owner",          0644
//	                  "pool_size" (owner only; see below)}
//	allocations.json  owner only: every member's name, address, pool,
//	                  serials and revocation                         0644
//	invites.json      owner only: invite records with secrets        0600
//	crl.der           the newest revocation list (DER), if any       0644
//
// pool_size is the number of addresses of each member's DHCP pool, chosen
// when the group is created (0: no pools); it fixes the group's address
// plan (layout.go): router addresses from a range at the start of the
// subnet, pools from the rest. A group.json without it was written before
// it existed and keeps the legacy plan of pool.go; older ipopd versions
// read a group.json with it (unknown fields are ignored) but would
// allocate by the legacy plan, which mixes badly with the new one, so an
// owner of such a group must not be downgraded.
//
// Every write is atomic: each file is written to a temporary file in the same
// directory, synced and renamed into place. Operations that change several
// files validate everything and write all temporary files before the first
// rename, rename group.json last, and on a failed rename put back what was
// there, so a failed command leaves the directory as it was. Mutating
// operations hold an exclusive flock on the directory and Load a shared one,
// so the daemon and the CLI do not see each other's half-written state.
//
// # Certificates
//
// Keys are ECDSA P-256. A node's id is the lowercase hex of the first 8 bytes
// of the SHA-256 of its DER SubjectPublicKeyInfo. The CA is self-signed
// (CN "ipop CA <group>", O <group>, path length 0, 10 years). A member
// certificate has CN <node name>, O <group>, the node's address in the group
// subnet as its only IP SAN, the URI SAN ipop:node/<node id>, server and
// client auth, its DHCP pool slice in a non-critical extension (OIDPool;
// see pool.go for the slicing scheme), and is valid for one year (starting
// one hour in the past to absorb clock skew). Members renew in the last
// third of that year (NeedsRenewal, RenewMember, InstallRenamed, RenewSelf).
//
// # Joining
//
// The owner makes an invite (CreateInvite): a record in invites.json and a
// token "ipop1<base64url>" holding the group name, the CA fingerprint,
// bootstrap endpoints, the invite id and a 16-byte secret, with a checksum
// so that DecodeToken tells a typo from a bad token (token.go). The joiner
// makes its key (NewNodeKey), checks the bootstrap member's certificate
// against the fingerprint, and sends a JoinRequest with
// Proof(secret, DTLS exported keying material) so that the proof is bound
// to its session. AcceptJoin on the owner checks invite and proof, and
// allocates and signs in one commit; InstallJoined on the joiner checks the
// answer against the token and writes the state. Invites are single use
// by default, expire (24 h by default, 30 days at most) and are pruned a
// week after expiry.
//
// # Revocation
//
// Revoke marks a member revoked in allocations.json and signs an X.509 CRL
// (numbers counting up) listing every serial ever issued to a revoked
// member. Members take newer lists with ApplyCRL; VerifyPeer refuses the
// listed certificates (ErrRevoked), also after a restart, since crl.der is
// loaded with the state. Leave removes a node's state; on the owner only
// with force.
//
// # Bundle
//
// Issue hands a new member its credentials as a PEM text file (mode 0600):
//
//	# ipopd group bundle: node NODE in group GROUP
//	-----BEGIN CERTIFICATE-----      the group CA
//	Ipop-Group: GROUP
//	Ipop-Subnet: CIDR
//	...
//	-----BEGIN CERTIFICATE-----      the node certificate
//	-----BEGIN EC PRIVATE KEY-----   the node key
//
// Lines starting with '#' and blank lines may appear between blocks; any
// other text, extra blocks or headers are refused.
//
// Nothing here reads the clock: callers pass the current time, which keeps
// the package testable and the daemon's clock in one place.
package group
