package netlab

import (
	"fmt"
	"strconv"
	"time"
)

// ImpairTool is the import path of the userspace link impairer for
// BuildTool; ImpairedLink runs it.
const ImpairTool = "github.com/ipopd/ipopd/internal/testtools/impair"

// RawFrameTool is the import path of the raw Ethernet frame sender and
// listener for BuildTool.
const RawFrameTool = "github.com/ipopd/ipopd/internal/testtools/rawframe"

// impairReady is the line impair prints once both sockets are bound.
const impairReady = "impair: ready"

// Impairment describes what an impaired link does to every frame, in each
// direction independently.
type Impairment struct {
	Delay  time.Duration // added to every frame
	Jitter time.Duration // uniform in [-Jitter, +Jitter] on top of Delay; never reorders
	Loss   float64       // drop probability, 0..1
	Queue  int           // frames waiting per direction before new ones are dropped; 0 = impair's default
}

func (im Impairment) check() error {
	switch {
	case im.Delay < 0 || im.Jitter < 0:
		return fmt.Errorf("%w: negative delay %v or jitter %v", ErrInvalid, im.Delay, im.Jitter)
	case !(im.Loss >= 0 && im.Loss <= 1):
		return fmt.Errorf("%w: loss %v outside 0..1", ErrInvalid, im.Loss)
	case im.Queue < 0:
		return fmt.Errorf("%w: negative queue %d", ErrInvalid, im.Queue)
	}
	return nil
}

// ImpairedLink joins a and b like Link, but through a hidden middle
// namespace running the impair tool, which forwards every frame after delay
// and drops it with probability loss. It returns the impair process: Stop
// it to read its counters from its Log.
func (l *Lab) ImpairedLink(a *Host, aIf string, b *Host, bIf string, delay time.Duration, loss float64) *Proc {
	l.t.Helper()
	return l.ImpairedLinkWith(a, aIf, b, bIf, Impairment{Delay: delay, Loss: loss})
}

// ImpairedLinkWith is ImpairedLink with jitter and queue length.
//
//	a[aIf] <-veth-> [ia] impair [ib] <-veth-> b[bIf]
//
// The middle host (named "imp<N>") has IPv6 disabled so it never sends
// frames of its own (router solicitations, MLD) into the link.
func (l *Lab) ImpairedLinkWith(a *Host, aIf string, b *Host, bIf string, im Impairment) *Proc {
	l.t.Helper()
	if err := im.check(); err != nil {
		l.fatalf("ImpairedLink: %v", err)
	}
	bin := BuildTool(l.t, ImpairTool)
	l.mu.Lock()
	l.impSeq++
	name := fmt.Sprintf("imp%d", l.impSeq)
	l.mu.Unlock()
	mid := l.Host(name)
	mid.sysctls("net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
	l.Link(a, aIf, mid, "ia")
	l.Link(mid, "ib", b, bIf)
	args := []string{bin, "-a", "ia", "-b", "ib",
		"-delay", im.Delay.String(), "-jitter", im.Jitter.String(),
		"-loss", strconv.FormatFloat(im.Loss, 'g', -1, 64)}
	if im.Queue > 0 {
		args = append(args, "-queue", strconv.Itoa(im.Queue))
	}
	p := mid.Start("impair", args...)
	p.WaitLog(l.t, impairReady, 10*time.Second)
	return p
}
