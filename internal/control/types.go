package control

import "time"

// Status answers "status".
type Status struct {
	State     string            `json:"state"`
	Group     string            `json:"group"`
	NodeID    string            `json:"node_id"`
	Name      string            `json:"name"`
	Address   string            `json:"address"`
	Owner     bool              `json:"owner"`
	Listen    string            `json:"listen"`
	Version   string            `json:"version"`
	UptimeSec int64             `json:"uptime"`
	PeersUp   int               `json:"peers_up"`
	Peers     int               `json:"peers"`
	MACs      int               `json:"macs"`
	Counters  map[string]uint64 `json:"counters"`
}

// Peer is one element of the answer to "peers".
type Peer struct {
	Name          string    `json:"name"`
	NodeID        string    `json:"node_id"`
	Address       string    `json:"address"`
	State         string    `json:"state"`
	Path          string    `json:"path"`
	Endpoint      string    `json:"endpoint"`
	RTTMillis     float64   `json:"rtt_ms"`
	BytesIn       uint64    `json:"bytes_in"`
	BytesOut      uint64    `json:"bytes_out"`
	FramesIn      uint64    `json:"frames_in"`
	FramesOut     uint64    `json:"frames_out"`
	Since         time.Time `json:"since"`
	LastHandshake time.Time `json:"last_handshake"`
	Cipher        string    `json:"cipher,omitempty"`
}
