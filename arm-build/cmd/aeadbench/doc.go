// Command aeadbench seals and opens data channel records the way ipopd's
// transport does, so that the cost of each AEAD can be counted in guest
// instructions under qemu-user (arm-build/aeadcount.sh, `make bench-mips`).
//
// One run measures one AEAD:
//
//	aeadbench [-aead auto|AES-128-GCM|ChaCha20-Poly1305|ChaCha20-Poly1305:x/crypto|ChaCha20-Poly1305:chachapoly] [-n records] [-size bytes]
//
//	aeadbench -frame [-aead auto|AES-128-GCM|ChaCha20-Poly1305] [-n frames] [-size bytes]
//
// ChaCha20-Poly1305 is the daemon's (transport.NewDataAEAD: internal/chachapoly
// on mipsle, mips and arm, x/crypto elsewhere); the two suffixed names pick
// one implementation, so that both can be compared on any architecture.
//
// Each record is a 13-byte header (marker, index, counter) followed by the
// payload and a 16-byte tag. The payload is encrypted in place with a
// 12-byte nonce made of four zero bytes and the big-endian counter, and the
// header is the additional data; the record is then opened in place by a
// second AEAD instance with the same key, as the receiving peer would. This
// mirrors seal and open in internal/transport/record.go.
//
// With -frame it sends and receives Ethernet frames of -size bytes through
// the daemon's transport instead (transport.FramePath: SendFrame, an
// in-memory socket, the receive path up to OnFrame), the whole frame path
// with the system calls left out; aeadcount.sh counts it from main.frames.
//
// The program prints which AEAD the daemon would pick on this CPU
// (transport.PreferredCipher), which ChaCha20-Poly1305 implementation
// it uses (transport.ChaCha20Impl) and what it measured. It does not time
// anything: wall time under an emulator says nothing about a router, while
// the difference in executed instructions between two record counts does.
package main
