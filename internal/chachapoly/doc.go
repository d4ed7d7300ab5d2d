// Package chachapoly is ChaCha20-Poly1305 (RFC 8439) for the 32-bit router
// CPUs (mipsle, mips, arm), where golang.org/x/crypto has no assembly and
// its Poly1305 emulates 64x64-bit multiplies. The data channel uses it
// only on those architectures (transport.NewDataAEAD); amd64 and arm64
// keep x/crypto.
package chachapoly
