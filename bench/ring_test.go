package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/habgo/hab/internal/habbin"
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
	return procMB(t, "/proc/self/status", "VmRSS")
}

// procMB reads the field (VmRSS, Pss: a "NAME: N kB" line) of a /proc
// file, in MB.
func procMB(t *testing.T, file, field string) float64 {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				t.Fatalf("%s: %s %q: %v", file, field, rest, err)
			}
			return kb / 1024
		}
	}
	t.Fatalf("%s has no %s line", file, field)
	return 0
}

func orNow(d, now time.Duration) time.Duration {
	if d == 0 {
		return now
	}
	return d
}

// TestRingProcsBench runs RING_BENCH_PROCS (default 50 with RING_BENCH=1)
// real `hab sup run` processes, each with its own FS_ROOT and loopback
// ports, all joining through the first; it measures the time until every
// supervisor's /butterfly shows every one Alive, a configuration applied
// through one supervisor reaching every /census, and each process's
// resident memory once the ring is quiet. bench/ring.sh runs it.
func TestRingProcsBench(t *testing.T) {
	n := 50
	if s := os.Getenv("RING_BENCH_PROCS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 2 {
			t.Fatalf("RING_BENCH_PROCS=%q: want a number of at least 2", s)
		}
		n = v
	} else if os.Getenv("RING_BENCH") == "" {
		t.Skip("run by bench/ring.sh (RING_BENCH=1)")
	}
	dir := t.TempDir()
	bin, err := habbin.Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Written back, as an installed binary is: the supervisors give their
	// binary's clean pages back when idle (internal/resident), and dirty
	// ones stay.
	if f, err := os.Open(bin); err != nil {
		t.Fatal(err)
	} else if err := f.Sync(); err != nil {
		t.Fatal(err)
	} else {
		f.Close()
	}
	type sup struct {
		cmd             *exec.Cmd
		log             string // its output
		http, ctl, goss string
	}
	env := func(root string) []string {
		return append(os.Environ(), "FS_ROOT="+root, "HAB_CTL_SECRET=ring-bench", "HOME="+dir)
	}
	addr := regexp.MustCompile(`Starting (ctl-gateway|http-gateway|gossip-listener) on (\S+)`)
	var sups []*sup
	start := time.Now()
	for i := range n {
		root := filepath.Join(dir, fmt.Sprintf("sup%02d", i))
		args := []string{"sup", "run", "--listen-ctl", "127.0.0.1:0", "--listen-http", "127.0.0.1:0", "--listen-gossip", "127.0.0.1:0", "--sys-ip-address", "127.0.0.1"}
		if i > 0 {
			args = append(args, "--peer", sups[0].goss)
		}
		s := &sup{cmd: exec.Command(bin, args...), log: root + ".log"}
		s.cmd.Env = env(root)
		out, err := os.Create(s.log)
		if err != nil {
			t.Fatal(err)
		}
		s.cmd.Stdout, s.cmd.Stderr = out, out
		err = s.cmd.Start()
		out.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.cmd.Process.Signal(syscall.SIGTERM); s.cmd.Wait() })
		for deadline := time.Now().Add(30 * time.Second); s.goss == ""; time.Sleep(5 * time.Millisecond) {
			text, _ := os.ReadFile(s.log)
			if time.Now().After(deadline) {
				t.Fatalf("supervisor %d did not start:\n%s", i, text)
			}
			for _, m := range addr.FindAllStringSubmatch(string(text), -1) {
				switch m[1] {
				case "ctl-gateway":
					s.ctl = m[2]
				case "http-gateway":
					s.http = m[2]
				case "gossip-listener":
					s.goss = m[2]
				}
			}
		}
		sups = append(sups, s)
	}
	started := time.Since(start)
	getJSON := func(s *sup, path string, v any) bool {
		resp, err := http.Get("http://" + s.http + path)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(v) == nil
	}
	poll := func(what string, done func(s *sup) bool) time.Duration {
		began := time.Now()
		pending := append([]*sup(nil), sups...)
		for len(pending) > 0 {
			if time.Since(began) > 120*time.Second {
				t.Fatalf("%s: %d supervisors still waiting after 120 s", what, len(pending))
			}
			var still []*sup
			for _, s := range pending {
				if !done(s) {
					still = append(still, s)
				}
			}
			pending = still
			if len(pending) > 0 {
				time.Sleep(20 * time.Millisecond)
			}
		}
		return time.Since(began)
	}
	convergedAfter := poll("every supervisor Alive everywhere", func(s *sup) bool {
		var b struct {
			Member struct {
				Health map[string]string `json:"health"`
			} `json:"member"`
		}
		if !getJSON(s, "/butterfly", &b) {
			return false
		}
		alive := 0
		for _, h := range b.Member.Health {
			if h == "Alive" {
				alive++
			}
		}
		return alive == n
	})
	apply := exec.Command(bin, "config", "apply", "--remote-sup", sups[n/2].ctl, "redis.default", "1")
	apply.Env = env(filepath.Join(dir, "client"))
	apply.Stdin = strings.NewReader("port = 2112\n")
	applied := time.Now()
	if out, err := apply.CombinedOutput(); err != nil {
		t.Fatalf("config apply: %v\n%s", err, out)
	}
	poll("the configuration everywhere", func(s *sup) bool {
		var c census.Census
		if !getJSON(s, "/census", &c) {
			return false
		}
		g := c.CensusGroups["redis.default"]
		return g != nil && g.ServiceConfig != nil && g.ServiceConfig.Incarnation == 1
	})
	reached := time.Since(applied) // from before hab config apply ran
	// Resident memory once quiet (the supervisors give their binary's
	// pages back after 5 s without faults: internal/resident).
	time.Sleep(12 * time.Second)
	// RSS counts the pages of the binary each supervisor maps (the
	// settler unmaps those it has not touched since it went quiet, also
	// when other supervisors keep them); the proportional share (Pss)
	// divides the shared ones among the supervisors and is printed beside
	// it.
	var rss, pss []float64
	for _, s := range sups {
		rss = append(rss, procMB(t, fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid), "VmRSS"))
		pss = append(pss, procMB(t, fmt.Sprintf("/proc/%d/smaps_rollup", s.cmd.Process.Pid), "Pss"))
	}
	sort.Float64s(rss)
	sort.Float64s(pss)
	fmt.Printf("ring: %d hab sup run processes started in %.2f s; every one Alive in every /butterfly %.2f s after the last started (limit %.0f s, ratio %.2f)\n",
		n, started.Seconds(), convergedAfter.Seconds(), ringConvergeLimit.Seconds(), convergedAfter.Seconds()/ringConvergeLimit.Seconds())
	fmt.Printf("ring: hab config apply through one reached every /census in %.2f s (limit %.0f s, ratio %.2f)\n",
		reached.Seconds(), ringConfigLimit.Seconds(), reached.Seconds()/ringConfigLimit.Seconds())
	fmt.Printf("ring: resident memory per supervisor: median %.1f MB, max %.1f MB (limit %.0f MB, ratio %.2f); proportional share (Pss, the shared binary divided among the %d): median %.1f MB, max %.1f MB\n",
		rss[len(rss)/2], rss[len(rss)-1], ringMemberMBLimit, rss[len(rss)-1]/ringMemberMBLimit, n, pss[len(pss)/2], pss[len(pss)-1])
	if os.Getenv("RING_BENCH_STRICT") != "" && (convergedAfter > ringConvergeLimit || reached > ringConfigLimit || rss[len(rss)-1] > ringMemberMBLimit) {
		t.Fatalf("over the limits")
	}
}
