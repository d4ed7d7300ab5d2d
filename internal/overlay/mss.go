package overlay

import "encoding/binary"

const ipProtoTCP = 6

// MSS clamping. A full-size TCP segment from a LAN (a 1514-byte frame)
// does not fit one overlay record on a 1500-byte underlay and is sent in
// two fragments. Lowering the MSS that TCP SYNs announce as they enter the
// overlay (as routers do for PPPoE) makes both ends send segments that fit
// one record: half the datagrams, no reassembly. Other protocols keep
// their full 1500-byte frames, which the overlay fragments.

// ClampMSS lowers the MSS option of a TCP SYN in frame to mss4 (IPv4) or
// mss6 (IPv6) if it announces more, fixing the TCP checksum in place. It
// reports whether it changed the frame. Anything it cannot parse it leaves
// alone; it never reads past the frame.
func ClampMSS(frame []byte, mss4, mss6 uint16) bool {
	et, p, ok := l3(frame)
	if !ok {
		return false
	}
	var tcp []byte
	var limit uint16
	switch et {
	case EtherTypeIPv4:
		if len(p) < 20 || p[0]>>4 != 4 || p[9] != ipProtoTCP {
			return false
		}
		ihl := int(p[0]&0x0f) * 4
		// Only whole, unfragmented packets: a SYN is never fragmented.
		if ihl < 20 || len(p) < ihl || binary.BigEndian.Uint16(p[6:8])&0x3fff != 0 {
			return false
		}
		tcp, limit = p[ihl:], mss4
	case EtherTypeIPv6:
		// Only a TCP header right after the fixed header (SYNs carry no
		// extension headers in practice).
		if len(p) < 40 || p[0]>>4 != 6 || p[6] != ipProtoTCP {
			return false
		}
		tcp, limit = p[40:], mss6
	default:
		return false
	}
	if len(tcp) < 20 || tcp[13]&0x02 == 0 { // SYN flag
		return false
	}
	doff := int(tcp[12]>>4) * 4
	if doff < 20 || len(tcp) < doff {
		return false
	}
	for o := 20; o < doff; {
		switch kind := tcp[o]; kind {
		case 0: // end of options
			return false
		case 1: // no-op
			o++
			continue
		case 2: // MSS
			if o+4 > doff || tcp[o+1] != 4 {
				return false
			}
			old := binary.BigEndian.Uint16(tcp[o+2:])
			if old <= limit {
				return false
			}
			binary.BigEndian.PutUint16(tcp[o+2:], limit)
			// RFC 1624 incremental update: HC' = ~(~HC + ~m + m').
			sum := uint32(^binary.BigEndian.Uint16(tcp[16:18])) + uint32(^old) + uint32(limit)
			for sum > 0xffff {
				sum = sum&0xffff + sum>>16
			}
			binary.BigEndian.PutUint16(tcp[16:18], ^uint16(sum))
			return true
		default:
			if o+1 >= doff || tcp[o+1] < 2 {
				return false
			}
			o += int(tcp[o+1])
		}
	}
	return false
}
