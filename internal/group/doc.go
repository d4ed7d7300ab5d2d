// Package group provisions an ipopd group offline: it creates the group CA,
// issues member certificates as bundles, installs bundles, keeps the state
// directory, and verifies the certificates that peers present on DTLS links.
//
// # State directory
//
// Everything lives in one directory (default /etc/ipop, mode 0700):
//
//	ca.crt            group CA certificate (PEM)                      0644
//	ca.key            group CA key, only on the owner (PEM, SEC 1)    0600
//	node.crt          this node's certificate (PEM)                   0644
//	node.key          this node's key (PEM, SEC 1)                    0600
//	group.json        {"name","subnet","node_name","owner"}          0644
//	allocations.json  owner only: every issued name and address      0644
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
// client auth, and is valid for one year (starting one hour in the past to
// absorb clock skew).
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
