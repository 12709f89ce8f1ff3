package butterfly

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/habgo/hab/sup/census"
)

// fastTiming runs the ring's clocks fast enough for tests.
func fastTiming() Timing {
	return Timing{
		Probe:         100 * time.Millisecond,
		ProbeTimeout:  50 * time.Millisecond,
		SuspicionMult: 3,
		Gossip:        20 * time.Millisecond,
		PushPull:      300 * time.Millisecond,
		Departure:     time.Second,
		Rejoin:        200 * time.Millisecond,
		WatchFile:     50 * time.Millisecond,
	}
}

// node is one member of a test ring with its census.
type node struct {
	srv      *Server
	ring     *census.Ring
	services *Topic[census.Service]
	configs  *Topic[census.ServiceConfig]
	files    *Topic[census.ServiceFile]
	logs     *logBuf
}

// logBuf collects a member's log for assertions.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startNode starts a member on a loopback port; cfg.ID must be set, the
// rest defaults for tests.
func startNode(t testing.TB, cfg Config) *node {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Timing == (Timing{}) {
		cfg.Timing = fastTiming()
	}
	ring := census.NewRing(census.Member{ID: cfg.ID})
	cfg.Members = ring
	cfg.Departures = ring.Departures
	logs := &logBuf{}
	cfg.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log of %s:\n%s", cfg.ID, logs)
		}
	})
	srv, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Kill)
	return &node{
		srv: srv, ring: ring, logs: logs,
		services: Carry[census.Service](srv, "service", ring.Services),
		configs:  Carry[census.ServiceConfig](srv, "service_config", ring.Configs),
		files:    Carry[census.ServiceFile](srv, "service_file", ring.Files),
	}
}

// startRing starts n members joined through the first.
func startRing(t testing.TB, n int, cfg func(i int, c *Config)) []*node {
	t.Helper()
	var nodes []*node
	for i := range n {
		c := Config{ID: fmt.Sprintf("m%02d", i)}
		if i > 0 {
			c.Peers = []string{nodes[0].srv.Addr()}
		}
		if cfg != nil {
			cfg(i, &c)
		}
		nodes = append(nodes, startNode(t, c))
	}
	return nodes
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// healthIs reports whether every observer sees member id with health h.
func healthIs(observers []*node, id string, h census.Health) bool {
	for _, o := range observers {
		if o.srv.HealthOf(id) != h {
			return false
		}
	}
	return true
}

func allAlive(nodes []*node) bool {
	for _, o := range nodes {
		if !healthIs([]*node{o}, o.srv.ID(), census.Alive) {
			return false
		}
		for _, m := range nodes {
			if o.srv.HealthOf(m.srv.ID()) != census.Alive {
				return false
			}
		}
	}
	return true
}
