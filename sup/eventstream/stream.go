package eventstream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// Config is the event stream's settings (hab sup run --event-stream-*).
type Config struct {
	Address Address
	// Token authenticates to the NATS server (--event-stream-token,
	// HAB_AUTOMATE_AUTH_TOKEN); an address's own authorization wins.
	Token string
	// ServerCertificate, when set, makes TLS required, with it trusted
	// beside the system's roots (without it, TLS is used when the server
	// asks for it, with the system's roots).
	ServerCertificate *x509.Certificate
	// ConnectTimeout, when not zero, is how long Connect waits for the
	// server (--event-stream-connect-timeout) before failing; zero
	// returns at once and connects in the background.
	ConnectTimeout time.Duration
	// QueueLength bounds the events waiting to go out (DefaultQueueLength
	// when zero); beyond it new events are dropped.
	QueueLength int
	Log         *slog.Logger
}

// DefaultQueueLength is how many events wait for the server at most.
const DefaultQueueLength = 1024

// ErrConnect is wrapped when the server was not reached within
// Config.ConnectTimeout.
var ErrConnect = errors.New("could not connect to the NATS server")

// closeFlushTimeout bounds how long Close waits for the events still
// in the connection's buffer to reach the server.
const closeFlushTimeout = 2 * time.Second

// Stream publishes a supervisor's events. As the original, it never
// retries one: an event published while the server is unreachable is
// lost, and the supervisor carries on.
type Stream struct {
	sup   Supervisor
	nc    *nats.Conn
	log   *slog.Logger
	queue chan message
	done  chan struct{}
	once  sync.Once
	// mu guards closed against an event queued while Close runs.
	mu     sync.RWMutex
	closed bool
}

type message struct {
	subject string
	payload []byte
}

// Connect opens the stream for sup. Without a ConnectTimeout it returns
// at once, connecting (and reconnecting) in the background; with one it
// waits that long for the server, or ctx, and fails with ErrConnect.
func Connect(ctx context.Context, cfg Config, sup Supervisor) (*Stream, error) {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	connected := make(chan struct{})
	var connectedOnce sync.Once
	addr := cfg.Address.String()
	opts := []nats.Option{
		nats.Name("hab_client_" + sup.ID),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		// Nothing is kept for later while disconnected: the original
		// drops such events too, and memory stays bounded.
		nats.ReconnectBufSize(-1),
		nats.ConnectHandler(func(*nats.Conn) {
			connectedOnce.Do(func() { close(connected) })
			log.Info("event stream: connected", "server", addr)
		}),
		nats.ReconnectHandler(func(*nats.Conn) { log.Info("event stream: reconnected", "server", addr) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("event stream: disconnected", "server", addr, "err", err)
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("event stream", "server", addr, "err", err)
		}),
	}
	// A server that asks for TLS (as Automate's does) gets it, trusting
	// the system's roots; with a server certificate given, TLS is
	// required and that certificate trusted too.
	if cfg.ServerCertificate != nil {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		pool.AddCert(cfg.ServerCertificate)
		opts = append(opts, nats.Secure(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	}
	switch a := cfg.Address; {
	case a.HasAuth && (a.User != "" || a.Password != ""):
		opts = append(opts, nats.UserInfo(a.User, a.Password))
	case a.HasAuth:
		opts = append(opts, nats.Token(a.Token))
	case cfg.Token != "":
		opts = append(opts, nats.Token(cfg.Token))
	}
	nc, err := nats.Connect("nats://"+addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("event stream: connect to %s: %w", addr, err)
	}
	if nc.IsConnected() {
		connectedOnce.Do(func() { close(connected) })
	}
	if cfg.ConnectTimeout > 0 {
		t := time.NewTimer(cfg.ConnectTimeout)
		defer t.Stop()
		select {
		case <-connected:
		case <-t.C:
			nc.Close()
			return nil, fmt.Errorf("event stream: %w at %s within %s (--event-stream-connect-timeout)%s", ErrConnect, addr, cfg.ConnectTimeout, lastError(nc))
		case <-ctx.Done():
			nc.Close()
			return nil, fmt.Errorf("event stream: connect to %s: %w", addr, ctx.Err())
		}
	}
	n := cfg.QueueLength
	if n <= 0 {
		n = DefaultQueueLength
	}
	s := &Stream{sup: sup, nc: nc, log: log, queue: make(chan message, n), done: make(chan struct{})}
	go s.publish()
	return s, nil
}

func lastError(nc *nats.Conn) string {
	if err := nc.LastError(); err != nil {
		return ": " + err.Error()
	}
	return ""
}

// publish sends the queued events in order until Close.
func (s *Stream) publish() {
	defer close(s.done)
	for m := range s.queue {
		if err := s.nc.Publish(m.subject, m.payload); err != nil {
			if !s.nc.IsConnected() {
				s.log.Debug("event stream: not connected; event dropped", "subject", m.subject, "err", err)
				continue
			}
			s.log.Warn("event stream: publish failed; event dropped", "subject", m.subject, "err", err)
		}
	}
}

func (s *Stream) send(subject string, payload []byte) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return
	}
	select {
	case s.queue <- message{subject, payload}:
	default:
		s.log.Warn("event stream: too many events waiting; event dropped", "subject", subject)
	}
}

// ServiceStarted sends the event of a service started (loaded, or
// restarted with another release).
func (s *Stream) ServiceStarted(svc Service) {
	s.send(SubjectServiceStarted, serviceEvent(s.sup, time.Now(), svc))
}

// ServiceStopped sends the event of a service stopped.
func (s *Stream) ServiceStopped(svc Service) {
	s.send(SubjectServiceStopped, serviceEvent(s.sup, time.Now(), svc))
}

// ServiceUpdateStarted sends the event of a service about to be
// restarted with release to.
func (s *Stream) ServiceUpdateStarted(svc Service, to string) {
	s.send(SubjectServiceUpdateStarted, serviceUpdateStarted(s.sup, time.Now(), svc, to))
}

// HealthChecked sends a health check's outcome.
func (s *Stream) HealthChecked(svc Service, h HealthCheck) {
	s.send(SubjectHealthCheck, healthCheck(s.sup, time.Now(), svc, h))
}

// Close sends what is queued (while the server is reachable, for up to
// a couple of seconds) and closes the connection.
func (s *Stream) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.queue)
		s.mu.Unlock()
		<-s.done
		if s.nc.IsConnected() {
			if err := s.nc.FlushTimeout(closeFlushTimeout); err != nil {
				s.log.Warn("event stream: flush on close", "err", err)
			}
		}
		s.nc.Close()
	})
	return nil
}

// FQDN is the machine's fully qualified name as the resolver gives it
// for hostname (its canonical name), or hostname when it has none.
func FQDN(ctx context.Context, hostname string) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if name, err := net.DefaultResolver.LookupCNAME(ctx, hostname); err == nil && name != "" {
		return strings.TrimSuffix(name, ".")
	}
	return hostname
}
