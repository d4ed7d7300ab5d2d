package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"
)

// MaxRequest bounds one request line.
const MaxRequest = 64 << 10

// MaxResponse bounds one response line that Call reads: "peers" on a
// lighthouse lists every member (about 300 bytes each), so it is sized for
// a group of 1000 with room to spare.
const MaxResponse = 4 << 20

// ErrUnknownMethod is returned by a Handler for a method it does not serve.
var ErrUnknownMethod = errors.New("unknown method")

// Request is one call.
type Request struct {
	Method string          `json:"method"`
	Args   json.RawMessage `json:"args,omitempty"`
}

// Response answers one call.
type Response struct {
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
}

// Handler serves one method call.
type Handler func(ctx context.Context, method string, args json.RawMessage) (any, error)

// Server serves the control socket.
type Server struct {
	path string
	ln   net.Listener
	h    Handler
	log  *slog.Logger
	wg   sync.WaitGroup
}

// Listen opens the socket at path, mode 0600. A stale socket left by a
// dead daemon is replaced; a live one (another daemon running) is an error.
func Listen(path string, h Handler, log *slog.Logger) (*Server, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("control socket %s: exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("control socket %s: another ipopd is running", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("control socket %s: remove stale: %w", path, err)
		}
	}
	// The umask makes the socket 0600 from birth: no window in which
	// another user could connect.
	old := umask(0o177)
	ln, err := net.Listen("unix", path)
	umask(old)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return &Server{path: path, ln: ln, h: h, log: log}, nil
}

// Serve answers calls until ctx is done, then closes the socket and waits
// for calls in progress.
func (s *Server) Serve(ctx context.Context) {
	stop := context.AfterFunc(ctx, func() { s.ln.Close() })
	defer stop()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("control socket accept failed", "err", err)
			}
			break
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(ctx, c)
		}()
	}
	s.wg.Wait()
	os.Remove(s.path)
}

func (s *Server) serve(ctx context.Context, c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReaderSize(c, 4096)
	line, err := readLine(r, MaxRequest, "request")
	var resp Response
	if err != nil {
		resp.Error = err.Error()
	} else {
		var req Request
		if err := json.Unmarshal(line, &req); err != nil || req.Method == "" {
			resp.Error = "bad request: want {\"method\":\"NAME\",\"args\":{...}}"
		} else {
			resp = call(ctx, s.h, req)
		}
	}
	b, _ := json.Marshal(resp)
	_, _ = c.Write(append(b, '\n'))
}

func call(ctx context.Context, h Handler, req Request) (resp Response) {
	res, err := h(ctx, req.Method, req.Args)
	if err != nil {
		return Response{Error: err.Error()}
	}
	b, err := json.Marshal(res)
	if err != nil {
		return Response{Error: fmt.Sprintf("encode result: %v", err)}
	}
	return Response{OK: true, Result: b}
}

func readLine(r *bufio.Reader, limit int, what string) ([]byte, error) {
	var line []byte
	for {
		chunk, isPrefix, err := r.ReadLine()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", what, err)
		}
		line = append(line, chunk...)
		if len(line) > limit {
			return nil, fmt.Errorf("%s over %d bytes", what, limit)
		}
		if !isPrefix {
			return line, nil
		}
	}
}

// Call makes one call on the socket at path and decodes the result into
// result (which may be nil).
func Call(ctx context.Context, path, method string, args, result any) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errConnRefused) {
			return fmt.Errorf("ipopd is not running (no control socket at %s): %w", path, err)
		}
		return fmt.Errorf("control socket %s: %w", path, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	req := Request{Method: method}
	if args != nil {
		if req.Args, err = json.Marshal(args); err != nil {
			return err
		}
	}
	b, _ := json.Marshal(req)
	if _, err := c.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	line, err := readLine(bufio.NewReader(c), MaxResponse, "response")
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	var resp Response
	if err := json.Unmarshal(line, &resp); err != nil {
		return fmt.Errorf("control socket: bad response: %w", err)
	}
	if !resp.OK {
		return errors.New(resp.Error)
	}
	if result != nil && len(resp.Result) > 0 {
		return json.Unmarshal(resp.Result, result)
	}
	return nil
}
