package transport

// SendFrame sends one Ethernet frame to a peer: copy behind a header,
// fragment if it does not fit the path, seal each record in place, write.
// It is safe for concurrent use and allocates nothing.
func (t *Transport) SendFrame(p *Peer, frame []byte) error {
	s := p.active.Load()
	if s == nil || !s.ready.Load() {
		t.stNoSession.Add(1)
		return ErrNotReady
	}
	if len(frame) > t.maxFrame {
		return ErrFrameTooLarge
	}
	pb := t.bufs.Get().(*packetBuf)
	defer t.bufs.Put(pb)
	count, size := fragmentPlan(len(frame), s.maxPayload())
	if count == 1 {
		pb.b[headerLen] = payloadFrame
		copy(pb.b[headerLen+1:], frame)
		if err := t.sendRecord(s, pb, 1+len(frame)); err != nil {
			return err
		}
	} else {
		id := uint16(s.fragID.Add(1))
		for off := 0; off < len(frame); off += size {
			end := min(off+size, len(frame))
			putFragHeader(pb.b[headerLen:], id, off, end < len(frame))
			copy(pb.b[headerLen+fragHeaderLen:], frame[off:end])
			if err := t.sendRecord(s, pb, fragHeaderLen+end-off); err != nil {
				return err
			}
		}
	}
	p.bytesOut.Add(uint64(len(frame)))
	p.framesOut.Add(1)
	return nil
}

// sendKeepalive sends an empty authenticated record: it keeps NAT mappings
// open and tells the peer we are alive without a DTLS round trip.
func (t *Transport) sendKeepalive(s *session) {
	pb := t.bufs.Get().(*packetBuf)
	pb.b[headerLen] = payloadKeepalive
	_ = t.sendRecord(s, pb, 1)
	t.bufs.Put(pb)
}

// sendRecord seals the payload in pb.b[headerLen:headerLen+n] and writes it.
func (t *Transport) sendRecord(s *session, pb *packetBuf, n int) error {
	c := s.sendCounter.Add(1) - 1
	if c >= maxCounter {
		go s.close("record counter exhausted")
		return ErrNotReady
	}
	putHeader(pb.b[:], s.remoteIndex.Load(), c)
	m := seal(s.keys.send, pb.b[:], n, &pb.nonce)
	s.lastSend.Store(t.now())
	if _, err := t.conn.WriteToUDPAddrPort(pb.b[:m], s.vc.endpoint()); err != nil {
		t.stSendErrors.Add(1)
		return err
	}
	return nil
}
