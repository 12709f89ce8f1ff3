// Package manager is the supervisor: it holds the supervisor's directory
// (LOCK, MEMBER_ID, CTL_SECRET, specs, data), runs a service for every
// spec file, answers the control gateway and serves the HTTP gateway.
package manager

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/core/pkgs"
	"github.com/habgo/hab/core/templating"
	"github.com/habgo/hab/sup/census"
	"github.com/habgo/hab/sup/ctl"
	"github.com/habgo/hab/sup/service"
	"github.com/habgo/hab/sup/spec"
	"github.com/habgo/hab/sup/watch"
)

// Config is how a supervisor runs; cmd/hab fills it from flags and the
// environment.
type Config struct {
	Root                    paths.Root
	Store                   *pkgs.Store
	ListenCtl               string      // host:port
	CtlTLS                  *tls.Config // the control gateway's TLS, nil for none
	KeepLatestPackages      *int        // when set, a service starting (loaded or updated) uninstalls all but this many newest releases of its package
	ListenHTTP              string      // host:port; empty disables the HTTP gateway
	ListenGossip            string      // host:port; empty: no ring (the census holds this supervisor alone)
	Gossip                  GossipConfig
	SysIP                   string
	Permanent               bool
	Version                 string
	BaseEnv                 []string
	Getenv                  func(string) string
	Out                     io.Writer
	Log                     *slog.Logger
	HookTimeout             time.Duration
	MinBackoff, MaxBackoff  time.Duration
	Cooldown                time.Duration
	Tick                    time.Duration
	HTTP                    HTTPOptions
	Preload                 *spec.Spec // `hab sup run IDENT`: loaded with force at start
	SecretOverride          string     // HAB_CTL_SECRET given to the supervisor
	PrintListenAddrs        func(ctl, http string)
	ServeHTTP               func(ctx context.Context, ln net.Listener, m *Manager) error
	InstallMissing          func(ctx context.Context, id ident.Ident) (*pkgs.Package, error)
	DisableHTTP             bool
	AdditionalPathForHooks  string
	ShutdownTimeoutOverride time.Duration
	// Restart asks whoever runs the supervisor to restart it (hab sup
	// restart through the control gateway); nil refuses such requests.
	Restart func()
	// Keys is the key cache whose service group and user keys open
	// encrypted configurations and files (--cache-key-path).
	Keys crypto.Cache
	// Org is the organization of every service group here (--org).
	Org string
	// UpdatePeriod is how often update workers poll their depot channel
	// (--service-update-period; zero: DefaultUpdatePeriod).
	UpdatePeriod time.Duration
	// Handover, when closed, stops the supervisor as ctx ending does but
	// leaves the services' run processes running for the supervisor this
	// process executes next (a self-update), which takes them over.
	Handover <-chan struct{}
	// OpenEvents, when set, opens the event stream (hab sup run
	// --event-stream-url) that the services' events go to.
	OpenEvents OpenEvents
}

// HTTPOptions are the HTTP gateway's TLS and bearer authentication.
type HTTPOptions struct {
	AuthToken string
	CertFile  string
	KeyFile   string
	CAFile    string
}

// Manager is a running supervisor.
type Manager struct {
	cfg     Config
	supRoot string
	specs   spec.Dir
	dataDir string
	ring    *census.Ring
	gossip  *gossip // nil without a ring
	opened  *opened // the ring's configs and files as services use them
	updates *updaters
	events  Events // nil without an event stream
	sys     templating.SystemInfo
	outMu   sync.Mutex
	secret  string

	// reconcileMu makes one reconcile at a time (the loop's and the
	// control commands').
	reconcileMu sync.Mutex
	watcher     *watch.Watcher       // inotify for the specs directory and user.toml files; nil without
	specWatch   *spec.Watcher        // nil: the specs are read again every tick
	desired     map[string]spec.Spec // the specs, as last read
	bad         map[string]bool      // spec files that cannot be read (their last good spec stays)
	mu          sync.Mutex
	services    map[string]*running // by service name
	problems    map[string]string   // spec file → last error shown
	failed      map[string]bool     // services whose start failed, tried again every tick
}

type running struct {
	svc    *service.Service
	cancel context.CancelFunc
	spec   spec.Spec
	done   chan struct{} // closed when the service has stopped (or never started)
}

// SupRoot is FS_ROOT/hab/sup/default.
func SupRoot(r paths.Root) string { return filepath.Join(r.Hab(), "sup", "default") }

// LockFile is the supervisor's LOCK file, holding its PID.
func LockFile(r paths.Root) string { return filepath.Join(SupRoot(r), "LOCK") }

// ErrRunning is wrapped when another supervisor holds the lock.
var ErrRunning = errors.New("another supervisor is running")

// Run runs the supervisor until ctx ends; then it stops every service
// (none is left running) and returns.
func Run(ctx context.Context, cfg Config) error {
	m := &Manager{cfg: cfg, supRoot: SupRoot(cfg.Root), services: map[string]*running{}, problems: map[string]string{},
		desired: map[string]spec.Spec{}, bad: map[string]bool{}, failed: map[string]bool{}}
	m.specs = spec.Dir(filepath.Join(m.supRoot, "specs"))
	m.dataDir = filepath.Join(m.supRoot, "data")
	for _, d := range []string{m.supRoot, string(m.specs), m.dataDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create supervisor directory: %w", err)
		}
	}
	unlock, err := lock(LockFile(cfg.Root))
	if err != nil {
		return err
	}
	defer unlock()
	// Orphans of services (a run hook's children whose parent died) are
	// reparented here, so that stopping a service can find and end them.
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	memberID, err := ensureMemberID(filepath.Join(m.supRoot, "MEMBER_ID"))
	if err != nil {
		return err
	}
	if cfg.SecretOverride != "" {
		m.secret = cfg.SecretOverride
	} else if m.secret, err = ctl.EnsureSecret(ctl.SecretFile(m.supRoot)); err != nil {
		return err
	}
	cleanData(m.dataDir)
	ctlLn, err := net.Listen("tcp", cfg.ListenCtl)
	if err != nil {
		return fmt.Errorf("control gateway: listen on %s (--listen-ctl): %w", cfg.ListenCtl, err)
	}
	var httpLn net.Listener
	if !cfg.DisableHTTP && cfg.ServeHTTP != nil {
		httpLn, err = net.Listen("tcp", cfg.ListenHTTP)
		if err != nil {
			ctlLn.Close()
			return fmt.Errorf("HTTP gateway: listen on %s (--listen-http): %w", cfg.ListenHTTP, err)
		}
	}
	hostname, _ := os.Hostname()
	m.sys = templating.SystemInfo{Version: cfg.Version, MemberID: memberID, IP: cfg.SysIP, Hostname: hostname, Permanent: cfg.Permanent}
	m.sys.CtlGatewayIP, m.sys.CtlGatewayPort = splitAddr(ctlLn.Addr().String())
	if httpLn != nil {
		m.sys.HTTPGatewayIP, m.sys.HTTPGatewayPort = splitAddr(httpLn.Addr().String())
	}
	m.sys.GossipIP, m.sys.GossipPort = splitAddr(cfg.ListenGossip)
	m.ring = census.NewRing(census.Member{ID: memberID, Address: cfg.SysIP, GossipPort: uint32(m.sys.GossipPort), SwimPort: uint32(m.sys.GossipPort), Persistent: cfg.Permanent})
	m.opened = newOpened(m.ring, cfg.Keys, cfg.Log, m.say)
	m.updates = newUpdaters(m)
	closeListeners := func() {
		ctlLn.Close()
		if httpLn != nil {
			httpLn.Close()
		}
	}
	incarnations := m.loadRumors()
	if err := m.writeChpst(); err != nil {
		closeListeners()
		return err
	}
	// One inotify watcher for the specs directory and every service's
	// user.toml; without one (inotify refused) both are read on a timer.
	if w, err := watch.New(); err != nil {
		cfg.Log.Warn("no inotify: the specs directory and user.toml files are read again every tick", "err", err)
	} else {
		defer w.Close()
		m.watcher = w
		if m.specWatch, err = m.specs.Watch(w); err != nil {
			cfg.Log.Warn("the specs directory is read again every tick", "err", err)
		} else {
			defer m.specWatch.Close()
		}
	}
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if cfg.ListenGossip != "" {
		if m.gossip, err = m.startGossip(gctx, incarnations); err != nil {
			closeListeners()
			return err
		}
		m.sys.GossipIP, m.sys.GossipPort = splitAddr(m.gossip.srv.Addr())
	}
	if err := m.openEvents(ctx); err != nil {
		closeListeners()
		m.stopGossip(false)
		return err
	}
	defer m.closeEvents()
	if cfg.Preload != nil {
		if err := m.load(ctx, *cfg.Preload, true, nil); err != nil {
			closeListeners()
			m.stopGossip(false)
			return err
		}
	}
	m.say("Supervisor Member-ID %s", memberID)
	m.say("Starting ctl-gateway on %s", ctlLn.Addr())
	if httpLn != nil {
		m.say("Starting http-gateway on %s", httpLn.Addr())
	}
	var departed <-chan struct{}
	if m.gossip != nil {
		m.say("Starting gossip-listener on %s", m.gossip.srv.Addr())
		departed = m.gossip.srv.Departed()
	}
	if cfg.PrintListenAddrs != nil {
		h := ""
		if httpLn != nil {
			h = httpLn.Addr().String()
		}
		cfg.PrintListenAddrs(ctlLn.Addr().String(), h)
	}
	var wg sync.WaitGroup
	if m.gossip != nil {
		m.gossip.run(gctx, &wg)
	}
	m.updates.start(gctx, &wg)
	wg.Add(1)
	go func() {
		defer wg.Done()
		srv := &ctl.Server{Secret: m.secret, Handler: m, Log: cfg.Log, TLS: cfg.CtlTLS}
		if err := srv.Serve(gctx, ctlLn); err != nil {
			cfg.Log.Error(err.Error())
		}
	}()
	if httpLn != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := cfg.ServeHTTP(gctx, httpLn, m); err != nil {
				cfg.Log.Error(err.Error())
			}
		}()
	}
	var specsChanged <-chan struct{}
	if m.specWatch != nil {
		specsChanged = m.specWatch.Changed()
	}
	m.reconcile(ctx)
	// The services that run have taken their processes over from the
	// supervisor before a restart or self-update; the others' processes
	// (unloaded, down or failing to start since) are ended.
	service.EndUnclaimed(m.dataDir, service.DefaultShutdownTimeout, cfg.Log)
	tick := cfg.Tick
	if tick <= 0 {
		tick = 200 * time.Millisecond
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	lastRumors := m.ring.Configs.Counter() + m.ring.Files.Counter()
	wasDeparted := false
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-cfg.Handover:
			if ctx.Err() != nil {
				break loop // stopping anyway: no next supervisor
			}
			m.say("Stopping for the next Supervisor; the services keep running")
			m.keepServicesRunning()
			break loop
		case <-departed:
			wasDeparted = true
			m.say("This Supervisor was departed from the ring; stopping")
			break loop
		case <-specsChanged:
			m.reconcile(ctx)
		case <-t.C:
			if m.specWatch == nil {
				m.reconcile(ctx)
			} else {
				m.opened.sync(time.Now())
				m.retryFailed(ctx)
			}
			if c := m.ring.Configs.Counter() + m.ring.Files.Counter(); c != lastRumors {
				lastRumors = c
				m.saveRumors()
			}
		}
	}
	m.say("Stopping all services")
	cancel()
	m.stopAll()
	wg.Wait()
	m.saveRumors()
	m.stopGossip(!wasDeparted)
	m.say("Supervisor stopped")
	if wasDeparted {
		return ErrDeparted
	}
	return nil
}

// stopGossip leaves the ring: gracefully (the others see this member
// Confirmed at once, without suspecting it first: TestRestartKeepsMembership)
// or, for a departed member, just closing the listener.
func (m *Manager) stopGossip(leave bool) {
	if m.gossip == nil {
		return
	}
	if !leave {
		m.gossip.srv.Kill()
		return
	}
	if err := m.gossip.srv.Stop(); err != nil {
		m.cfg.Log.Warn("leave the ring", "err", err)
	}
}

func (m *Manager) say(format string, a ...any) {
	m.outMu.Lock()
	defer m.outMu.Unlock()
	fmt.Fprintf(m.cfg.Out, "hab-sup(MR): %s\n", fmt.Sprintf(format, a...))
}

func splitAddr(addr string) (string, uint16) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, 0
	}
	n, _ := strconv.Atoi(p)
	return h, uint16(n)
}

// lock takes the supervisor's LOCK (an exclusive flock, released by the
// kernel if the process dies) and writes the PID into it.
func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open supervisor lock %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		return nil, fmt.Errorf("%w (PID %s holds %s)", ErrRunning, strings.TrimSpace(string(b)), path)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() {
		_ = f.Truncate(0)
		os.Remove(path)
		f.Close()
	}, nil
}

// ensureMemberID reads MEMBER_ID, creating it once.
func ensureMemberID(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) == 32 {
		return strings.TrimSpace(string(b)), nil
	}
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("generate member id: %w", err)
	}
	id := hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(id), 0o644); err != nil {
		return "", fmt.Errorf("write member id %s: %w", path, err)
	}
	return id, nil
}

// cleanData removes what the original removes at start (*.tmp, *.health).
func cleanData(dir string) {
	for _, pat := range []string{"*.tmp", "*.health"} {
		ms, _ := filepath.Glob(filepath.Join(dir, pat))
		for _, f := range ms {
			os.Remove(f)
		}
	}
}

// writeChpst writes the supervisor's chpst: the run scripts hab plan
// build writes call chpst to change to the service's user when run as
// root; the supervisor has already started them as that user, so its
// chpst drops -u/-U and runs the rest. A chpst found earlier on the PATH
// (busybox, runit) is used instead.
func (m *Manager) writeChpst() error {
	dir := filepath.Join(m.supRoot, "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write chpst: %w", err)
	}
	script := `#!/bin/sh
# Written by the hab supervisor: processes already run as the service's user.
while [ $# -gt 0 ]; do
  case "$1" in
    -u|-U|-e|-n|-l|-L|-m|-d|-o|-p|-f|-c|-r|-t) shift 2 ;;
    -P|-0|-1|-2|-v) shift ;;
    *) break ;;
  esac
done
exec "$@"
`
	if err := os.WriteFile(filepath.Join(dir, "chpst"), []byte(script), 0o755); err != nil {
		return fmt.Errorf("write chpst: %w", err)
	}
	return nil
}

func (m *Manager) serviceOptions() service.Options {
	var publish func(census.Service)
	if m.gossip != nil {
		publish = m.gossip.publishService
	}
	return service.Options{
		Store: m.cfg.Store, SvcRoot: m.cfg.Root.Svc(), UserRoot: filepath.Join(m.cfg.Root.Hab(), "user"), DataDir: m.dataDir,
		Ring: m.ring, Configs: m.opened.Configs, Files: m.opened.Files, Org: m.cfg.Org, Sys: m.sys, BaseEnv: m.cfg.BaseEnv, Getenv: m.cfg.Getenv, ExtraPath: filepath.Join(m.supRoot, "bin"),
		Out: m.cfg.Out, OutMu: &m.outMu, Log: m.cfg.Log, HookTimeout: m.cfg.HookTimeout,
		MinBackoff: m.cfg.MinBackoff, MaxBackoff: m.cfg.MaxBackoff, Cooldown: m.cfg.Cooldown, Tick: m.cfg.Tick,
		Publish: publish, Watch: m.watcher, HealthChecked: m.healthCheckedHook(),
	}
}

// reconcile makes the running services match the spec files: new specs
// start, removed ones stop, a changed desired state starts or stops, any
// other change restarts the service. A spec file that cannot be read is
// reported (once) and left alone; running services keep running.
func (m *Manager) reconcile(ctx context.Context) {
	m.reconcileMu.Lock()
	defer m.reconcileMu.Unlock()
	m.opened.sync(time.Now())
	changed, err := m.readSpecs()
	if err != nil {
		m.problemOnce("specs", err.Error())
		return
	}
	m.updates.specsRead(m.desired, m.bad, changed)
	m.apply(ctx)
}

// retryFailed starts again the services whose start failed (a package
// installed since, say), without reading the specs directory.
func (m *Manager) retryFailed(ctx context.Context) {
	m.reconcileMu.Lock()
	defer m.reconcileMu.Unlock()
	m.mu.Lock()
	n := len(m.failed)
	m.mu.Unlock()
	if n > 0 {
		m.apply(ctx)
	}
}

// readSpecs brings m.desired up to date with the specs directory: through
// the watcher, what changed since the last look (a file edited into
// nonsense keeps its last good spec, and says so once); without one
// (inotify refused), everything read again. It reports whether m.desired
// or m.bad changed. Called with reconcileMu held.
func (m *Manager) readSpecs() (bool, error) {
	if m.specWatch == nil {
		specs, problems, err := m.specs.ReadAll()
		if err != nil {
			return false, err
		}
		bad := map[string]bool{}
		for _, p := range problems {
			name := strings.TrimSuffix(filepath.Base(p.File), ".spec")
			bad[name] = true
			m.problemOnce(p.File, p.Err.Error()+" (ignored; a running service keeps running)")
			if old, ok := m.desired[name]; ok {
				specs[name] = old
			}
		}
		changed := !maps.EqualFunc(specs, m.desired, equalSpecs) || !maps.Equal(bad, m.bad)
		m.desired, m.bad = specs, bad
		return changed, nil
	}
	events, err := m.specWatch.Next()
	if err != nil {
		return false, err
	}
	for _, e := range events {
		switch e.Kind {
		case spec.Added, spec.Changed:
			m.desired[e.Name] = e.Spec
			delete(m.bad, e.Name)
		case spec.Removed:
			delete(m.desired, e.Name)
			delete(m.bad, e.Name)
		case spec.Invalid:
			m.bad[e.Name] = true
			m.problemOnce(m.specs.Path(e.Name), e.Err.Error()+" (ignored; a running service keeps running)")
		}
	}
	return len(events) > 0, nil
}

// apply makes the running services match m.desired. Called with
// reconcileMu held.
func (m *Manager) apply(ctx context.Context) {
	specs, bad := m.desired, m.bad
	m.mu.Lock()
	for f := range m.problems {
		name := strings.TrimSuffix(filepath.Base(f), ".spec")
		if _, ok := specs[name]; ok && !bad[name] && !m.failed[name] {
			delete(m.problems, f)
		}
	}
	var toStop []*running
	for name, r := range m.services {
		if bad[name] {
			continue
		}
		if _, ok := specs[name]; !ok {
			toStop = append(toStop, r)
			delete(m.services, name)
		}
	}
	m.mu.Unlock()
	m.stop(toStop)
	names := make([]string, 0, len(specs))
	for n := range specs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		sp := specs[name]
		m.mu.Lock()
		r, ok := m.services[name]
		m.mu.Unlock()
		if ok {
			old := r.spec
			if equalSpecs(old, sp) {
				continue
			}
			if onlyStateChanged(old, sp) {
				r.svc.SetDesiredState(sp.DesiredState)
				m.mu.Lock()
				r.spec = sp
				m.mu.Unlock()
				continue
			}
			m.mu.Lock()
			delete(m.services, name)
			m.mu.Unlock()
			m.stop([]*running{r})
		}
		m.startService(ctx, name, sp)
	}
}

// startFailed says (once) why a service could not start, and marks it
// to be tried again.
func (m *Manager) startFailed(name, msg string) {
	m.mu.Lock()
	m.failed[name] = true
	m.mu.Unlock()
	m.problemOnce(m.specs.Path(name), msg)
}

func (m *Manager) problemOnce(key, msg string) {
	m.mu.Lock()
	same := m.problems[key] == msg
	m.problems[key] = msg
	m.mu.Unlock()
	if !same {
		m.say("%s", msg)
		m.cfg.Log.Error(msg)
	}
}

func equalSpecs(a, b spec.Spec) bool {
	x, _ := a.Marshal()
	y, _ := b.Marshal()
	return string(x) == string(y)
}

func onlyStateChanged(a, b spec.Spec) bool {
	a.DesiredState = b.DesiredState
	a.BldrURL, a.Channel, a.UpdateStrategy, a.UpdateCondition = b.BldrURL, b.Channel, b.UpdateStrategy, b.UpdateCondition
	return equalSpecs(a, b)
}

func (m *Manager) startService(ctx context.Context, name string, sp spec.Spec) {
	id := m.updates.release(name, sp)
	p, err := m.cfg.Store.Resolve(ctx, id)
	if err != nil {
		m.startFailed(name, fmt.Sprintf("service %s: %v", sp.Ident, err))
		return
	}
	svc, err := service.New(m.serviceOptions(), sp, p)
	if err != nil {
		m.startFailed(name, fmt.Sprintf("service %s: %v", sp.Ident, err))
		return
	}
	if !svc.TakeOver() {
		svc.EndLeftover()
	}
	sctx, cancel := context.WithCancel(context.Background())
	r := &running{svc: svc, cancel: cancel, spec: sp, done: make(chan struct{})}
	m.mu.Lock()
	m.services[name] = r
	delete(m.problems, m.specs.Path(name))
	delete(m.failed, name)
	m.mu.Unlock()
	m.say("Starting %s (%s)", svc.ServiceGroup(), svc.Ident())
	m.serviceStarted(svc)
	go func() {
		defer close(r.done)
		defer m.serviceStopped(svc)
		if sp.Topology == "leader" && m.gossip != nil {
			defer m.gossip.leaveElection(svc.ServiceGroup())
			if !m.gossip.awaitLeader(sctx, svc, p) {
				svc.StopWithoutRun() // a process taken over is not left behind
				return
			}
		}
		svc.Run(sctx)
	}()
	m.keepLatest(ctx, sp)
}

// keepLatest uninstalls all but the newest KeepLatestPackages releases
// of a started service's package (its ident as loaded), with the
// dependencies nothing else needs; the releases the running services
// use are kept.
func (m *Manager) keepLatest(ctx context.Context, sp spec.Spec) {
	n := m.cfg.KeepLatestPackages
	if n == nil {
		return
	}
	id, err := ident.Parse(sp.Ident)
	if err != nil {
		return
	}
	inUse := map[string]bool{}
	m.mu.Lock()
	for _, r := range m.services {
		inUse[r.svc.Ident()] = true
	}
	m.mu.Unlock()
	res, err := m.cfg.Store.Uninstall(ctx, id, pkgs.UninstallOptions{KeepLatest: n, Protected: func(i ident.Ident) bool { return inUse[i.String()] }})
	if err != nil {
		m.cfg.Log.Error("uninstall old releases", "ident", sp.Ident, "keep", *n, "err", err)
		return
	}
	m.say("Uninstalled %d %s packages, keeping the %d latest", len(res.Removed), id, *n)
}

// stop stops services in parallel and waits for them.
func (m *Manager) stop(rs []*running) {
	for _, r := range rs {
		r.cancel()
	}
	for _, r := range rs {
		<-r.done
	}
}

// keepServicesRunning makes every service hand its run process over
// when it stops (Config.Handover).
func (m *Manager) keepServicesRunning() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.services {
		r.svc.KeepRunning()
	}
}

func (m *Manager) stopAll() {
	m.mu.Lock()
	var rs []*running
	for name, r := range m.services {
		rs = append(rs, r)
		delete(m.services, name)
	}
	m.mu.Unlock()
	m.stop(rs)
}

// Ring is the supervisor's census and rumors.
func (m *Manager) Ring() *census.Ring { return m.ring }

// Sys is the supervisor's system information.
func (m *Manager) Sys() templating.SystemInfo { return m.sys }

// SupRoot is the supervisor's directory.
func (m *Manager) SupRoot() string { return m.supRoot }

// SpecsDir is the specs directory.
func (m *Manager) SpecsDir() spec.Dir { return m.specs }

// Statuses is a snapshot of every service, by name.
func (m *Manager) Statuses() []service.Status {
	m.mu.Lock()
	rs := make([]*running, 0, len(m.services))
	for _, r := range m.services {
		rs = append(rs, r)
	}
	m.mu.Unlock()
	out := make([]service.Status, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.svc.Status())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Spec.Name() < out[j].Spec.Name() })
	return out
}

type rumorFile struct {
	Configs []census.ServiceConfig `json:"service_config"`
	Files   []census.ServiceFile   `json:"service_file"`
	// ServiceIncarnations are the incarnations of this member's service
	// rumors, by group, so that after a restart they go out above what
	// the ring still holds.
	ServiceIncarnations map[string]uint64 `json:"service_incarnations,omitempty"`
}

func (m *Manager) rumorPath() string { return filepath.Join(m.dataDir, m.ring.LocalID+".rst") }

// saveRumors persists applied configs and files (the original's rumor
// store file), so that they survive a restart.
func (m *Manager) saveRumors() {
	var rf rumorFile
	for _, g := range m.ring.Configs.All() {
		for _, c := range g {
			rf.Configs = append(rf.Configs, c)
		}
	}
	for _, g := range m.ring.Files.All() {
		for _, f := range g {
			rf.Files = append(rf.Files, f)
		}
	}
	if m.gossip != nil {
		rf.ServiceIncarnations = m.gossip.serviceIncarnations()
	}
	b, err := json.Marshal(rf)
	if err != nil {
		return
	}
	tmp := m.rumorPath() + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err == nil {
		_ = os.Rename(tmp, m.rumorPath())
	}
}

// loadRumors reads the rumor file back and returns the incarnations of
// this member's service rumors.
func (m *Manager) loadRumors() map[string]uint64 {
	b, err := os.ReadFile(m.rumorPath())
	if err != nil {
		return nil
	}
	var rf rumorFile
	if err := json.Unmarshal(b, &rf); err != nil {
		m.say("ignoring the unreadable rumor file %s: %v", m.rumorPath(), err)
		return nil
	}
	for _, c := range rf.Configs {
		m.ring.Configs.Insert(c)
	}
	for _, f := range rf.Files {
		m.ring.Files.Insert(f)
	}
	return rf.ServiceIncarnations
}

// Signal sends sig to the supervisor that holds the LOCK of root
// (SIGTERM: hab sup term; SIGHUP: hab sup restart). found is false when
// none runs. The holder is found in /proc/locks, whose PIDs are those of
// the caller's PID namespace, never taken from the file: a supervisor
// started in a studio (another PID namespace) wrote a PID that names
// another process here, and a stale file names whatever has that PID now.
func Signal(root paths.Root, sig syscall.Signal) (pid int, found bool, err error) {
	path := LockFile(root)
	pid, held, err := lockHolder(path)
	if err != nil || !held {
		return 0, false, err
	}
	if pid <= 0 {
		return 0, true, fmt.Errorf("the supervisor holding %s runs in another PID namespace (a studio?): stop it from there", path)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return pid, false, nil
		}
		return pid, true, fmt.Errorf("signal supervisor %d: %w", pid, err)
	}
	return pid, true, nil
}

// lockHolder reports whether a process holds the flock of path and, when
// it is visible in this PID namespace, its PID (0 when it is not).
func lockHolder(path string) (pid int, held bool, err error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, false, nil
		}
		return 0, false, fmt.Errorf("supervisor lock: %w", err)
	}
	locks, err := os.ReadFile("/proc/locks")
	if err != nil {
		return 0, false, fmt.Errorf("find the supervisor holding %s: %w", path, err)
	}
	if pid, ok := flockHolder(string(locks), uint64(st.Dev), st.Ino); ok {
		return pid, true, nil
	}
	// No entry for the file's device and inode (a file system that reports
	// another device than its locks carry, such as overlayfs): whether it
	// is held at all is still known by trying it.
	f, err := os.Open(path)
	if err != nil {
		return 0, false, fmt.Errorf("supervisor lock: %w", err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		return 0, true, nil
	}
	_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return 0, false, nil
}

// flockHolder finds the holder of the flock on the file (dev, ino) in the
// text of /proc/locks ("1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF";
// waiters are marked "->" and skipped).
func flockHolder(locks string, dev, ino uint64) (int, bool) {
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(dev), unix.Minor(dev), ino)
	for _, line := range strings.Split(locks, "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[1] != "FLOCK" || f[5] != want {
			continue
		}
		pid, err := strconv.Atoi(f[4])
		if err != nil {
			continue
		}
		return pid, true
	}
	return 0, false
}
