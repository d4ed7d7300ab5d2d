package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/ipopd/ipopd/internal/control"
)

// handle serves the control API methods.
func (d *Daemon) handle(_ context.Context, method string, _ json.RawMessage) (any, error) {
	switch method {
	case "status":
		return d.controlStatus(), nil
	case "peers":
		return d.controlPeers(), nil
	}
	return nil, fmt.Errorf("%w %q (known: status, peers)", control.ErrUnknownMethod, method)
}

func (d *Daemon) controlStatus() control.Status {
	st := d.Status()
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
	for _, p := range d.Status().Peers {
		cp := control.Peer{
			Name:          p.Name,
			NodeID:        p.NodeID,
			State:         p.State,
			Path:          p.Path,
			RTTMillis:     float64(p.RTT.Microseconds()) / 1000,
			BytesIn:       p.BytesIn,
			BytesOut:      p.BytesOut,
			Since:         p.Since,
			LastHandshake: p.LastHandshake,
			Cipher:        p.Cipher,
		}
		if p.Address.IsValid() {
			cp.Address = p.Address.String()
		}
		if p.Endpoint.IsValid() {
			cp.Endpoint = p.Endpoint.String()
		}
		out = append(out, cp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
