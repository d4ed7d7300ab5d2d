package netlab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

const (
	// setupTimeout bounds one configuration command (ip, nft, sysctl).
	// They finish in milliseconds; the bound only turns a wedged command
	// into a clear failure instead of a hung test.
	setupTimeout = 30 * time.Second
	// execTimeout bounds Host.Exec. Long enough for an iperf3 run or a
	// daemon's CLI round trip, short enough to fail well before go test's
	// default 10 minute -timeout kills the binary without cleanups.
	execTimeout = 2 * time.Minute
)

// run executes name with args and returns the combined output. The error
// wraps ErrCommand and names the command line and its output.
func run(ctx context.Context, name string, args ...string) (string, error) {
	return runEnv(ctx, nil, name, args...)
}

// runEnv is run with extra environment variables (KEY=value).
func runEnv(ctx context.Context, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	// WaitDelay stops a background child that inherited the output pipe
	// from keeping us waiting after the command itself has exited.
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(ctxErr, context.DeadlineExceeded) {
			err = fmt.Errorf("timed out: %w", err)
		}
		return string(out), fmt.Errorf("%w: %s: %v\n%s", ErrCommand, cmdline(name, args), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// runTimeout is run with a fresh timeout.
func runTimeout(d time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return run(ctx, name, args...)
}

// runTimeoutEnv is runEnv with a fresh timeout.
func runTimeoutEnv(d time.Duration, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return runEnv(ctx, env, name, args...)
}

// cmdline renders a command for error messages, quoting arguments that
// contain spaces so that the message can be pasted into a shell.
func cmdline(name string, args []string) string {
	var b strings.Builder
	b.WriteString(name)
	for _, a := range args {
		b.WriteByte(' ')
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$") {
			b.WriteString(fmt.Sprintf("%q", a))
		} else {
			b.WriteString(a)
		}
	}
	return b.String()
}
