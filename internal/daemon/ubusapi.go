package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/ipopd/ipopd/internal/transport"
	"github.com/ipopd/ipopd/ubus"
)

// The ubus object "ipop": the control API for LuCI, rpcd and scripts
// (`ubus call ipop status`). Argument errors are INVALID_ARGUMENT with
// nothing changed; operational failures (a used invite, no owner online)
// answer {"error": "text"} so that LuCI can show the daemon's own words.

// ubusArgs are the method signatures `ubus -v list ipop` shows.
var ubusArgs = map[string]map[string]ubus.BlobType{
	"status": {},
	"peers":  {},
	"invite": {"ttl": ubus.TypeInt32, "uses": ubus.TypeInt32, "name": ubus.TypeString, "endpoints": ubus.TypeArray},
	"join":   {"token": ubus.TypeString, "name": ubus.TypeString},
	"leave":  {},
	"revoke": {"node": ubus.TypeString},
}

func (d *Daemon) ubusObject() *ubus.Object {
	obj := &ubus.Object{Name: "ipop"}
	for _, name := range []string{"status", "peers", "invite", "join", "leave", "revoke"} {
		obj.Methods = append(obj.Methods, ubus.Method{Name: name, Args: ubusArgs[name], Handler: d.ubusHandler(name)})
	}
	return obj
}

func (d *Daemon) ubusHandler(method string) ubus.Handler {
	return func(ctx context.Context, req *ubus.Request) (map[string]any, error) {
		args, err := ubusToControl(method, req.Args)
		if err != nil {
			return nil, ubus.NewStatusError(ubus.StatusInvalidArgument)
		}
		res, err := d.handle(ctx, method, args)
		if err != nil {
			if IsInvalidArgument(err) {
				return nil, ubus.NewStatusError(ubus.StatusInvalidArgument)
			}
			return map[string]any{"error": err.Error()}, nil
		}
		if method == "peers" {
			res = map[string]any{"peers": res}
		}
		return toMap(res)
	}
}

// ubusToControl turns ubus arguments into the control API's JSON; ubus
// sends the invite TTL in seconds.
func ubusToControl(method string, in map[string]any) (json.RawMessage, error) {
	out := map[string]any{}
	for k, v := range in {
		if _, declared := ubusArgs[method][k]; !declared {
			continue // ubus_rpc_session and other broker additions
		}
		if method == "invite" && k == "ttl" {
			n, ok := ubus.AsInt(v)
			if !ok || n <= 0 {
				return nil, fmt.Errorf("ttl must be a positive number of seconds")
			}
			out[k] = (time.Duration(n) * time.Second).String()
			continue
		}
		out[k] = v
	}
	return json.Marshal(out)
}

// toMap converts a result struct to the map ubus encodes, by way of JSON
// (control path only).
func toMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return normalizeNumbers(m).(map[string]any), nil
}

// normalizeNumbers turns json.Number into int64 or float64 so that ubus
// encodes integers as integers.
func normalizeNumbers(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = normalizeNumbers(x)
		}
		return v
	case []any:
		for i, x := range v {
			v[i] = normalizeNumbers(x)
		}
		return v
	case json.Number:
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return n
		}
		f, _ := v.Float64()
		return f
	}
	return v
}

// ubusEvents sends ipop.peer.up / ipop.peer.down / ipop.state.
type ubusEvents struct {
	client *ubus.Client
}

func (e *ubusEvents) send(id string, data map[string]any) {
	if e == nil || e.client == nil || !e.client.Connected() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = e.client.SendEvent(ctx, id, data)
}

func peerEvent(p *transport.Peer) map[string]any {
	st := p.Status()
	m := map[string]any{"node_id": st.NodeID, "name": st.Name, "state": st.State}
	if st.Address.IsValid() {
		m["address"] = st.Address.String()
	}
	if st.Path != "" {
		m["path"] = st.Path
	}
	return m
}

// startUbus registers the object and keeps it registered across ubusd
// restarts; without a ubusd it keeps retrying quietly.
func (d *Daemon) startUbus(ctx context.Context, path string) *ubus.Client {
	c := ubus.NewClient(ctx, ubus.ClientOptions{
		Path:    path,
		OnError: func(err error) { d.log.Debug("ubus", "err", err) },
	})
	if err := c.AddObject(ctx, d.ubusObject()); err != nil {
		d.log.Warn("ubus object not registered", "err", err)
	}
	return c
}
