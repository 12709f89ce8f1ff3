// Package ctl is the supervisor's control gateway: the authenticated TCP
// protocol `hab svc`, `hab config apply`, `hab file upload` and
// `hab sup status` talk to the supervisor through, and the CTL_SECRET.
//
// The wire format is ours (the original speaks protobuf): one connection
// per request; the client sends one JSON line {"secret", "cmd", "args"};
// the server answers with JSON lines, {"line": TEXT} for output and a last
// {"done": true} or {"error": TEXT, "code": CODE}. A request whose secret
// is not the supervisor's is answered with code "Unauthorized" and nothing
// is done.
package ctl

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Error codes, as the original's.
const (
	CodeUnauthorized = "Unauthorized"
	CodeNotFound     = "NotFound"
	CodeConflict     = "Conflict"
	CodeBadPayload   = "BadPayload"
	CodeInternal     = "Internal"
	CodeInvalid      = "InvalidPayload"
)

// Error is a failed request, with its code.
type Error struct {
	Code string
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Errorf returns an *Error.
func Errorf(code, format string, a ...any) error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, a...)}
}

// maxRequest bounds a request line (config and files are at most 64 KiB,
// base64 in JSON).
const maxRequest = 1 << 20

type request struct {
	Secret string          `json:"secret"`
	Cmd    string          `json:"cmd"`
	Args   json.RawMessage `json:"args"`
}

type reply struct {
	Line  *string `json:"line,omitempty"`
	Done  bool    `json:"done,omitempty"`
	Error string  `json:"error,omitempty"`
	Code  string  `json:"code,omitempty"`
}

// Handler executes one command; out writes a line of output to the
// client. An *Error chooses the code; any other error is Internal.
type Handler interface {
	Handle(ctx context.Context, cmd string, args json.RawMessage, out func(string)) error
}

// Server answers control requests.
type Server struct {
	Secret  string
	Handler Handler
	Log     *slog.Logger
	TLS     *tls.Config // when set, every connection is TLS (hab sup run --ctl-server-certificate)
}

// Serve accepts connections on ln until ctx ends, then closes ln and
// waits for the requests in flight.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	var wg sync.WaitGroup
	if s.TLS != nil {
		ln = tls.NewListener(ln, s.TLS)
	}
	go func() { <-ctx.Done(); ln.Close() }()
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("control gateway: accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveConn(ctx, c)
		}()
	}
}

func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReaderSize(c, 64<<10)
	line, err := readLine(r)
	if err != nil {
		return
	}
	var req request
	enc := json.NewEncoder(c)
	var mu sync.Mutex
	send := func(rp reply) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(rp)
	}
	if err := json.Unmarshal(line, &req); err != nil {
		send(reply{Error: "malformed control request: " + err.Error(), Code: CodeInvalid})
		return
	}
	if s.Log != nil {
		s.Log.Debug("control gateway: request", "remote", c.RemoteAddr().String(), "cmd", req.Cmd)
	}
	if subtle.ConstantTimeCompare([]byte(req.Secret), []byte(s.Secret)) != 1 || s.Secret == "" {
		if s.Log != nil {
			s.Log.Warn("control gateway: refused a request with a wrong secret", "remote", c.RemoteAddr().String(), "cmd", req.Cmd)
		}
		send(reply{Error: "the control gateway refused the request: wrong secret key (CTL_SECRET)", Code: CodeUnauthorized})
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	err = s.Handler.Handle(ctx, req.Cmd, req.Args, func(l string) { send(reply{Line: &l}) })
	if err != nil {
		code := CodeInternal
		var ce *Error
		if errors.As(err, &ce) {
			code = ce.Code
		}
		send(reply{Error: err.Error(), Code: code})
		return
	}
	send(reply{Done: true})
}

func readLine(r *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, isPrefix, err := r.ReadLine()
		if err != nil {
			return nil, err
		}
		buf = append(buf, chunk...)
		if len(buf) > maxRequest {
			return nil, fmt.Errorf("control request longer than %d bytes", maxRequest)
		}
		if !isPrefix {
			return buf, nil
		}
	}
}

// ErrNoSupervisor is wrapped when nothing listens at the address.
var ErrNoSupervisor = errors.New("no supervisor is listening")

// Client sends requests to a supervisor.
type Client struct {
	Addr   string
	Secret string
	TLS    *tls.Config // when set, the connection is TLS
}

// Do sends cmd with args (marshalled to JSON) and calls out with each
// line of output. A failed request returns an *Error.
func (c Client) Do(ctx context.Context, cmd string, args any, out func(string)) error {
	a, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("encode %s request: %w", cmd, err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("connect to the supervisor at %s: %w: %w", c.Addr, ErrNoSupervisor, err)
	}
	if c.TLS != nil {
		tc := tls.Client(conn, c.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return fmt.Errorf("TLS handshake with the supervisor at %s: %w", c.Addr, err)
		}
		conn = tc
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	b, _ := json.Marshal(request{Secret: c.Secret, Cmd: cmd, Args: a})
	if _, err := conn.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("send %s request to %s: %w", cmd, c.Addr, err)
	}
	dec := json.NewDecoder(conn)
	for {
		var rp reply
		if err := dec.Decode(&rp); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("read %s reply from %s: %w", cmd, c.Addr, err)
		}
		switch {
		case rp.Line != nil:
			if out != nil {
				out(*rp.Line)
			}
		case rp.Error != "":
			return &Error{Code: rp.Code, Msg: rp.Error}
		case rp.Done:
			return nil
		}
	}
}

// SecretFile is the CTL_SECRET of a supervisor root directory
// (FS_ROOT/hab/sup/default).
func SecretFile(supRoot string) string { return filepath.Join(supRoot, "CTL_SECRET") }

// EnsureSecret reads the secret at path, creating it (64 random bytes,
// base64, mode 0600) when missing.
func EnsureSecret(path string) (string, error) {
	if s, err := ReadSecret(path); err == nil {
		return s, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	s, err := NewSecret()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("write control secret %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return ReadSecret(path)
	}
	if err != nil {
		return "", fmt.Errorf("write control secret %s: %w", path, err)
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return "", fmt.Errorf("write control secret %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("write control secret %s: %w", path, err)
	}
	return s, nil
}

// NewSecret is a new control gateway secret: 64 random bytes, base64
// (what hab sup secret generate prints).
func NewSecret() (string, error) {
	raw := make([]byte, 64)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("generate control secret: %w", err)
	}
	return base64.StdEncoding.EncodeToString(raw), nil
}

// ReadSecret reads a secret file, without surrounding white space.
func ReadSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read control secret: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("control secret %s is empty", path)
	}
	return s, nil
}
