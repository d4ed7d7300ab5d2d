package group

// DefaultNodeName is the node name used when none is given: the first
// label of the host name, if it is a valid name.
func DefaultNodeName() (string, error) { return defaultNodeName() }
