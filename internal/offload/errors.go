package offload

import "errors"

var (
	// ErrShortHeader: fewer bytes than a virtio-net header.
	ErrShortHeader = errors.New("offload: short virtio-net header")
	// ErrBadFrame: the header and the frame do not agree (offsets past
	// the end, not TCP where the header says TCP, ...).
	ErrBadFrame = errors.New("offload: frame does not match its virtio-net header")
	// ErrUnsupportedGSO: a segmentation type this package does not cut
	// (only TCP over IPv4 and IPv6 is asked of the kernel).
	ErrUnsupportedGSO = errors.New("offload: unsupported GSO type")
	// ErrTooManySegments: the frame needs more output buffers than given,
	// or a segment does not fit its buffer.
	ErrTooManySegments = errors.New("offload: frame needs more or larger segment buffers")
)
