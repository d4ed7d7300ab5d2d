// Package buildflags holds the compiler flags of a release build, shared by
// the cross builds (arm-build/cross) and the binaries the end-to-end tests
// run (internal/netlab), so that both build, and measure, what ships. The
// Makefile's COLD_PKGS lists the same packages (a test checks).
package buildflags

// ColdPackages are compiled without inlining: they run at start-up, in
// handshakes, on control messages and on the command line, never per data
// packet, and inlining there costs flash and, since the whole binary ends
// up mapped, resident memory (~200 KiB of each). The data path (transport,
// offload, overlay, daemon, tap, relay, crypto, net, runtime,
// encoding/binary) keeps it.
var ColdPackages = []string{
	"github.com/pion/...",
	"github.com/ipopd/ipopd/ipopd",
	"github.com/ipopd/ipopd/internal/group",
	"github.com/ipopd/ipopd/internal/cbor",
	"github.com/ipopd/ipopd/internal/control",
	"github.com/ipopd/ipopd/internal/join",
	"github.com/ipopd/ipopd/internal/wire",
	"github.com/ipopd/ipopd/internal/nat",
	"github.com/ipopd/ipopd/ubus",
	"github.com/ipopd/ipopd/uci/...",
	"encoding/json",
	"encoding/gob",
	"encoding/asn1",
	"encoding/pem",
	"crypto/x509/...",
	"math/big",
	"fmt",
	"reflect",
	"log/...",
	"vendor/golang.org/x/net/dns/...",
	"github.com/ipopd/ipopd/internal/underlay",
	"github.com/ipopd/ipopd/internal/addrwatch",
	"crypto/internal/fips140/nistec",
	"github.com/ipopd/ipopd/internal/dtlscookie",
	"crypto/tls",
	"crypto/ecdsa",
}

// GCFlags returns the go build arguments for ColdPackages: one -gcflags
// per package pattern.
func GCFlags() []string {
	out := make([]string, 0, len(ColdPackages))
	for _, p := range ColdPackages {
		out = append(out, "-gcflags="+p+"=-l")
	}
	return out
}
