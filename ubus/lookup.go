package ubus

import (
	"context"
	"fmt"
	"strings"
)

// ObjectInfo describes an object as LOOKUP reports it.
type ObjectInfo struct {
	Path   string
	ID     uint32
	TypeID uint32
	// Signature maps each method the caller may call to its arguments and
	// their expected types (what `ubus -v list` prints).
	Signature map[string]map[string]BlobType
}

// Lookup finds the object at path. A missing object gives a *StatusError
// with StatusNotFound; so does "OK without DATA", which is how ubusd answers
// for an object the caller's ACL hides entirely.
func (c *Conn) Lookup(ctx context.Context, path string) (*ObjectInfo, error) {
	if path == "" || strings.HasSuffix(path, "*") {
		return nil, fmt.Errorf("ubus: lookup %q: %w: want an exact path", path, ErrInvalidName)
	}
	infos, err := c.lookup(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("ubus: lookup %s: %w", path, err)
	}
	for i := range infos {
		if infos[i].Path == path {
			return &infos[i], nil
		}
	}
	return nil, fmt.Errorf("ubus: lookup %s: %w", path, &StatusError{Code: StatusNotFound})
}

// List returns the objects matching pattern: "" for all, "prefix*" for a
// prefix match, or an exact path.
func (c *Conn) List(ctx context.Context, pattern string) ([]ObjectInfo, error) {
	infos, err := c.lookup(ctx, pattern)
	if err != nil {
		return nil, fmt.Errorf("ubus: list %q: %w", pattern, err)
	}
	return infos, nil
}

func (c *Conn) lookup(ctx context.Context, path string) ([]ObjectInfo, error) {
	b := newMsg(MsgLookup, 0, 0)
	if path != "" {
		b.str(AttrObjPath, path)
	}
	msgs, err := c.roundTrip(ctx, b, nil)
	if err != nil {
		return nil, err
	}
	infos := make([]ObjectInfo, 0, len(msgs))
	for _, m := range msgs {
		info, err := parseObjectInfo(m)
		if err != nil {
			return nil, err
		}
		infos = append(infos, info)
	}
	return infos, nil
}

func parseObjectInfo(m *Message) (ObjectInfo, error) {
	var info ObjectInfo
	var ok bool
	if info.Path, ok = m.String(AttrObjPath); !ok {
		return info, malformed("lookup reply without object path")
	}
	if info.ID, ok = m.U32(AttrObjID); !ok {
		return info, malformed("lookup reply for %s without object id", info.Path)
	}
	info.TypeID, _ = m.U32(AttrObjType)
	info.Signature = map[string]map[string]BlobType{}
	p, ok := m.Attr(AttrSignature)
	if !ok {
		return info, nil
	}
	sig, err := DecodeTable(p)
	if err != nil {
		return info, fmt.Errorf("signature of %s: %w", info.Path, err)
	}
	for _, f := range sig {
		args, ok := f.Value.(Table)
		if !ok {
			continue
		}
		info.Signature[f.Name] = map[string]BlobType{}
		for _, a := range args {
			if n, ok := a.Value.(int32); ok {
				info.Signature[f.Name][a.Name] = BlobType(n)
			}
		}
	}
	return info, nil
}

// Call looks obj up by path and invokes method with args, returning the
// reply's data (the tables of all DATA replies merged; usually there is one).
// A non-OK status is a *StatusError. Like the ubus CLI it looks the object up
// on every call, so it keeps working after the owner re-registered.
func (c *Conn) Call(ctx context.Context, obj, method string, args map[string]any) (map[string]any, error) {
	info, err := c.Lookup(ctx, obj)
	if err != nil {
		return nil, err
	}
	res, err := c.Invoke(ctx, info.ID, method, args)
	if err != nil {
		return nil, fmt.Errorf("ubus: call %s %s: %w", obj, method, err)
	}
	return res, nil
}

// Invoke calls method on the object with the given id. args may be nil.
func (c *Conn) Invoke(ctx context.Context, id uint32, method string, args map[string]any) (map[string]any, error) {
	if method == "" {
		return nil, fmt.Errorf("ubus: invoke: %w: empty method", ErrInvalidName)
	}
	b := newMsg(MsgInvoke, 0, id).u32(AttrObjID, id).str(AttrMethod, method)
	if args == nil {
		b.data(nil) // owners reject an INVOKE without DATA
	} else {
		b.data(args)
	}
	msgs, err := c.roundTrip(ctx, b, nil)
	if err != nil {
		return nil, err
	}
	res := map[string]any{}
	for _, m := range msgs {
		t, ok, err := m.Data()
		if err != nil {
			return nil, fmt.Errorf("reply data: %w", err)
		}
		if ok {
			for k, v := range t.Map() {
				res[k] = v
			}
		}
	}
	return res, nil
}
