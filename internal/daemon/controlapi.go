package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/ipopd/ipopd/internal/control"
	"github.com/ipopd/ipopd/internal/group"
)

// Methods lists the control API, which ubus exposes as object "ipop".
var Methods = []string{"status", "peers", "invite", "invites", "invite_cancel", "join", "leave", "revoke"}

// InviteArgs are the arguments of "invite".
type InviteArgs struct {
	TTL       string   `json:"ttl,omitempty"` // Go duration, default 24h
	Uses      int      `json:"uses,omitempty"`
	Name      string   `json:"name,omitempty"`
	Endpoints []string `json:"endpoints,omitempty"` // bootstrap endpoints; default: this router's addresses
}

// InviteResult answers "invite".
type InviteResult struct {
	Token   string    `json:"token"`
	ID      string    `json:"id"`
	Expires time.Time `json:"expires"`
}

// badArgs marks an argument error (ubus: INVALID_ARGUMENT).
type badArgs struct{ msg string }

func (e badArgs) Error() string { return e.msg }

// IsInvalidArgument reports whether err is the caller's mistake.
func IsInvalidArgument(err error) bool {
	var b badArgs
	return errors.As(err, &b)
}

func decodeArgs(raw json.RawMessage, v any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badArgs{fmt.Sprintf("bad arguments: %v", err)}
	}
	return nil
}

// handle serves the control API methods.
func (d *Daemon) handle(ctx context.Context, method string, args json.RawMessage) (any, error) {
	switch method {
	case "status":
		return d.controlStatus(), nil
	case "peers":
		return d.controlPeers(), nil
	case "invite":
		var a InviteArgs
		if err := decodeArgs(args, &a); err != nil {
			return nil, err
		}
		return d.Invite(a)
	case "invites":
		st := d.groupState()
		if st == nil {
			return nil, errNotMember
		}
		return st.Invites(time.Now())
	case "invite_cancel":
		var a struct {
			ID string `json:"id"`
		}
		if err := decodeArgs(args, &a); err != nil {
			return nil, err
		}
		st := d.groupState()
		if st == nil {
			return nil, errNotMember
		}
		return struct{}{}, st.CancelInvite(a.ID)
	case "join":
		var a struct {
			Token string `json:"token"`
			Name  string `json:"name,omitempty"`
		}
		if err := decodeArgs(args, &a); err != nil {
			return nil, err
		}
		if a.Token == "" {
			return nil, badArgs{"join needs a token"}
		}
		ctx, cancel := context.WithTimeout(ctx, joinTimeout)
		defer cancel()
		st, err := d.Join(ctx, a.Token, a.Name)
		if err != nil {
			return nil, err
		}
		return map[string]string{"group": st.Name, "name": st.NodeName, "address": st.Address.String()}, nil
	case "leave":
		return struct{}{}, d.Leave()
	case "revoke":
		var a struct {
			Node string `json:"node"`
		}
		if err := decodeArgs(args, &a); err != nil {
			return nil, err
		}
		if a.Node == "" {
			return nil, badArgs{"revoke needs a node (name or node id)"}
		}
		return struct{}{}, d.Revoke(a.Node)
	}
	return nil, fmt.Errorf("%w %q (known: %v)", control.ErrUnknownMethod, method, Methods)
}

// Invite makes an invite token (owner only).
func (d *Daemon) Invite(a InviteArgs) (InviteResult, error) {
	st := d.groupState()
	if st == nil {
		return InviteResult{}, errNotMember
	}
	if !st.Owner() {
		return InviteResult{}, errNotOwner
	}
	ttl := 24 * time.Hour
	if a.TTL != "" {
		var err error
		if ttl, err = time.ParseDuration(a.TTL); err != nil || ttl <= 0 {
			return InviteResult{}, badArgs{fmt.Sprintf("ttl %q is not a duration like 24h", a.TTL)}
		}
	}
	if a.Uses < 0 {
		return InviteResult{}, badArgs{"uses must be positive"}
	}
	eps := a.Endpoints
	if len(eps) == 0 {
		d.mu.Lock()
		cfg := d.cfg
		d.mu.Unlock()
		eps = LocalEndpoints(cfg, st.Subnet)
	}
	if len(eps) == 0 {
		return InviteResult{}, errors.New("no address of this router to put in the invite: give endpoints (HOST:PORT where others reach it)")
	}
	tok, err := st.CreateInvite(group.InviteOptions{TTL: ttl, Uses: a.Uses, NameHint: a.Name, Endpoints: eps, Now: time.Now()})
	if err != nil {
		return InviteResult{}, err
	}
	return InviteResult{Token: tok.Encode(), ID: fmt.Sprintf("%x", tok.ID), Expires: tok.Expires}, nil
}

func (d *Daemon) controlStatus() control.Status {
	st, ok := d.Status()
	if !ok {
		state := "unconfigured"
		if s := d.groupState(); s != nil {
			state = "stopped"
		}
		return control.Status{State: state, Version: d.opts.Version, UptimeSec: int64(st.Uptime.Seconds())}
	}
	up := 0
	for _, p := range st.Peers {
		if p.State == "up" {
			up++
		}
	}
	c := map[string]uint64{
		"dropped_unknown_session": st.Transport.UnknownIndex,
		"dropped_auth":            st.Transport.AuthFailed,
		"dropped_replay":          st.Transport.Replayed,
		"dropped_malformed":       st.Transport.BadPayload,
		"dropped_no_session":      st.Transport.NoSession,
		"dropped_handshake_limit": st.Transport.HandshakeLimit,
		"send_errors":             st.Transport.SendErrors,
		"guard_dhcpv4_out":        st.GuardsOut.DroppedDHCPv4,
		"guard_dhcpv6_out":        st.GuardsOut.DroppedDHCPv6,
		"guard_ra_out":            st.GuardsOut.DroppedRA,
		"guard_dhcpv4_in":         st.GuardsIn.DroppedDHCPv4,
		"guard_dhcpv6_in":         st.GuardsIn.DroppedDHCPv6,
		"guard_ra_in":             st.GuardsIn.DroppedRA,
	}
	for k, v := range st.Switch {
		c[k] = v
	}
	return control.Status{
		State:     "running",
		Group:     st.Group,
		NodeID:    st.NodeID,
		Name:      st.NodeName,
		Address:   st.Address.String(),
		Owner:     st.Owner,
		Listen:    st.Listen,
		Version:   d.opts.Version,
		UptimeSec: int64(st.Uptime.Seconds()),
		PeersUp:   up,
		Peers:     len(st.Peers),
		MACs:      st.MACs,
		Counters:  c,
	}
}

func (d *Daemon) controlPeers() []control.Peer {
	out := []control.Peer{}
	st, ok := d.Status()
	if !ok {
		return out
	}
	for _, p := range st.Peers {
		cp := control.Peer{
			Name:          p.Name,
			NodeID:        p.NodeID,
			State:         p.State,
			Path:          p.Path,
			RTTMillis:     float64(p.RTT.Microseconds()) / 1000,
			BytesIn:       p.BytesIn,
			BytesOut:      p.BytesOut,
			FramesIn:      p.FramesIn,
			FramesOut:     p.FramesOut,
			Since:         p.Since,
			LastHandshake: p.LastHandshake,
			Cipher:        p.Cipher,
		}
		if p.Address.IsValid() {
			cp.Address = p.Address.String()
		}
		if p.Endpoint.IsValid() {
			cp.Endpoint = p.Endpoint.String()
			if m := d.member(); m != nil && p.Path == "direct" && m.disc.viaTURN(p.NodeID, p.Endpoint) {
				cp.Path = "TURN via " + cp.Endpoint
			}
		}
		out = append(out, cp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
