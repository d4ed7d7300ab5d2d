package offload

import (
	"encoding/binary"
	"fmt"
)

// Ethernet and IP constants this package needs.
const (
	ethLen       = 14
	etherIPv4    = 0x0800
	etherIPv6    = 0x86dd
	etherVLAN    = 0x8100
	etherQinQ    = 0x88a8
	protoTCP     = 6
	ipv6Len      = 40
	tcpMinLen    = 20
	tcpCsumField = 16

	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpPSH = 0x08
	tcpACK = 0x10
	tcpURG = 0x20
	tcpECE = 0x40
	tcpCWR = 0x80
)

// l3 finds the network header behind the Ethernet header and up to two
// VLAN tags: its offset and EtherType.
func l3(frame []byte) (off int, etherType uint16, ok bool) {
	off = 12
	for range 3 {
		if len(frame) < off+2 {
			return 0, 0, false
		}
		etherType = binary.BigEndian.Uint16(frame[off:])
		if etherType != etherVLAN && etherType != etherQinQ {
			return off + 2, etherType, true
		}
		off += 4
	}
	return 0, 0, false
}

// Complete finishes a partial checksum the kernel left for us
// (FlagNeedsCsum on a frame that needs no cutting): the sum from
// CsumStart to the end goes into the field at CsumStart+CsumOffset, which
// already holds the pseudo-header's part. A frame without the flag is
// left alone.
func Complete(h Hdr, frame []byte) error {
	if h.Flags&FlagNeedsCsum == 0 {
		return nil
	}
	start, field := int(h.CsumStart), int(h.CsumStart)+int(h.CsumOffset)
	if start >= len(frame) || field+2 > len(frame) {
		return fmt.Errorf("%w: checksum at %d+%d in a %d-byte frame", ErrBadFrame, h.CsumStart, h.CsumOffset, len(frame))
	}
	c := ^fold(sum(frame[start:], 0))
	if c == 0 {
		c = 0xffff // as the kernel does (CSUM_MANGLED_0): 0 means "none" for UDP
	}
	binary.BigEndian.PutUint16(frame[field:], c)
	return nil
}

// tcpFrame says where a TCP frame's headers are.
type tcpFrame struct {
	ip, tcp, payload int // offsets
	v6               bool
}

// parseGSO checks a TSO frame against its header and finds its parts.
func parseGSO(h Hdr, frame []byte) (tcpFrame, error) {
	var f tcpFrame
	switch h.GSOType &^ GSOECN {
	case GSOTCPv4:
	case GSOTCPv6:
		f.v6 = true
	default:
		return f, fmt.Errorf("%w: %d", ErrUnsupportedGSO, h.GSOType)
	}
	if h.Flags&FlagNeedsCsum == 0 || h.CsumOffset != tcpCsumField || h.GSOSize == 0 {
		return f, fmt.Errorf("%w: TSO without a TCP partial checksum or segment size", ErrBadFrame)
	}
	ip, et, ok := l3(frame)
	if !ok {
		return f, fmt.Errorf("%w: truncated Ethernet header", ErrBadFrame)
	}
	f.ip, f.tcp = ip, int(h.CsumStart)
	switch {
	case !f.v6 && et == etherIPv4:
		if len(frame) < ip+20 || frame[ip]>>4 != 4 || frame[ip+9] != protoTCP || ip+int(frame[ip]&0xf)*4 != f.tcp {
			return f, fmt.Errorf("%w: IPv4 header does not lead to TCP at %d", ErrBadFrame, f.tcp)
		}
	case f.v6 && et == etherIPv6:
		// Extension headers may sit between; the kernel's CsumStart says
		// where TCP begins.
		if len(frame) < ip+ipv6Len || frame[ip]>>4 != 6 || f.tcp < ip+ipv6Len {
			return f, fmt.Errorf("%w: IPv6 header does not lead to TCP at %d", ErrBadFrame, f.tcp)
		}
	default:
		return f, fmt.Errorf("%w: EtherType %#04x for GSO type %d", ErrBadFrame, et, h.GSOType)
	}
	if len(frame) < f.tcp+tcpMinLen {
		return f, fmt.Errorf("%w: truncated TCP header", ErrBadFrame)
	}
	// The header's HdrLen is a hint the kernel does not always get right;
	// the TCP data offset is the truth.
	f.payload = f.tcp + int(frame[f.tcp+12]>>4)*4
	if f.payload < f.tcp+tcpMinLen || f.payload > len(frame) {
		return f, fmt.Errorf("%w: TCP data offset %d", ErrBadFrame, frame[f.tcp+12]>>4)
	}
	return f, nil
}

// Segment cuts a TSO frame (behind header h, read from the TAP) into
// frames of at most h.GSOSize payload bytes each, written into the
// buffers of dst, and returns how many it made: dst[:n] are the frames,
// resliced to their lengths. Each has its own IP length and ID, TCP
// sequence number, flags and full checksums, as a NIC would send them.
// Segment allocates nothing.
func Segment(h Hdr, frame []byte, dst [][]byte) (int, error) {
	f, err := parseGSO(h, frame)
	if err != nil {
		return 0, err
	}
	payload := frame[f.payload:]
	gso := int(h.GSOSize)
	n := (len(payload) + gso - 1) / gso
	if n == 0 {
		return 0, fmt.Errorf("%w: TSO frame without payload", ErrBadFrame)
	}
	if n > len(dst) {
		return 0, fmt.Errorf("%w: %d segments, %d buffers", ErrTooManySegments, n, len(dst))
	}
	hdrs := frame[:f.payload]
	seq := binary.BigEndian.Uint32(frame[f.tcp+4:])
	var id uint16
	var src, dstAddr []byte
	if f.v6 {
		src, dstAddr = frame[f.ip+8:f.ip+24], frame[f.ip+24:f.ip+40]
	} else {
		id = binary.BigEndian.Uint16(frame[f.ip+4:])
		src, dstAddr = frame[f.ip+12:f.ip+16], frame[f.ip+16:f.ip+20]
	}
	for i := range n {
		chunk := payload[i*gso : min((i+1)*gso, len(payload))]
		size := len(hdrs) + len(chunk)
		if cap(dst[i]) < size {
			return 0, fmt.Errorf("%w: %d-byte segment, %d-byte buffer", ErrTooManySegments, size, cap(dst[i]))
		}
		seg := dst[i][:size]
		copy(seg, hdrs)
		copy(seg[len(hdrs):], chunk)
		ip, tcp := seg[f.ip:], seg[f.tcp:]
		if f.v6 {
			binary.BigEndian.PutUint16(ip[4:], uint16(size-f.ip-ipv6Len))
		} else {
			binary.BigEndian.PutUint16(ip[2:], uint16(size-f.ip))
			binary.BigEndian.PutUint16(ip[4:], id+uint16(i))
			binary.BigEndian.PutUint16(ip[10:], ipv4HeaderChecksum(ip[:f.tcp-f.ip]))
		}
		binary.BigEndian.PutUint32(tcp[4:], seq+uint32(i*gso))
		if i > 0 {
			tcp[13] &^= tcpCWR
		}
		if i < n-1 {
			tcp[13] &^= tcpFIN | tcpPSH
		}
		tcp[tcpCsumField], tcp[tcpCsumField+1] = 0, 0
		acc := sum(tcp, pseudoSum(src, dstAddr, protoTCP, len(tcp)))
		binary.BigEndian.PutUint16(tcp[tcpCsumField:], ^fold(acc))
		dst[i] = seg
	}
	return n, nil
}
