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
	// Goroutines is the daemon's goroutine count: flat over time when
	// nothing leaks (the chaos soak checks it).
	Goroutines int `json:"goroutines"`
	// PublicEndpoint is the address and port a lighthouse reported for
	// this router's socket (its NAT's mapping); empty until one did.
	PublicEndpoint string `json:"public_endpoint,omitempty"`
	// WANEndpoint is this router's address on its default route with the
	// listen port, when that is an underlay address.
	WANEndpoint string `json:"wan_endpoint,omitempty"`
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
	// KeyAgeSec is the age of the link's data channel key in seconds
	// (since its last handshake: a rekey restarts it); nil when down.
	KeyAgeSec *int64 `json:"key_age_s,omitempty"`
}
