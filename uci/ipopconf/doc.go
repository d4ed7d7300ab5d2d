// Package ipopconf is the typed, validated model of ipopd's configuration
// file, /etc/config/ipop.
//
// The daemon's settings live in one UCI section:
//
//	config ipopd 'main'
//		option listen_port '6464'
//		list endpoint 'vpn.example.org:6464'
//
// A file without that section configures nothing, so every option takes
// its default. Sections of other types are ignored (they are reserved for
// future use), but an option the main section does not know is an error:
// a typo must not silently fall back to a default. Errors name the file,
// the line and the option:
//
//	ipop config /etc/config/ipop:5: option listen_port: "70000" is not a port (1-65535)
//
// Load reads and checks a file, Save writes a Config back through package
// uci so that comments and layout survive. docs/config.md lists every
// option.
package ipopconf
