// Package client talks to a depot the way the original hab talks to
// Habitat Builder: the routes, query parameters, status codes and request
// order of Builder's API v1 (origins, members, invitations, keys, secrets,
// packages, channels). It is also a package source for the installer
// (Source), so that installing from a depot keeps every guarantee of
// installing from a file: nothing a depot sends is trusted, every hart is
// verified with the local key cache before any of it is installed.
//
// Settings (URL, token, channel) are values given by the caller; nothing
// here reads the environment.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// DefaultURL is the depot a client talks to when none is configured: a
// `hab depot serve` on this machine.
const DefaultURL = "http://localhost:9636"

// Meter follows one transfer: the bytes are written to it as they pass,
// and Close ends it (internal/progress.Bar is one).
type Meter interface {
	io.Writer
	Close() error
}

// Client is a depot's API at one base URL, with an optional token.
type Client struct {
	base       *url.URL // ends with /v1
	token      string
	http       *http.Client
	userAgent  string
	meter      func(what string, size int64) Meter
	attempts   int
	retryDelay time.Duration
}

// Option configures a Client.
type Option func(*Client)

// WithToken sends token as "Authorization: Bearer TOKEN".
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithHTTPClient uses h for every request.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithUserAgent sets the User-Agent, "hab/VERSION (TARGET; KERNEL)" in
// the original (the depot reads the target from it when none is given).
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithMeter follows downloads and uploads of packages: meter is called
// with what is transferred and its size when each starts.
func WithMeter(meter func(what string, size int64) Meter) Option {
	return func(c *Client) { c.meter = meter }
}

// WithRetry sets how often an upload or download of a package that
// failed for a transient reason (a lost connection, a 5xx other than 501)
// is tried, and the delay between tries (the original: 5 tries, 3 s
// apart).
func WithRetry(attempts int, delay time.Duration) Option {
	return func(c *Client) { c.attempts, c.retryDelay = max(attempts, 1), delay }
}

// New returns a client of the depot at baseURL. As in the original, "/v1"
// is appended when the URL has no path.
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("depot URL %q: %w", baseURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("depot URL %q: not an http:// or https:// URL with a host", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("depot URL %q: a depot URL has no query or fragment", baseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	if u.Path == "" {
		u.Path = "/v1"
	}
	// The older documentation names depots as http://HOST/v1/depot.
	if p, ok := strings.CutSuffix(u.Path, "/v1/depot"); ok {
		u.Path = p + "/v1"
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// A depot that accepts a connection but never answers is given up on
	// (the body of an answer may take as long as it takes).
	tr.ResponseHeaderTimeout = 5 * time.Minute
	c := &Client{base: u, http: &http.Client{Transport: tr}, userAgent: "hab", attempts: 5, retryDelay: 3 * time.Second}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// URL is the API's base URL (ending with /v1).
func (c *Client) URL() string { return c.base.String() }

// HasToken reports whether requests are authenticated.
func (c *Client) HasToken() bool { return c.token != "" }

// StatusError is a depot's answer with a status the request did not
// expect.
type StatusError struct {
	Method, Path string
	Status       int
	Message      string // the body's text (or its {"msg"}), bounded
}

func (e *StatusError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s %s: the depot answered %d: %s", e.Method, e.Path, e.Status, msg)
}

// Status is the HTTP status of the depot's answer in err, or 0 when err
// is not such an answer.
func Status(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

// ErrNoToken is returned by operations that need an access token when the
// client has none.
var ErrNoToken = errors.New("no auth token: give --auth/-z, set HAB_AUTH_TOKEN, or set auth_token in cli.toml (hab setup)")

// endpoint is the URL of the API path made of segments (each escaped)
// with query q.
func (c *Client) endpoint(q url.Values, segments ...string) *url.URL {
	u := *c.base
	var raw strings.Builder
	raw.WriteString(c.base.EscapedPath())
	var plain strings.Builder
	plain.WriteString(c.base.Path)
	for _, s := range segments {
		raw.WriteString("/" + url.PathEscape(s))
		plain.WriteString("/" + s)
	}
	u.Path, u.RawPath = plain.String(), raw.String()
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return &u
}

// request is one API call.
type request struct {
	method   string
	segments []string
	query    url.Values
	// body, when set, makes a fresh body for each try; size is its length
	// (-1 unknown).
	body   func() (io.ReadCloser, error)
	size   int64
	ctype  string
	auth   bool // the call needs a token
	expect []int
	// retry: transient failures are tried again (uploads and downloads
	// of packages, as the original; other calls fail at once).
	retry bool
}

// path renders the request's API path for messages.
func (r *request) path(c *Client) string {
	return c.endpoint(r.query, r.segments...).RequestURI()
}

// send performs r, retrying transient failures, and returns a response
// whose status is one of r.expect (the caller closes its body); any other
// status is a *StatusError.
func (c *Client) send(ctx context.Context, r *request) (*http.Response, error) {
	if r.auth && c.token == "" {
		return nil, fmt.Errorf("%s %s: %w", r.method, r.path(c), ErrNoToken)
	}
	if !r.retry {
		return c.try(ctx, r)
	}
	var res *http.Response
	err := c.retrying(ctx, func() error {
		var err error
		res, err = c.try(ctx, r)
		return err
	})
	return res, err
}

// retrying runs fn until it succeeds, fails for good, or the tries run
// out, waiting between tries.
func (c *Client) retrying(ctx context.Context, fn func() error) error {
	var last error
	for attempt := 1; attempt <= c.attempts; attempt++ {
		if attempt > 1 {
			t := time.NewTimer(c.retryDelay)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("%w (after: %v)", ctx.Err(), last)
			case <-t.C:
			}
		}
		last = fn()
		if last == nil || !transient(last) || ctx.Err() != nil {
			return last
		}
	}
	return last
}

// transient reports whether a failure may pass: a connection lost or
// timed out, or a server error other than 501 (not implemented). A refused
// connection (no depot listening) is not retried.
func transient(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status >= 500 && se.Status != http.StatusNotImplemented
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

func (c *Client) try(ctx context.Context, r *request) (*http.Response, error) {
	u := c.endpoint(r.query, r.segments...)
	var body io.ReadCloser
	if r.body != nil {
		b, err := r.body()
		if err != nil {
			return nil, err
		}
		body = b
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		if body != nil {
			body.Close()
		}
		return nil, fmt.Errorf("%s %s: %w", r.method, u.RequestURI(), err)
	}
	if body != nil {
		req.ContentLength = r.size
		if r.ctype != "" {
			req.Header.Set("Content-Type", r.ctype)
		}
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, u.RequestURI(), err)
	}
	for _, s := range r.expect {
		if res.StatusCode == s {
			return res, nil
		}
	}
	defer res.Body.Close()
	return nil, &StatusError{Method: r.method, Path: u.RequestURI(), Status: res.StatusCode, Message: errorMessage(res.Body)}
}

// errorMessage reads an error body: {"code","msg"} as the original's
// client tries first, else the text, bounded and on one line.
func errorMessage(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 4096))
	var nm struct {
		Msg string `json:"msg"`
	}
	if json.Unmarshal(b, &nm) == nil && nm.Msg != "" {
		return nm.Msg
	}
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "?")), " ")
	if len(s) > 512 {
		s = s[:512] + "…"
	}
	return s
}

// maxJSON bounds a JSON answer.
const maxJSON = 64 << 20

// call performs r and decodes a JSON answer into out (nil: the body is
// discarded); it returns the status.
func (c *Client) call(ctx context.Context, r *request, out any) (int, error) {
	res, err := c.send(ctx, r)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxJSON))
		return res.StatusCode, nil
	}
	dec := json.NewDecoder(io.LimitReader(res.Body, maxJSON))
	if err := dec.Decode(out); err != nil {
		return res.StatusCode, fmt.Errorf("%s %s: decode the depot's answer: %w", r.method, r.path(c), err)
	}
	return res.StatusCode, nil
}

// jsonBody makes a request body of v.
func jsonBody(v any) (func() (io.ReadCloser, error), int64, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, 0, err
	}
	return func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(string(b))), nil }, int64(len(b)), nil
}

// bytesBody makes a request body of b.
func bytesBody(b []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(string(b))), nil }
}

// Status checks that the depot answers (GET /status).
func (c *Client) Status(ctx context.Context) error {
	_, err := c.call(ctx, &request{method: http.MethodGet, segments: []string{"status"}, expect: []int{http.StatusOK}}, nil)
	return err
}
