package transport

// SendFrame sends one Ethernet frame to a peer: copy behind a header,
// fragment if it does not fit the path, seal each record in place, write.
// It is safe for concurrent use and allocates nothing. Floods that go
// through a lighthouse use SendFrameVia (flood.go).
func (t *Transport) SendFrame(p *Peer, frame []byte) error {
	return t.SendFrameVia(p, frame, Via{})
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
	k := s.keys.Load()
	if k == nil {
		return ErrNotReady // closed a moment ago
	}
	c := s.sendCounter.Add(1) - 1
	if c >= recordLimit {
		// The key is used up; its rekey is on the way (rekey.go).
		t.stKeyLimit.Add(1)
		return ErrNotReady
	}
	rec := pb.b[relayHeaderLen:]
	putHeader(rec, s.remoteIndex.Load(), c)
	m := seal(k.send, rec, n, &pb.nonce)
	s.lastSend.Store(t.now())
	if err := t.writeRecord(pb.b[:relayHeaderLen+m], p); err != nil {
		t.stSendErrors.Add(1)
		return err
	}
	return nil
}
