package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ipopd/ipopd/internal/control"
	"github.com/ipopd/ipopd/internal/group"
)

// Methods lists the control API, which ubus exposes as object "ipop".
var Methods = []string{"status", "peers", "invite", "invites", "invite_cancel", "join", "leave", "revoke", "rename"}

// InviteArgs are the arguments of "invite".
type InviteArgs struct {
	TTL       string   `json:"ttl,omitempty"` // Go duration, default 24h
	Uses      int      `json:"uses,omitempty"`
	Name      string   `json:"name,omitempty"`
	Endpoints []string `json:"endpoints,omitempty"` // bootstrap endpoints; default: this router's addresses
}

// InviteResult answers "invite".
type InviteResult struct {
	Token     string    `json:"token"`
	ID        string    `json:"id"`
	Expires   time.Time `json:"expires"`
	Name      string    `json:"name,omitempty"` // the name the new router gets
	Endpoints []string  `json:"endpoints"`      // where the token tells it to reach this router
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
		proposed, err := ProposedName(a.Name)
		if err != nil {
			return nil, badArgs{err.Error()}
		}
		st, err := d.Join(ctx, a.Token, proposed)
		if err != nil {
			return nil, err
		}
		return JoinReply{Group: st.Name, Name: st.NodeName, Address: st.Address.String(), Proposed: proposed}, nil
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
	case "rename":
		var a renameArgs
		if err := decodeArgs(args, &a); err != nil {
			return nil, err
		}
		if err := a.check(); err != nil {
			return nil, err
		}
		return d.Rename(a.Node, a.Name)
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
	// Endpoints are checked here with messages for people (LuCI shows
	// them); blanks are skipped, so a list of only blanks means none.
	var eps []string
	for i, e := range a.Endpoints {
		e = strings.TrimSpace(e)
		if e == "" || slices.Contains(eps, e) {
			continue
		}
		if err := group.ValidateEndpoint(e); err != nil {
			return InviteResult{}, fmt.Errorf("endpoint %d: %w", i+1, err)
		}
		eps = append(eps, e)
	}
	if len(eps) > group.MaxEndpoints {
		return InviteResult{}, fmt.Errorf("%d endpoints; an invite carries at most %d", len(eps), group.MaxEndpoints)
	}
	if len(eps) == 0 {
		d.mu.Lock()
		cfg := d.cfg
		d.mu.Unlock()
		eps = d.inviteEndpoints(cfg, st.Subnet)
		if len(eps) > group.MaxEndpoints {
			eps = eps[:group.MaxEndpoints]
		}
	}
	if len(eps) == 0 {
		return InviteResult{}, errors.New("no address of this router to put in the invite: give endpoints (HOST:PORT where others reach it)")
	}
	tok, err := st.CreateInvite(group.InviteOptions{TTL: ttl, Uses: a.Uses, NameHint: a.Name, Endpoints: eps, Now: time.Now()})
	if err != nil {
		return InviteResult{}, err
	}
	return InviteResult{Token: tok.Encode(), ID: fmt.Sprintf("%x", tok.ID), Expires: tok.Expires, Name: a.Name, Endpoints: tok.Endpoints}, nil
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
		"dropped_key_limit":       st.Transport.KeyLimit,
		"rekeys":                  st.Transport.Rekeys,
		"rekey_failures":          st.Transport.RekeyFailures,
		"cookies_sent":            st.Transport.CookiesSent,
		"dropped_hello_cookie":    st.Transport.HelloBadCookie,
		"dropped_hello_limit":     st.Transport.HelloLimited,
		"dropped_hello_malformed": st.Transport.HelloMalformed,
		"handshake_auth_failures": st.Transport.HandshakeAuth,
		"join_limited":            st.Transport.JoinLimited,
		"join_refused":            st.Transport.JoinRefused,
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
	var public, wan string
	if ap, ok := d.publicEndpoint(); ok {
		public = ap.String()
	}
	d.mu.Lock()
	cfg, gs := d.cfg, d.state
	d.mu.Unlock()
	if gs != nil {
		if ap, ok := wanEndpoint(cfg, gs.Subnet); ok {
			wan = ap.String()
		}
	}
	return control.Status{
		PublicEndpoint: public,
		WANEndpoint:    wan,
		State:          "running",
		Group:          st.Group,
		NodeID:         st.NodeID,
		Name:           st.NodeName,
		Address:        st.Address.String(),
		Owner:          st.Owner,
		Listen:         st.Listen,
		Version:        d.opts.Version,
		UptimeSec:      int64(st.Uptime.Seconds()),
		PeersUp:        up,
		Peers:          len(st.Peers),
		MACs:           st.MACs,
		Counters:       c,
		// Goroutines: the chaos soak checks that none leak.
		Goroutines: runtime.NumGoroutine(),
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
		if p.State == "up" {
			age := int64(p.KeyAge.Seconds())
			cp.KeyAgeSec = &age
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
