package transport

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"

	"github.com/pion/dtls/v3"
	"golang.org/x/crypto/chacha20poly1305"
)

// Data record layout; see the package comment.
const (
	headerLen   = 13
	tagLen      = 16
	overhead    = headerLen + tagLen
	offIndex    = 1
	offCounter  = 5
	nonceLen    = 12
	exportLabel = "EXPORTER-ipop-data-v1"
)

// Payload kinds: the first plaintext byte of a data record.
const (
	payloadFrame     = 1 // a whole Ethernet frame follows
	payloadFragment  = 2 // fragment header, then a piece of a frame
	payloadKeepalive = 3 // nothing follows
	payloadReflect   = 4 // a whole flooded frame for a lighthouse to reflect
	payloadReflected = 5 // origin node number (8), then a whole flooded frame a lighthouse reflected
)

// Fragment header: kind, frame id (2), offset (2), flags (1). The flood
// flags say what the reassembled bytes are: with fragReflected they are
// the origin node number (8 bytes) and the frame, as in a payloadReflected
// record; fragments of one frame carry the same flood flags.
const (
	fragHeaderLen = 6
	fragMore      = 1 // more fragments follow this one
	fragReflect   = 2 // the frame is a payloadReflect flood
	fragReflected = 4 // the frame is a payloadReflected flood
	fragFlags     = fragMore | fragReflect | fragReflected
)

// recordLimit is how many records one key may seal: the AEAD usage limit
// TLS 1.3 sets for AES-GCM (2^24.5 full-size records) rounded down, which
// holds for ChaCha20-Poly1305 too. A session asks for a new key at three
// quarters of it (rekey.go); at the limit it seals nothing more, and a
// record that claims a counter at or past it is refused unopened. A
// variable so that tests can lower it.
var recordLimit uint64 = 1 << 24

// keys holds the two directions of a session's data channel.
type keys struct {
	send, recv cipher.AEAD
}

// deriveKeys makes the data channel keys from the DTLS session: 64 bytes of
// exported keying material, the first half the client's sending key, the
// second the server's. The AEAD is the one the handshake negotiated, so
// both ends agree and each end's preference (AES where it has AES
// instructions, else ChaCha20) decides.
func deriveKeys(state dtls.State, client bool) (keys, error) {
	ekm, err := state.ExportKeyingMaterial(exportLabel, nil, 64)
	if err != nil {
		return keys{}, fmt.Errorf("export keying material: %w", err)
	}
	// The AEADs keep their own copies (key schedules); these bytes must not
	// outlive the call in memory that a later look at the router could read.
	defer clear(ekm)
	clientKey, serverKey := ekm[:32], ekm[32:]
	var name string
	switch state.CipherSuiteID {
	case dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:
		name = CipherAESGCM
	case dtls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256:
		name = CipherChaCha20
	default:
		return keys{}, fmt.Errorf("unexpected cipher suite %v", state.CipherSuiteID)
	}
	mk := func(k []byte) (cipher.AEAD, error) { return NewDataAEAD(name, k) }
	var ks keys
	sendKey, recvKey := serverKey, clientKey
	if client {
		sendKey, recvKey = clientKey, serverKey
	}
	if ks.send, err = mk(sendKey); err != nil {
		return keys{}, err
	}
	if ks.recv, err = mk(recvKey); err != nil {
		return keys{}, err
	}
	return ks, nil
}

// Names of the data channel AEADs.
const (
	CipherAESGCM   = "AES-128-GCM"
	CipherChaCha20 = "ChaCha20-Poly1305"
)

// NewDataAEAD makes a data channel AEAD from a 32-byte key (AES-128 takes
// its first half).
func NewDataAEAD(name string, key []byte) (cipher.AEAD, error) {
	if len(key) != chacha20poly1305.KeySize {
		return nil, fmt.Errorf("data channel key of %d bytes, want %d", len(key), chacha20poly1305.KeySize)
	}
	switch name {
	case CipherAESGCM:
		b, err := aes.NewCipher(key[:16])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return cipher.NewGCM(b)
	case CipherChaCha20:
		return newChaCha20(key)
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownCipher, name)
}

// The record operations of the data path, exported for micro-benchmarks
// (arm-build/cmd/aeadbench counts their instructions under qemu) so that
// they measure the daemon's own code.
const (
	RecordHeaderLen = headerLen
	RecordOverhead  = overhead
	NonceLen        = nonceLen
)

// PutRecordHeader writes a data record header into b[:RecordHeaderLen].
func PutRecordHeader(b []byte, index uint32, counter uint64) { putHeader(b, index, counter) }

// SealRecord seals b's payload of n bytes in place; see seal.
func SealRecord(aead cipher.AEAD, b []byte, n int, nonce *[NonceLen]byte) int {
	return seal(aead, b, n, nonce)
}

// OpenRecord opens the record in b in place; see open.
func OpenRecord(aead cipher.AEAD, b []byte, nonce *[NonceLen]byte) ([]byte, error) {
	return open(aead, b, nonce)
}

// putHeader writes a data record header into b[:headerLen].
func putHeader(b []byte, index uint32, counter uint64) {
	b[0] = markerData
	binary.BigEndian.PutUint32(b[offIndex:], index)
	binary.BigEndian.PutUint64(b[offCounter:], counter)
}

// seal encrypts b[headerLen:headerLen+n] in place behind the header already
// in b and returns the record length. nonce is caller scratch (so that it
// need not escape to the heap).
func seal(aead cipher.AEAD, b []byte, n int, nonce *[nonceLen]byte) int {
	nonce[0], nonce[1], nonce[2], nonce[3] = 0, 0, 0, 0
	copy(nonce[4:], b[offCounter:headerLen])
	out := aead.Seal(b[headerLen:headerLen], nonce[:], b[headerLen:headerLen+n], b[:headerLen])
	return headerLen + len(out)
}

// open authenticates and decrypts the record in b in place and returns the
// payload, which aliases b.
func open(aead cipher.AEAD, b []byte, nonce *[nonceLen]byte) ([]byte, error) {
	nonce[0], nonce[1], nonce[2], nonce[3] = 0, 0, 0, 0
	copy(nonce[4:], b[offCounter:headerLen])
	return aead.Open(b[headerLen:headerLen], nonce[:], b[headerLen:], b[:headerLen])
}

// recordIndex and recordCounter read a data record's header; b must be at
// least headerLen long (Classify guarantees it).
func recordIndex(b []byte) uint32   { return binary.BigEndian.Uint32(b[offIndex:]) }
func recordCounter(b []byte) uint64 { return binary.BigEndian.Uint64(b[offCounter:]) }
