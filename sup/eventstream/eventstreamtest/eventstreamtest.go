// Package eventstreamtest is for tests only: a real NATS server in the
// test process (token authorization, TLS with a certificate of its own)
// that records the supervisor's events it receives, decoded by the
// original's event.proto with dynamicpb, independently of the encoder.
package eventstreamtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Options shape the server.
type Options struct {
	Token string // required of clients when set
	TLS   bool   // the server requires TLS, with a certificate of CertFile
	Port  int    // on 127.0.0.1; zero picks a free one
}

// Server is a running NATS server and a subscriber to habitat.event.>
// on it.
type Server struct {
	Addr     string // 127.0.0.1:PORT
	Token    string
	CertFile string // the server's certificate (PEM) when TLS
	srv      *server.Server
	sub      *nats.Conn

	mu      sync.Mutex
	events  []Event
	changed chan struct{} // closed and replaced when an event arrives
}

// Event is one message received: its subject and the event decoded as
// protojson gives it (field names as in the .proto, enums by name,
// timestamps and durations as strings), or why it did not decode.
type Event struct {
	Subject string
	Fields  map[string]any
	Err     error
}

// Start runs a server until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	port := o.Port
	if port == 0 {
		port = -1 // the server picks a free one
	}
	opts := &server.Options{Host: "127.0.0.1", Port: port, NoLog: true, NoSigs: true, Authorization: o.Token}
	s := &Server{Token: o.Token, changed: make(chan struct{})}
	var roots *x509.CertPool
	if o.TLS {
		cert, file, pool := selfSigned(t)
		opts.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		opts.TLS = true
		opts.TLSTimeout = 5
		s.CertFile, roots = file, pool
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("NATS server: %v", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		t.Fatal("NATS server: not ready")
	}
	s.srv = srv
	s.Addr = srv.Addr().String()
	t.Cleanup(s.Shutdown)
	copts := []nats.Option{nats.Name("eventstreamtest")}
	if o.Token != "" {
		copts = append(copts, nats.Token(o.Token))
	}
	if roots != nil {
		copts = append(copts, nats.Secure(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}))
	}
	nc, err := nats.Connect("nats://"+s.Addr, copts...)
	if err != nil {
		t.Fatalf("NATS subscriber: %v", err)
	}
	s.sub = nc
	if _, err := nc.Subscribe("habitat.event.>", func(m *nats.Msg) {
		fields, err := Decode(m.Subject, m.Data)
		s.mu.Lock()
		s.events = append(s.events, Event{Subject: m.Subject, Fields: fields, Err: err})
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
	}); err != nil {
		t.Fatalf("NATS subscribe: %v", err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatalf("NATS subscribe: %v", err)
	}
	return s
}

// Shutdown stops the subscriber and the server (a server gone down).
func (s *Server) Shutdown() {
	if s.sub != nil {
		s.sub.Close()
	}
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
}

// Events is what arrived so far, in order.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// WaitFor returns the first event, from index from on, on subject that
// match accepts; it fails the test if none comes (the bound is only so
// that a broken supervisor fails the test instead of hanging it). An
// event that did not decode fails the test at once.
func (s *Server) WaitFor(t testing.TB, from int, subject string, match func(Event) bool) (Event, int) {
	t.Helper()
	deadline := time.NewTimer(90 * time.Second)
	defer deadline.Stop()
	for i := from; ; {
		s.mu.Lock()
		evs, changed := s.events[i:], s.changed
		s.mu.Unlock()
		for _, e := range evs {
			i++
			if e.Err != nil {
				t.Fatalf("event %d on %s: %v", i-1, e.Subject, e.Err)
			}
			if e.Subject == subject && (match == nil || match(e)) {
				return e, i
			}
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("no event on %s came that matches; received:\n%s", subject, Dump(s.Events()))
		}
	}
}

// Field walks an event's decoded fields by names (nil when one is
// missing).
func Field(v any, names ...string) any {
	for _, n := range names {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[n]
	}
	return v
}

// Dump shows events, one a line, for a failed test's message.
func Dump(evs []Event) string {
	out := ""
	for _, e := range evs {
		b, _ := json.Marshal(e.Fields)
		out += fmt.Sprintf("%s %s %v\n", e.Subject, b, e.Err)
	}
	return out
}

// Port is a free port on 127.0.0.1 (for a server started later on it).
func Port(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// selfSigned makes a certificate for 127.0.0.1 and localhost, written to
// a PEM file, and a pool holding only it.
func selfSigned(t testing.TB) (tls.Certificate, string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "eventstreamtest"},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "nats-"+strconv.Itoa(int(tmpl.SerialNumber.Int64()%100000))+".pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: c}, file, pool
}
