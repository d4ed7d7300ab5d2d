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
	rec := pb.b[relayHeaderLen:]
	if count == 1 {
		rec[headerLen] = payloadFrame
		copy(rec[headerLen+1:], frame)
		if err := t.sendRecord(s, pb, 1+len(frame)); err != nil {
			return err
		}
	} else {
		id := uint16(s.fragID.Add(1))
		for off := 0; off < len(frame); off += size {
			end := min(off+size, len(frame))
			putFragHeader(rec[headerLen:], id, off, end < len(frame))
			copy(rec[headerLen+fragHeaderLen:], frame[off:end])
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
	t.sendKeepaliveOn(s, s.vc.path())
}

// sendKeepaliveOn sends a keepalive on a given path: on the session's own,
// or straight to a candidate address of a relayed peer, where it doubles
// as a hole-punching probe (see probe.go).
func (t *Transport) sendKeepaliveOn(s *session, p path) {
	pb := t.bufs.Get().(*packetBuf)
	pb.b[relayHeaderLen+headerLen] = payloadKeepalive
	_ = t.sendRecordOn(s, pb, 1, p)
	t.bufs.Put(pb)
}

// sendRecord seals the payload in pb.b[relayHeaderLen+headerLen:][:n] and
// writes it on the session's path.
func (t *Transport) sendRecord(s *session, pb *packetBuf, n int) error {
	return t.sendRecordOn(s, pb, n, s.vc.path())
}

func (t *Transport) sendRecordOn(s *session, pb *packetBuf, n int, p path) error {
	c := s.sendCounter.Add(1) - 1
	if c >= maxCounter {
		go s.close("record counter exhausted")
		return ErrNotReady
	}
	rec := pb.b[relayHeaderLen:]
	putHeader(rec, s.remoteIndex.Load(), c)
	m := seal(s.keys.send, rec, n, &pb.nonce)
	s.lastSend.Store(t.now())
	if err := t.writeRecord(pb.b[:relayHeaderLen+m], p); err != nil {
		t.stSendErrors.Add(1)
		return err
	}
	return nil
}
