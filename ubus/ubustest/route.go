package ubustest

import (
	"slices"
	"strings"

	"github.com/ipopd/ipopd/ubus"
)

// dropObject removes an object: its subscribers are told (UNSUBSCRIBE), the
// targets it subscribed to lose it, and its event registrations go.
func (s *Server) dropObject(o *object) {
	s.mu.Lock()
	delete(s.objects, o.id)
	s.listeners = slices.DeleteFunc(s.listeners, func(l eventListener) bool { return l.obj == o.id })
	type note struct {
		to    *client
		attrs []ubus.Attr
		t     ubus.MsgType
	}
	var notes []note
	for _, sub := range o.subscribers {
		if so := s.objects[sub]; so != nil {
			notes = append(notes, note{so.owner, []ubus.Attr{u32(ubus.AttrObjID, sub), u32(ubus.AttrTarget, o.id)}, ubus.MsgUnsubscribe})
		}
	}
	for _, t := range s.objects {
		if i := slices.Index(t.subscribers, o.id); i >= 0 {
			t.subscribers = slices.Delete(t.subscribers, i, i+1)
			if len(t.subscribers) == 0 {
				notes = append(notes, note{t.owner, []ubus.Attr{u32(ubus.AttrObjID, t.id), {ID: ubus.AttrActive, Data: []byte{0}}}, ubus.MsgNotify})
			}
		}
	}
	s.mu.Unlock()
	for _, n := range notes {
		s.send(n.to, n.t, 0, 0, n.attrs...)
	}
	if o.path != "" {
		s.broadcast(o.owner, "ubus.object.remove", ubus.Table{{Name: "id", Value: int32(o.id)}, {Name: "path", Value: o.path}})
	}
}

func (s *Server) invoke(c *client, m *ubus.Message) {
	id, okID := m.U32(ubus.AttrObjID)
	method, okMethod := m.String(ubus.AttrMethod)
	if !okID || !okMethod {
		s.reply(c, m, ubus.StatusInvalidArgument)
		return
	}
	if id == ubus.ObjEvent {
		s.reply(c, m, s.eventCall(c, method, m))
		return
	}
	s.mu.Lock()
	o := s.objects[id]
	s.mu.Unlock()
	if o == nil {
		s.reply(c, m, ubus.StatusNotFound)
		return
	}
	attrs := []ubus.Attr{u32(ubus.AttrObjID, id), str(ubus.AttrMethod, method), str(ubus.AttrUser, "root"), str(ubus.AttrGroup, "root")}
	if d, ok := m.Attr(ubus.AttrData); ok {
		attrs = append(attrs, ubus.Attr{ID: ubus.AttrData, Data: d})
	}
	if v, ok := m.U8(ubus.AttrNoReply); ok {
		attrs = append(attrs, ubus.Attr{ID: ubus.AttrNoReply, Data: []byte{v}})
	}
	s.send(o.owner, ubus.MsgInvoke, m.Seq, c.id, attrs...)
}

// eventCall serves object 1: "send" broadcasts, "register" adds a listener.
func (s *Server) eventCall(c *client, method string, m *ubus.Message) ubus.Status {
	data, ok, err := m.Data()
	if !ok || err != nil {
		return ubus.StatusInvalidArgument
	}
	switch method {
	case "send":
		id, _ := data.Get("id")
		name, okName := id.(string)
		payload, _ := data.Get("data")
		tbl, okData := payload.(ubus.Table)
		if !okName || !okData {
			return ubus.StatusInvalidArgument
		}
		if strings.HasPrefix(name, "ubus.") {
			return ubus.StatusPermissionDenied
		}
		s.broadcast(c, name, tbl)
		return ubus.StatusOK
	case "register":
		objv, _ := data.Get("object")
		pat, _ := data.Get("pattern")
		pattern, okPat := pat.(string)
		n, okObj := ubus.AsInt(objv)
		if !okPat || !okObj {
			return ubus.StatusInvalidArgument
		}
		obj := uint32(n)
		s.mu.Lock()
		defer s.mu.Unlock()
		o := s.objects[obj]
		if o == nil {
			return ubus.StatusNotFound
		}
		if o.owner != c {
			return ubus.StatusPermissionDenied
		}
		s.listeners = append(s.listeners, eventListener{obj: obj, pattern: pattern})
		return ubus.StatusOK
	}
	return ubus.StatusMethodNotFound
}

func matches(pattern, name string) bool {
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(name, p)
	}
	return pattern == name
}

// broadcast delivers an event to every matching listener object, at most
// once per object and never to the sender's own objects.
func (s *Server) broadcast(from *client, name string, data ubus.Table) {
	raw, err := ubus.EncodeTable(data)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.eventSeq++
	seq := s.eventSeq
	type target struct {
		c  *client
		id uint32
	}
	var targets []target
	seen := map[uint32]bool{}
	for _, l := range s.listeners {
		o := s.objects[l.obj]
		if o == nil || o.owner == from || seen[l.obj] || !matches(l.pattern, name) {
			continue
		}
		seen[l.obj] = true
		targets = append(targets, target{o.owner, o.id})
	}
	s.mu.Unlock()
	for _, t := range targets {
		s.send(t.c, ubus.MsgInvoke, seq, 0, u32(ubus.AttrObjID, t.id), str(ubus.AttrMethod, name),
			ubus.Attr{ID: ubus.AttrData, Data: raw})
	}
}

// response forwards an object owner's DATA or STATUS to the caller named
// by peer, with peer rewritten to the object id; anything else is dropped.
func (s *Server) response(c *client, m *ubus.Message) {
	id, ok := m.U32(ubus.AttrObjID)
	if !ok {
		return
	}
	if _, ok := m.Attr(map[ubus.MsgType]uint8{ubus.MsgData: ubus.AttrData, ubus.MsgStatus: ubus.AttrStatus}[m.Type]); !ok {
		return
	}
	s.mu.Lock()
	o := s.objects[id]
	to := s.clients[m.Peer]
	s.mu.Unlock()
	if o == nil || o.owner != c || to == nil {
		return
	}
	fwd := *m
	fwd.Peer = id
	s.sendMsg(to, &fwd)
}

func (s *Server) subscribe(c *client, m *ubus.Message) {
	subID, _ := m.U32(ubus.AttrObjID)
	targetID, _ := m.U32(ubus.AttrTarget)
	s.mu.Lock()
	sub, target := s.objects[subID], s.objects[targetID]
	var st ubus.Status
	var active *client
	var activeVal byte
	switch {
	case sub == nil || target == nil:
		st = ubus.StatusNotFound
	case sub.owner != c || target.owner == c:
		st = ubus.StatusInvalidArgument
	case m.Type == ubus.MsgSubscribe:
		if !slices.Contains(target.subscribers, subID) {
			target.subscribers = append(target.subscribers, subID)
			if len(target.subscribers) == 1 {
				active, activeVal = target.owner, 1
			}
		}
	default:
		if i := slices.Index(target.subscribers, subID); i >= 0 {
			target.subscribers = slices.Delete(target.subscribers, i, i+1)
			if len(target.subscribers) == 0 {
				active, activeVal = target.owner, 0
			}
		}
	}
	s.mu.Unlock()
	if active != nil { // ubusd tells the owner before answering
		s.send(active, ubus.MsgNotify, 0, 0, u32(ubus.AttrObjID, targetID), ubus.Attr{ID: ubus.AttrActive, Data: []byte{activeVal}})
	}
	s.reply(c, m, st)
}

func (s *Server) notify(c *client, m *ubus.Message) {
	id, _ := m.U32(ubus.AttrObjID)
	method, _ := m.String(ubus.AttrMethod)
	noReply, _ := m.U8(ubus.AttrNoReply)
	s.mu.Lock()
	o := s.objects[id]
	if o == nil || o.owner != c {
		s.mu.Unlock()
		s.reply(c, m, ubus.StatusPermissionDenied)
		return
	}
	type target struct {
		c  *client
		id uint32
	}
	var targets []target
	for _, sub := range o.subscribers {
		if so := s.objects[sub]; so != nil {
			targets = append(targets, target{so.owner, sub})
		}
	}
	s.mu.Unlock()
	if noReply == 0 {
		var list []byte
		for _, t := range targets {
			list, _ = ubus.AppendAttr(list, ubus.Attr{ID: 0, Data: u32(0, t.id).Data})
		}
		s.send(c, ubus.MsgStatus, m.Seq, m.Peer, u32(ubus.AttrObjID, id),
			ubus.Attr{ID: ubus.AttrSubscribers, Data: list}, status(ubus.StatusOK))
	}
	data, _ := m.Attr(ubus.AttrData)
	for _, t := range targets {
		attrs := []ubus.Attr{u32(ubus.AttrObjID, t.id), str(ubus.AttrMethod, method), str(ubus.AttrUser, "root"),
			str(ubus.AttrGroup, "root"), {ID: ubus.AttrData, Data: data}}
		if noReply != 0 {
			attrs = append(attrs, ubus.Attr{ID: ubus.AttrNoReply, Data: []byte{1}})
		}
		s.send(t.c, ubus.MsgInvoke, m.Seq, c.id, attrs...)
	}
}
