package netlab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stopGrace is how long a process gets between SIGTERM and SIGKILL: enough
// for a daemon to close its sockets and print its counters.
const stopGrace = 3 * time.Second

// quitGrace is how long a process that ignored SIGTERM gets to write its
// SIGQUIT goroutine dump before SIGKILL.
const quitGrace = time.Second

// Proc is a background process running in a Host, started with Host.Start.
// Its stdout and stderr go to a log file; the Lab stops it at cleanup.
type Proc struct {
	name    string
	host    *Host
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed after cmd.Wait returned
	err     error         // cmd.Wait's result, written before done closes
}

// Start runs args in the background inside the host. name labels the log
// file and error messages. The process gets SIGKILL if the test binary dies
// (PR_SET_PDEATHSIG, see below) and is stopped at Lab cleanup: SIGTERM;
// after 3 s SIGQUIT (a Go program dumps its goroutines into the log), and
// SIGKILL one second later.
//
// PR_SET_PDEATHSIG fires when the OS thread that started the child exits.
// Go only ends threads when a goroutine exits while locked with
// runtime.LockOSThread, so tests must not start processes from such a
// goroutine.
func (h *Host) Start(name string, args ...string) *Proc {
	l := h.lab
	l.t.Helper()
	if err := checkHostName(name); err != nil {
		l.fatalf("host %s: Start: bad process name: %v", h.name, err)
	}
	if len(args) == 0 || args[0] == "" {
		l.fatalf("host %s: Start(%q): %v: no command", h.name, name, ErrInvalid)
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		l.fatalf("host %s: Start(%q): lab already cleaned up", h.name, name)
	}
	n := len(l.procs)
	l.mu.Unlock()

	logPath := filepath.Join(l.dir, fmt.Sprintf("%s-%s-%d.log", h.name, name, n))
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		l.fatalf("host %s: Start(%q): %v", h.name, name, err)
	}
	defer logf.Close() // the child has its own descriptor

	// ip netns exec execs the command in place, so cmd's pid is the
	// command itself and signals reach it directly.
	cmd := exec.Command("ip", append([]string{"netns", "exec", h.ns}, args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		l.fatalf("host %s: Start(%q): %s: %v", h.name, name, cmdline(args[0], args[1:]), err)
	}
	p := &Proc{name: name, host: h, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	// One reaper goroutine per process; it ends when the process does, and
	// the Lab cleanup makes sure that happens.
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	l.mu.Lock()
	l.procs = append(l.procs, p)
	l.mu.Unlock()
	return p
}

// String returns "host/name[pid]".
func (p *Proc) String() string {
	return fmt.Sprintf("%s/%s[%d]", p.host.name, p.name, p.cmd.Process.Pid)
}

// Pid returns the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// LogPath returns the log file's path.
func (p *Proc) LogPath() string { return p.logPath }

// Log returns everything the process wrote to stdout and stderr so far.
func (p *Proc) Log() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(log unreadable: %v)", err)
	}
	return string(b)
}

// Signal sends sig to the process. It returns os.ErrProcessDone once the
// process has exited.
func (p *Proc) Signal(sig os.Signal) error {
	select {
	case <-p.done:
		return os.ErrProcessDone
	default:
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("netlab: signal %s: %w", p, err)
	}
	return nil
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Wait waits for the process to exit and returns its exit error (nil for
// exit status 0).
func (p *Proc) Wait() error {
	<-p.done
	return p.err
}

// exitErr returns the exit error, or a note that the process still runs.
func (p *Proc) exitErr() error {
	select {
	case <-p.done:
		return p.err
	default:
		return errors.New("still running")
	}
}

// Stop sends SIGTERM, waits for the exit and returns the exit error: nil
// when the process handled SIGTERM by exiting with status 0, "signal:
// terminated" when it did not handle it. A process still alive after 3 s
// gets SIGQUIT and then SIGKILL, and Stop reports that it ignored SIGTERM.
func (p *Proc) Stop() error {
	if p.terminate() {
		return fmt.Errorf("netlab: %s ignored SIGTERM for %v and was killed (%w); see its log for a goroutine dump", p, stopGrace, p.err)
	}
	return p.err
}

// terminate stops the process (SIGTERM; SIGQUIT after stopGrace, SIGKILL
// after quitGrace) and reports whether SIGTERM was not enough. It is a
// no-op for an exited process.
func (p *Proc) terminate() (killed bool) {
	select {
	case <-p.done:
		return false
	default:
	}
	// os.Process signals through a pidfd, so a late signal can never hit
	// a recycled pid.
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return false
	case <-time.After(stopGrace):
	}
	// A Go program answers SIGQUIT with a dump of its goroutines, which
	// shows in the log where its shutdown hangs; others just die.
	_ = p.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-p.done:
		return true
	case <-time.After(quitGrace):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return true
}

// WaitLog waits until the process log contains substr and fails the test
// with the log when timeout passes or the process exits first.
func (p *Proc) WaitLog(t testing.TB, substr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if strings.Contains(p.Log(), substr) {
			return
		}
		select {
		case <-p.done:
			if strings.Contains(p.Log(), substr) {
				return
			}
			t.Fatalf("netlab: %s exited (%v) before logging %q; log:\n%s", p, p.err, substr, tail(p.Log(), logTailLines))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("netlab: %s did not log %q within %v; log:\n%s", p, substr, timeout, tail(p.Log(), logTailLines))
		}
	}
}
