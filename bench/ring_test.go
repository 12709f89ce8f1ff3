package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/sup/butterfly"
	"github.com/habgo/hab/sup/census"
)

// Limits of the ring issue.
const (
	ringConvergeLimit = 5 * time.Second
	ringConfigLimit   = 2 * time.Second
	ringMemberMBLimit = 30.0
)

// TestRingBench starts RING_BENCH_MEMBERS (default 50) gossip members in
// this process with the default timing, each joining through the first
// and publishing its service rumor, and measures the time until every
// member sees every member Alive and holds every service rumor, and the
// resident memory the members added, per member. bench/ring.sh runs it.
func TestRingBench(t *testing.T) {
	n := 50
	if s := os.Getenv("RING_BENCH_MEMBERS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 2 {
			t.Fatalf("RING_BENCH_MEMBERS=%q: want a number of at least 2", s)
		}
		n = v
	} else if os.Getenv("RING_BENCH") == "" {
		t.Skip("run by bench/ring.sh (RING_BENCH=1)")
	}
	before := residentMB(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	type member struct {
		srv     *butterfly.Server
		ring    *census.Ring
		configs *butterfly.Topic[census.ServiceConfig]
	}
	var ms []member
	start := time.Now()
	for i := range n {
		id := fmt.Sprintf("member%02d", i)
		ring := census.NewRing(census.Member{ID: id})
		cfg := butterfly.Config{ID: id, Listen: "127.0.0.1:0", Members: ring, Departures: ring.Departures, Log: logger}
		if i > 0 {
			cfg.Peers = []string{ms[0].srv.Addr()}
		}
		srv, err := butterfly.Start(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Kill()
		butterfly.Carry[census.Service](srv, "service", ring.Services).Publish(census.Service{
			MemberID: id, ServiceGroup: "redis.default", Incarnation: 1, Pkg: "core/redis/4.0.14/20190319155852",
		})
		ms = append(ms, member{srv, ring, butterfly.Carry[census.ServiceConfig](srv, "service_config", ring.Configs)})
	}
	started := time.Since(start)
	allRumors := func() bool {
		for _, m := range ms {
			if len(m.ring.Services.Key("redis.default")) != n {
				return false
			}
		}
		return true
	}
	allAliveIn := func() bool {
		for _, m := range ms {
			for _, o := range ms {
				if m.srv.HealthOf(o.srv.ID()) != census.Alive {
					return false
				}
			}
		}
		return true
	}
	converged := func() bool { return allRumors() && allAliveIn() }
	deadline := start.Add(60 * time.Second)
	var aliveAt, rumorsAt time.Duration
	for !converged() {
		if aliveAt == 0 && allAliveIn() {
			aliveAt = time.Since(start)
		}
		if rumorsAt == 0 && allRumors() {
			rumorsAt = time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d members did not converge in 60 s", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(start)
	fmt.Printf("ring: every member Alive everywhere after %.2f s, every service rumor everywhere after %.2f s\n", orNow(aliveAt, took).Seconds(), orNow(rumorsAt, took).Seconds())
	// A configuration applied on one member, as hab config apply does.
	applied := time.Now()
	ms[n/2].configs.Publish(census.ServiceConfig{ServiceGroup: "redis.default", Incarnation: 1, Config: "port = 2112\n"})
	for {
		all := true
		for _, m := range ms {
			if _, ok := m.ring.Configs.Get("redis.default", "service_config"); !ok {
				all = false
				break
			}
		}
		if all {
			break
		}
		if time.Since(applied) > 60*time.Second {
			t.Fatalf("a configuration did not reach %d members in 60 s", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	reached := time.Since(applied)
	fmt.Printf("ring: a configuration applied on one member reached all %d in %.2f s (limit %.0f s, ratio %.2f)\n",
		n, reached.Seconds(), ringConfigLimit.Seconds(), reached.Seconds()/ringConfigLimit.Seconds())
	after := residentMB(t)
	per := (after - before) / float64(n)
	fmt.Printf("ring: %d members started in %.2f s, converged in %.2f s (limit %.0f s, ratio %.2f)\n",
		n, started.Seconds(), took.Seconds(), ringConvergeLimit.Seconds(), took.Seconds()/ringConvergeLimit.Seconds())
	fmt.Printf("ring: resident %.1f MB before, %.1f MB with %d members: %.2f MB per member (limit %.0f MB, ratio %.3f)\n",
		before, after, n, per, ringMemberMBLimit, per/ringMemberMBLimit)
	if os.Getenv("RING_BENCH_STRICT") != "" && (took > ringConvergeLimit || reached > ringConfigLimit || per > ringMemberMBLimit) {
		t.Fatalf("over the limits")
	}
}

// residentMB is this process's resident set size (VmRSS) in MB.
func residentMB(t *testing.T) float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", rest, err)
			}
			return kb / 1024
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

func orNow(d, now time.Duration) time.Duration {
	if d == 0 {
		return now
	}
	return d
}
