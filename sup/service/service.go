// Package service runs one loaded service: its directories, layered and
// templated configuration, lifecycle hooks, the run process in its own
// process group with restarts and backoff, health checks, binds and its
// rumor in the census.
package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/habgo/hab/core/pkgmeta"
	"github.com/habgo/hab/core/pkgs"
	"github.com/habgo/hab/core/svcgroup"
	"github.com/habgo/hab/core/templating"
	"github.com/habgo/hab/sup/census"
	"github.com/habgo/hab/sup/spec"
	"github.com/habgo/hab/sup/watch"
)

// Options are what every service of a supervisor shares.
type Options struct {
	Store *pkgs.Store
	// SvcRoot is FS_ROOT/hab/svc; UserRoot is FS_ROOT/hab/user; DataDir
	// is the supervisor's data directory.
	SvcRoot, UserRoot, DataDir string
	Ring                       *census.Ring
	// Configs and Files are the group's applied configuration and
	// uploaded files as the service uses them (encrypted ones opened);
	// nil reads Ring's.
	Configs *census.Store[census.ServiceConfig]
	Files   *census.Store[census.ServiceFile]
	// Org is the supervisor's organization (--org): the service's group
	// is SERVICE.GROUP@ORG.
	Org string
	// Publish puts the service's rumor out (in the census, and to the
	// ring when there is one); nil inserts it into Ring.Services.
	Publish func(census.Service)
	Sys     templating.SystemInfo
	// BaseEnv is the environment processes start from (KEY=VALUE);
	// Getenv reads the supervisor's environment for HAB_<PKGNAME>.
	BaseEnv []string
	Getenv  func(string) string
	// ExtraPath is appended to the PATH of hooks and the run process
	// (the supervisor's helper programs, such as chpst).
	ExtraPath string
	Out       io.Writer
	OutMu     *sync.Mutex
	Log       *slog.Logger
	// HookTimeout bounds every hook but health-check (bounded by the
	// health check interval) and the run process.
	HookTimeout                      time.Duration
	MinBackoff, MaxBackoff, Cooldown time.Duration
	// Tick is how often the service looks for changes in the census.
	Tick time.Duration
	// Watch tells the service when its user.toml's directory changes;
	// nil: the service starts a watcher of its own. Without one (inotify
	// refused) user.toml is read again every Tick.
	Watch *watch.Watcher
	// HealthChecked, when set, is told every health check's outcome (the
	// event stream's health check events).
	HealthChecked func(*Service, HealthCheck)
}

// HealthCheck is one health check's outcome.
type HealthCheck struct {
	Result string // HealthOK, HealthWarning, HealthCritical or HealthUnknown
	// Hook is true when a health-check hook ran (or was tried): then
	// Duration is how long it took, and when it exited by itself
	// Exited is true with ExitCode, Stdout and Stderr what it wrote
	// (up to the last MaxHookOutput bytes of each).
	Hook           bool
	Duration       time.Duration
	Exited         bool
	ExitCode       int
	Stdout, Stderr string
	// Interval is how long until the next health check.
	Interval time.Duration
}

// Health check results.
const (
	HealthOK       = "OK"
	HealthWarning  = "WARNING"
	HealthCritical = "CRITICAL"
	HealthUnknown  = "UNKNOWN"
)

// Status is a snapshot of a service, for the gateways.
type Status struct {
	Spec           spec.Spec
	Ident          string
	PID            int
	Up             bool
	StateEntered   time.Time
	Initialized    bool
	Health         string
	HealthStdout   string
	HealthStderr   string
	RestartCount   int
	NextRestartAt  time.Time
	Cfg            *templating.Object
	Pkg            templating.Package
	LastExit       string
	LastExitPID    int
	LastExitAt     time.Time
	BindsSatisfied bool
	Hooks          []string
	Error          string
}

// Service is one loaded service.
type Service struct {
	opts   Options
	spec   spec.Spec
	pkg    *pkgs.Package
	meta   *pkgmeta.Metadata
	id     Identity
	dirs   Dirs
	sg     string
	prefix string
	log    *slog.Logger

	binds         []boundGroup
	configDir     string
	hooksDir      string
	defaultConfig *templating.Object
	envConfig     *templating.Object

	kick chan struct{}
	done chan struct{}

	mu             sync.Mutex
	proc           *proc
	initialized    bool
	health         string
	healthOut      string
	healthErr      string
	healthRunning  bool
	suitRunning    bool
	suitRan        bool
	suitHook       string // the suitability hook as it last ran
	nextHealth     time.Time
	restarts       int
	backoff        time.Duration
	nextRestart    time.Time
	stateEntered   time.Time
	current        *rendered
	lastInputs     refreshInputs
	userCfg        *templating.Object
	userRaw        string
	userRead       []byte      // user.toml as last read
	userStale      atomic.Bool // user.toml must be read again
	keepRunning    atomic.Bool // when Run ends, hand the run process over instead of stopping it (KeepRunning)
	polling        atomic.Bool // no watch: user.toml is read at every look
	gossipCfg      *templating.Object
	gossipInc      uint64
	lastErr        string
	lastExit       string
	lastExitPID    int
	lastExitAt     time.Time
	bindsSatisfied bool
	bindsWaitShown bool
	pendingAction  changes
	published      string
	filesWritten   map[string]uint64
	stopTimeout    time.Duration
	stopped        bool
}

type boundGroup struct {
	bind     spec.Bind
	exports  []string
	required bool
}

// New prepares a service from its spec and the installed package: reads
// the package's metadata and default configuration, resolves who runs
// it, checks its binds, and creates its directories. It does not start
// anything.
func New(opts Options, sp spec.Spec, p *pkgs.Package) (*Service, error) {
	m, err := p.Metadata()
	if err != nil {
		return nil, err
	}
	if opts.Configs == nil {
		opts.Configs = opts.Ring.Configs
	}
	if opts.Files == nil {
		opts.Files = opts.Ring.Files
	}
	s := &Service{
		opts: opts, spec: sp, pkg: p, meta: m,
		sg:           withOrg(sp.ServiceGroup(), opts.Org),
		kick:         make(chan struct{}, 1),
		done:         make(chan struct{}),
		health:       HealthUnknown,
		filesWritten: map[string]uint64{},
	}
	s.prefix = s.sg
	s.log = opts.Log.With("service", s.sg)
	s.dirs = Dirs{Root: filepath.Join(opts.SvcRoot, m.Ident.Name)}
	s.configDir, s.hooksDir = p.ConfigDir(), p.HooksDir()
	def, err := p.DefaultConfig()
	if err != nil {
		return nil, err
	}
	if sp.ConfigFrom != "" {
		s.configDir, s.hooksDir = filepath.Join(sp.ConfigFrom, "config"), filepath.Join(sp.ConfigFrom, "hooks")
		def, err = os.ReadFile(filepath.Join(sp.ConfigFrom, "default.toml"))
		if errors.Is(err, os.ErrNotExist) {
			def, err = nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read default.toml of --config-from %s: %w", sp.ConfigFrom, err)
		}
	}
	s.defaultConfig = templating.NewObject()
	if def != nil {
		if s.defaultConfig, err = templating.ParseTOML(filepath.Join(p.Path, "default.toml"), def); err != nil {
			return nil, fmt.Errorf("default configuration of %s: %w", p.Ident, err)
		}
	}
	if s.envConfig, err = templating.EnvConfig(m.Ident.Name, opts.Getenv); err != nil {
		return nil, fmt.Errorf("configuration of %s: %w", p.Ident, err)
	}
	if s.binds, err = checkBinds(m, sp.Binds); err != nil {
		return nil, err
	}
	if s.id, err = ResolveIdentity(m.SvcUser, m.SvcGroup, func(w string) { s.log.Warn(w) }); err != nil {
		return nil, fmt.Errorf("service %s: %w", s.sg, err)
	}
	if err := s.dirs.Create(s.id); err != nil {
		return nil, err
	}
	return s, nil
}

// CheckBinds checks a spec's binds against the package's: every bind
// declared, every required bind given.
func CheckBinds(m *pkgmeta.Metadata, binds []string) error {
	_, err := checkBinds(m, binds)
	return err
}

func checkBinds(m *pkgmeta.Metadata, binds []string) ([]boundGroup, error) {
	req, opt := map[string][]string{}, map[string][]string{}
	for _, b := range m.Binds {
		req[b.Name] = b.Exports
	}
	for _, b := range m.BindsOptional {
		opt[b.Name] = b.Exports
	}
	given := map[string]bool{}
	var out []boundGroup
	for _, raw := range binds {
		b, err := spec.ParseBind(raw)
		if err != nil {
			return nil, err
		}
		exports, required, ok := bindExports(b, req, opt)
		if !ok {
			return nil, fmt.Errorf("invalid bind %q: %s does not declare a bind named %q (its binds: %s)", raw, m.Ident, b.Name, bindList(req, opt))
		}
		given[b.Name] = true
		out = append(out, boundGroup{bind: b, exports: exports, required: required})
	}
	var missing []string
	for name := range req {
		if !given[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing required bind(s) for %s: %s (load it with --bind NAME:SERVICE.GROUP)", m.Ident, strings.Join(missing, ", "))
	}
	return out, nil
}

func bindList(req, opt map[string][]string) string {
	var names []string
	for n := range req {
		names = append(names, n)
	}
	for n := range opt {
		names = append(names, n+" (optional)")
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// Spec is the service's spec.
func (s *Service) Spec() spec.Spec {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spec
}

// ServiceGroup is SERVICE.GROUP[@ORG].
func (s *Service) ServiceGroup() string { return s.sg }

// Ident is the installed package's ident.
func (s *Service) Ident() string { return s.pkg.Ident.String() }

// SetDesiredState changes the desired state (up or down) of a running
// service without restarting it otherwise.
func (s *Service) SetDesiredState(state string) {
	s.mu.Lock()
	s.spec.DesiredState = state
	if state == spec.StateUp {
		s.nextRestart = time.Time{}
	}
	s.mu.Unlock()
	s.Kick()
}

// Kick makes the service look for changes now.
func (s *Service) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Done is closed when Run has returned.
func (s *Service) Done() <-chan struct{} { return s.done }

// SetStopTimeout overrides the shutdown timeout of the next stop.
func (s *Service) SetStopTimeout(d time.Duration) {
	s.mu.Lock()
	s.stopTimeout = d
	s.mu.Unlock()
}

func (s *Service) say(format string, a ...any) {
	s.opts.OutMu.Lock()
	defer s.opts.OutMu.Unlock()
	fmt.Fprintf(s.opts.Out, "%s(SV): %s\n", s.prefix, fmt.Sprintf(format, a...))
}

// Run looks after the service until ctx ends, then stops its process
// (signal, then kill after the shutdown timeout), runs post-stop and
// withdraws its rumor.
func (s *Service) Run(ctx context.Context) {
	defer close(s.done)
	tick := s.opts.Tick
	if tick <= 0 {
		tick = 200 * time.Millisecond
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	userChanged, stopWatch := s.watchUserTOML()
	defer stopWatch()
	for {
		s.step(ctx)
		var exited <-chan struct{}
		s.mu.Lock()
		if s.proc != nil {
			exited = s.proc.done
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			if !s.handOver() {
				s.stopProcess()
			}
			s.opts.Ring.Services.Remove(s.sg, s.opts.Ring.LocalID)
			s.opts.Ring.ForgetSuitability(s.sg)
			return
		case <-s.kick:
		case <-t.C:
		case <-exited:
		case <-userChanged:
			s.userStale.Store(true)
		}
	}
}

// watchUserTOML watches the directory of user.toml (which may not exist
// yet) and returns the channel that says it changed. When no watch can
// be had, user.toml is read at every step instead, as a poll.
func (s *Service) watchUserTOML() (<-chan struct{}, func()) {
	s.userStale.Store(true)
	w := s.opts.Watch
	closeW := func() {}
	if w == nil {
		var err error
		if w, err = watch.New(); err != nil {
			s.log.Warn("user.toml is read again at every look", "err", err)
			s.polling.Store(true)
			return nil, closeW
		}
		closeW = func() { w.Close() }
	}
	d, err := w.Watch(filepath.Dir(s.userTOMLPath()))
	if err != nil {
		closeW()
		s.log.Warn("user.toml is read again at every look", "err", err)
		s.polling.Store(true)
		return nil, func() {}
	}
	return d.Changed(), func() { d.Close(); closeW() }
}

// userTOML is user.toml's content (nil when absent): read again only
// when its directory changed, or at every look without a watch.
func (s *Service) userTOML() []byte {
	if !s.userStale.Swap(s.polling.Load()) {
		return s.userRead
	}
	raw, err := os.ReadFile(s.userTOMLPath())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		s.problem(fmt.Sprintf("read %s: %v", s.userTOMLPath(), err))
		s.userStale.Store(true) // try again at the next look
	}
	s.userRead = raw
	return raw
}

// stepCtx bounds the hooks one step runs.
func (s *Service) step(ctx context.Context) {
	s.mu.Lock()
	desired := s.spec.DesiredState
	s.mu.Unlock()
	if desired == spec.StateDown {
		if s.stopProcess() {
			s.opts.Ring.Services.Remove(s.sg, s.opts.Ring.LocalID)
			s.mu.Lock()
			s.published = ""
			s.mu.Unlock()
		}
		return
	}
	s.refresh(ctx)
	s.mu.Lock()
	cur := s.current
	satisfied := s.bindsSatisfied
	s.mu.Unlock()
	if cur == nil {
		return
	}
	if !satisfied && s.spec.BindingMode == "strict" && !s.running() {
		s.mu.Lock()
		shown := s.bindsWaitShown
		s.bindsWaitShown = true
		s.mu.Unlock()
		if !shown {
			s.say("Waiting for the service groups of its binds to be present (strict binding mode): %s", strings.Join(s.bindNames(), ", "))
		}
		return
	}
	s.writeFiles(ctx)
	if !s.isInitialized() {
		if time.Now().Before(s.nextRestartAt()) {
			return
		}
		if !s.runInit(ctx) {
			s.scheduleRestart()
			return
		}
	}
	s.superviseProcess(ctx)
	s.startHealthCheck(ctx)
	s.startSuitability(ctx)
}

// startSuitability runs the suitability hook in the background once the
// service is initialized and again whenever it renders differently (it
// may read cfg), and records its answer in the ring for the group's
// elections.
func (s *Service) startSuitability(ctx context.Context) {
	s.mu.Lock()
	cur := s.current
	if s.suitRunning || cur == nil || !s.initialized {
		s.mu.Unlock()
		return
	}
	hook, ok := cur.hooks[HookSuitability]
	if !ok || (s.suitRan && hook == s.suitHook) {
		s.mu.Unlock()
		return
	}
	s.suitRunning, s.suitRan, s.suitHook = true, true, hook
	s.mu.Unlock()
	go func() {
		v, why := s.suitability(ctx)
		s.mu.Lock()
		s.suitRunning = false
		s.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		s.opts.Ring.SetSuitability(s.sg, v)
		if why != "" {
			s.say("Suitability is %d: %s", v, why)
		} else {
			s.say("Suitability is %d", v)
		}
	}()
}

// suitability runs the suitability hook: when it exits 0, the last line
// of its standard output, trimmed, is the suitability (an unsigned 64-bit
// integer, as Rust's u64 parses it: an optional "+", decimal digits);
// otherwise the suitability is 0, as the original's, and why says what
// went wrong. As in the original, a blank last line (the hook ended with
// an empty line) is not a number, and no output is an answer of 0.
func (s *Service) suitability(ctx context.Context) (v uint64, why string) {
	var out lastLine
	code, _, err := s.runNamedHookOut(ctx, HookSuitability, s.opts.HookTimeout, &out)
	if err != nil {
		return 0, fmt.Sprintf("the suitability hook failed: %v", err)
	}
	if code != 0 {
		return 0, fmt.Sprintf("the suitability hook exited %d", code)
	}
	last, ok := out.line()
	if !ok {
		return 0, "the suitability hook printed nothing to its standard output"
	}
	n, err := parseSuitability(last)
	if err != nil {
		return 0, fmt.Sprintf("the last line of the suitability hook's output, %q, is not an unsigned 64-bit integer", last)
	}
	return n, ""
}

// parseSuitability reads a suitability line as the original does: the
// line trimmed of white space, then an optional "+" and decimal digits
// that fit in 64 bits.
func parseSuitability(line string) (uint64, error) {
	t, _ := strings.CutPrefix(strings.TrimSpace(line), "+")
	n, err := strconv.ParseUint(t, 10, 64) // no sign of its own: "++1" and "+-1" fail
	if err != nil {
		return 0, err
	}
	return n, nil
}

// lastLine is a writer that keeps only the last line written to it, so a
// hook that prints much holds no more than its longest line.
type lastLine struct {
	last, cur []byte // the last line ended by a newline; the line after it
	ended     bool   // a line was ended
}

func (l *lastLine) Write(p []byte) (int, error) {
	n := len(p)
	for {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.cur = append(l.cur, p...)
			return n, nil
		}
		l.cur = append(l.cur, p[:i]...)
		l.last, l.cur = l.cur, l.last[:0]
		l.ended = true
		p = p[i+1:]
	}
}

// line is the last line, as Rust's BufRead::lines reads it (a final
// newline ends a line, it does not start an empty one); ok is false when
// nothing was written.
func (l *lastLine) line() (string, bool) {
	if len(l.cur) > 0 {
		return string(l.cur), true
	}
	return string(l.last), l.ended
}

func (s *Service) bindNames() []string {
	var out []string
	for _, b := range s.binds {
		if b.required {
			out = append(out, b.bind.Name+"="+b.bind.Group.String())
		}
	}
	return out
}

func (s *Service) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil && !s.proc.exited()
}

func (s *Service) isInitialized() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.initialized
}

func (s *Service) nextRestartAt() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nextRestart
}

// userTOMLPath is FS_ROOT/hab/user/NAME/config/user.toml.
func (s *Service) userTOMLPath() string {
	return filepath.Join(s.opts.UserRoot, s.meta.Ident.Name, "config", "user.toml")
}

// refreshInputs is what a render depends on besides the package: when
// none of it changed since the last refresh there is nothing to render.
type refreshInputs struct {
	user         string // user.toml as read
	gossipInc    uint64 // incarnation of the applied configuration
	ringVersion  uint64 // any change in the census (binds)
	desiredState string
}

// refresh reads the configuration layers and the census; when anything
// changed it renders again, and when that changed what was rendered it
// writes it and decides between restart and reconfigure.
func (s *Service) refresh(ctx context.Context) {
	userRaw := s.userTOML()
	gossip, hasGossip := s.opts.Configs.Get(s.sg, "service_config")
	inputs := refreshInputs{string(userRaw), gossip.Incarnation, s.opts.Ring.Version(), s.spec.DesiredState}
	s.mu.Lock()
	same := inputs == s.lastInputs
	s.lastInputs = inputs
	s.mu.Unlock()
	if same {
		return
	}
	s.mu.Lock()
	if string(userRaw) != s.userRaw {
		s.userRaw = string(userRaw)
		if len(userRaw) == 0 {
			s.userCfg = nil
		} else if u, err := templating.ParseTOML(s.userTOMLPath(), userRaw); err != nil {
			s.mu.Unlock()
			s.problem(fmt.Sprintf("user configuration %s is not valid TOML, keeping the previous configuration: %v", s.userTOMLPath(), err))
			s.mu.Lock()
		} else {
			s.userCfg = u
		}
	}
	if hasGossip && gossip.Incarnation > s.gossipInc {
		if g, err := templating.ParseTOML(s.sg+" configuration", []byte(gossip.Config)); err != nil {
			s.mu.Unlock()
			s.problem(fmt.Sprintf("applied configuration %d of %s is not valid TOML: %v", gossip.Incarnation, s.sg, err))
			s.mu.Lock()
		} else {
			s.gossipCfg, s.gossipInc = g, gossip.Incarnation
		}
	}
	layers := templating.Config{Default: s.defaultConfig, User: s.userCfg, Gossip: s.gossipCfg, Environment: s.envConfig}
	s.mu.Unlock()
	cfg, err := layers.Merged()
	if err != nil {
		s.problem(fmt.Sprintf("configuration of %s: %v", s.sg, err))
		return
	}
	rctx, satisfied := s.renderContext(cfg)
	now, err := renderAll(s.opts.Store.Dir, s.configDir, s.hooksDir, filepath.Join(s.pkg.Path, "run"), rctx)
	if err != nil {
		s.problem(fmt.Sprintf("%v; the previous configuration stays in place", err))
		return
	}
	s.mu.Lock()
	old := s.current
	s.bindsSatisfied = satisfied
	s.mu.Unlock()
	c := diff(old, now)
	if !c.any && old != nil {
		s.mu.Lock()
		s.current = now // the merged cfg may differ in what no template uses
		s.mu.Unlock()
		s.publish()
		return
	}
	if err := now.write(s.dirs, s.id); err != nil {
		s.problem(err.Error())
		return
	}
	s.mu.Lock()
	s.current = now
	s.lastErr = ""
	if old != nil {
		s.pendingAction.config = s.pendingAction.config || c.config
		s.pendingAction.restartHook = s.pendingAction.restartHook || c.restartHook
		s.pendingAction.reconfigure = s.pendingAction.reconfigure || c.reconfigure
	}
	s.mu.Unlock()
	if old != nil {
		s.say("Configuration rendered again")
	}
	s.publish()
}

// problem logs a problem once until it changes.
func (s *Service) problem(msg string) {
	s.mu.Lock()
	same := s.lastErr == msg
	s.lastErr = msg
	s.mu.Unlock()
	if !same {
		s.say("%s", msg)
		s.log.Error(msg)
	}
}

// renderContext builds sys, pkg, cfg, svc and bind, and reports whether
// every required bind is satisfied.
func (s *Service) renderContext(cfg *templating.Object) (templating.RenderContext, bool) {
	pkg := s.pkgContext()
	sys := s.opts.Sys
	me := s.localMember(cfg)
	members := s.opts.Ring.Members(s.sg)
	found := false
	for _, mm := range members {
		found = found || mm.MemberID == me.MemberID
	}
	if !found {
		members = append(members, me)
	}
	sg := s.spec.ServiceGroup()
	svc := &templating.Svc{Service: sg.Service, Group: sg.Group, Me: me, Members: members, First: members[0]}
	if sg.Organization != "" {
		svc.Org = &sg.Organization
	}
	s.opts.Ring.Elect(s.sg, svc)
	binds := map[string]templating.BindGroup{}
	satisfied := true
	for _, b := range s.binds {
		bg, ok := s.opts.Ring.BindGroup(b.bind.Group.String(), b.exports)
		if ok {
			binds[b.bind.Name] = bg
		} else if b.required {
			satisfied = false
		}
	}
	return templating.RenderContext{Sys: &sys, Pkg: pkg, Cfg: cfg, Svc: svc, Bind: binds}, satisfied
}

func (s *Service) localMember(cfg *templating.Object) templating.SvcMember {
	id := s.meta.Ident
	pi, pstr := templating.MemberPkg(id.Origin, id.Name, id.Version, id.Release)
	sg := s.spec.ServiceGroup()
	sys := s.opts.Sys
	m := templating.SvcMember{
		MemberID: sys.MemberID, Pkg: pi, Package: pstr, Service: sg.Service, Group: sg.Group,
		Persistent: true, Alive: true, Cfg: exported(cfg, s.meta.Exports),
		Sys: s.localMemberSys(),
	}
	if sg.Organization != "" {
		m.Org = &sg.Organization
	}
	return m
}

// localMemberSys is this supervisor as a census member's sys.
func (s *Service) localMemberSys() templating.MemberSys {
	sys := s.opts.Sys
	return templating.MemberSys{IP: sys.IP, Hostname: sys.Hostname, GossipIP: sys.GossipIP, GossipPort: uint32(sys.GossipPort),
		HTTPGatewayIP: sys.HTTPGatewayIP, HTTPGatewayPort: uint32(sys.HTTPGatewayPort), CtlGatewayIP: sys.CtlGatewayIP, CtlGatewayPort: uint32(sys.CtlGatewayPort)}
}

// publish puts the service's rumor in the census when its process runs
// and what it exports changed; its incarnation rises each time.
func (s *Service) publish() {
	s.mu.Lock()
	cur := s.current
	up := s.proc != nil && !s.proc.exited()
	init := s.initialized
	s.mu.Unlock()
	if cur == nil || !up {
		return
	}
	cfg := exported(cur.cfg, s.meta.Exports)
	b, _ := cfg.MarshalJSON()
	key := fmt.Sprintf("%s|%t", b, init)
	s.mu.Lock()
	if key == s.published {
		s.mu.Unlock()
		return
	}
	s.published = key
	s.mu.Unlock()
	inc := uint64(1)
	if old, ok := s.opts.Ring.Services.Get(s.sg, s.opts.Ring.LocalID); ok {
		inc = old.Incarnation + 1
	}
	rumor := census.Service{
		MemberID: s.opts.Ring.LocalID, ServiceGroup: s.sg, Incarnation: inc, Initialized: init,
		Pkg: s.pkg.Ident.String(), Cfg: cfg,
		Sys: s.localMemberSys(),
	}
	if s.opts.Publish != nil {
		s.opts.Publish(rumor)
		return
	}
	s.opts.Ring.Services.Insert(rumor)
}

// hookCmd builds the command of a rendered hook (or the run script).
func (s *Service) hookCmd(ctx context.Context, path string) (*exec.Cmd, error) {
	base := append([]string{}, s.opts.BaseEnv...)
	cmd, err := s.opts.Store.Command(ctx, s.pkg, base, path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if s.opts.ExtraPath != "" {
		for i, kv := range cmd.Env {
			if strings.HasPrefix(kv, "PATH=") {
				cmd.Env[i] = kv + ":" + s.opts.ExtraPath
			}
		}
	}
	cmd.Env = append(cmd.Env, "HAB_SVC_GROUP="+s.sg)
	return cmd, nil
}

// runNamedHook runs a rendered hook when the package has it: ran is
// false when it has none.
func (s *Service) runNamedHook(ctx context.Context, name string, timeout time.Duration) (code int, ran bool, err error) {
	return s.runNamedHookOut(ctx, name, timeout, nil)
}

// runNamedHookOut is runNamedHook that also writes the hook's standard
// output lines to stdout (when not nil).
func (s *Service) runNamedHookOut(ctx context.Context, name string, timeout time.Duration, stdout io.Writer) (code int, ran bool, err error) {
	s.mu.Lock()
	cur := s.current
	s.mu.Unlock()
	if cur == nil {
		return 0, false, nil
	}
	if _, ok := cur.hooks[name]; !ok {
		return 0, false, nil
	}
	path := filepath.Join(s.dirs.Hooks(), name)
	cmd, err := s.hookCmd(ctx, path)
	if err != nil {
		return -1, true, err
	}
	prefix := fmt.Sprintf("%s hook[%s]:", s.sg, name)
	o := s.startOpts(prefix+"(HK): ", prefix+"(HK): ", name)
	o.stdout = stdout
	code, err = runHook(ctx, cmd, o, timeout)
	if err != nil {
		s.say("%s hook %s", name, err)
	}
	return code, true, err
}

func (s *Service) startOpts(outPrefix, errPrefix, logName string) startOpts {
	return startOpts{
		id: s.id, dir: s.dirs.Root, prefixOut: outPrefix, prefixErr: errPrefix,
		out: s.opts.Out, outMu: s.opts.OutMu,
		stdoutLog: filepath.Join(s.dirs.Logs(), logName+".stdout.log"),
		stderrLog: filepath.Join(s.dirs.Logs(), logName+".stderr.log"),
	}
}

// runInit runs the init hook (if any) and reports whether it succeeded.
func (s *Service) runInit(ctx context.Context) bool {
	code, ran, err := s.runNamedHook(ctx, HookInit, s.opts.HookTimeout)
	if ran && (err != nil || code != 0) {
		s.say("Initialization failed! (init hook exited %d)", code)
		return false
	}
	s.mu.Lock()
	s.initialized = true
	s.mu.Unlock()
	return true
}

// scheduleRestart sets the next start after a backoff: the minimum
// first, then a random wait between the minimum and three times the last,
// capped at the maximum (a maximum under the minimum is the minimum).
func (s *Service) scheduleRestart() {
	s.mu.Lock()
	defer s.mu.Unlock()
	min, max := s.opts.MinBackoff, s.opts.MaxBackoff
	if max < min {
		max = min
	}
	if s.backoff == 0 {
		s.backoff = min
	} else if hi := s.backoff * 3; hi > min {
		s.backoff = min + time.Duration(rand.Int64N(int64(hi-min)+1))
	}
	if s.backoff > max {
		s.backoff = max
	}
	s.nextRestart = time.Now().Add(s.backoff)
}

// superviseProcess starts the run process when it is not running (after
// the backoff), restarts it when a restart hook changed, or runs
// reconfigure when only configuration changed.
func (s *Service) superviseProcess(ctx context.Context) {
	s.mu.Lock()
	p := s.proc
	action := s.pendingAction
	s.pendingAction = changes{}
	s.mu.Unlock()
	if p != nil && p.exited() {
		s.reapExited(p)
		p = nil
	}
	if p == nil {
		if time.Now().Before(s.nextRestartAt()) {
			return
		}
		s.startProcess(ctx)
		return
	}
	_, hasReconfigure := s.current.hooks[HookReconfigure]
	switch {
	case action.restartHook || (action.config && !hasReconfigure):
		s.say("Restarting because the configuration or a hook changed")
		s.stopProcess()
		s.mu.Lock()
		s.backoff, s.nextRestart = 0, time.Time{}
		s.mu.Unlock()
		s.startProcess(ctx)
	case action.config || action.reconfigure:
		code, ran, err := s.runNamedHook(ctx, HookReconfigure, s.opts.HookTimeout)
		if ran && err == nil && code != 0 {
			s.say("reconfigure hook exited %d", code)
		}
		s.mu.Lock()
		s.nextHealth = time.Time{}
		s.mu.Unlock()
	}
}

// reapExited records a process that exited by itself and schedules its
// restart.
func (s *Service) reapExited(p *proc) {
	killTree(p.pid, syscall.SIGKILL)
	p.copies.Wait()
	how := "exited"
	if p.state != nil {
		how = p.state.String()
	}
	s.say("Service process %d %s; restarting", p.pid, how)
	ranFor := time.Since(p.started)
	s.mu.Lock()
	s.proc = nil
	s.lastExit, s.lastExitPID, s.lastExitAt = how, p.pid, time.Now()
	s.restarts++
	s.stateEntered = time.Now()
	if s.opts.Cooldown > 0 && ranFor >= s.opts.Cooldown {
		s.backoff = 0
	}
	s.mu.Unlock()
	os.Remove(s.dirs.PID())
	s.removeProcRecord()
	s.scheduleRestart()
}

func (s *Service) startProcess(ctx context.Context) {
	s.mu.Lock()
	cur := s.current
	s.mu.Unlock()
	if cur == nil || cur.run == "" {
		s.problem(fmt.Sprintf("%s has no run hook and no run script: nothing to run", s.pkg.Ident))
		return
	}
	cmd, err := s.hookCmd(context.Background(), s.dirs.Run())
	if err != nil {
		s.problem(fmt.Sprintf("start %s: %v", s.sg, err))
		s.scheduleRestart()
		return
	}
	p, err := start(cmd, s.startOpts(s.prefix+"(O): ", s.prefix+"(E): ", "run"))
	if err != nil {
		s.problem(fmt.Sprintf("start %s: %v", s.sg, err))
		s.scheduleRestart()
		return
	}
	s.mu.Lock()
	s.proc = p
	s.stateEntered = p.started
	s.nextHealth = time.Time{}
	s.mu.Unlock()
	s.say("Starting service as user=%s, group=%s (PID %d)", s.id.User, s.id.Group, p.pid)
	_ = os.WriteFile(s.dirs.PID(), []byte(strconv.Itoa(p.pid)+"\n"), 0o644)
	s.writeProcRecord(p.pid)
	s.publish()
	if _, ok := cur.hooks[HookPostRun]; ok {
		go s.postRun(ctx, p)
	}
}

// postRun runs post-run until it exits 0, while p runs. The original
// retries at once; a pause that doubles from 100 ms to 5 s keeps a hook
// that keeps failing from forking in a loop.
func (s *Service) postRun(ctx context.Context, p *proc) {
	pause := 100 * time.Millisecond
	for !p.exited() && ctx.Err() == nil {
		code, _, err := s.runNamedHook(ctx, HookPostRun, s.opts.HookTimeout)
		if err == nil && code == 0 {
			return
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
		case <-p.done:
		case <-t.C:
		}
		t.Stop()
		pause = min(2*pause, 5*time.Second)
	}
}

// stopProcess stops the run process, if any: the shutdown signal to its
// group and descendants, then SIGKILL after the shutdown timeout; then
// post-stop. It reports whether there was a process.
func (s *Service) stopProcess() bool {
	s.mu.Lock()
	p := s.proc
	timeout := s.stopTimeout
	s.mu.Unlock()
	if p == nil {
		return false
	}
	if timeout == 0 {
		timeout = s.shutdownTimeout()
	}
	sig := signalNamed(s.meta.ShutdownSignal)
	s.say("Terminating service (PID: %d)", p.pid)
	outcome := p.stop(sig, timeout)
	p.copies.Wait()
	s.say("%s", outcome)
	// The process stayed the service's until it was gone, so that its
	// status says down only now.
	s.mu.Lock()
	if s.proc == p {
		s.proc = nil
	}
	s.lastExit, s.lastExitPID, s.lastExitAt = "stopped", p.pid, time.Now()
	s.stateEntered = time.Now()
	s.mu.Unlock()
	os.Remove(s.dirs.PID())
	s.removeProcRecord()
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.HookTimeout)
	defer cancel()
	s.runNamedHook(ctx, HookPostStop, s.opts.HookTimeout)
	return true
}

// shutdownTimeout: the spec's, else the package's SHUTDOWN_TIMEOUT, else
// 8 seconds.
func (s *Service) shutdownTimeout() time.Duration {
	if s.spec.ShutdownTimeout != nil {
		return time.Duration(*s.spec.ShutdownTimeout) * time.Second
	}
	if s.meta.ShutdownTimeout != nil {
		return time.Duration(*s.meta.ShutdownTimeout) * time.Second
	}
	return DefaultShutdownTimeout
}

// DefaultShutdownTimeout is how long a stopped service's process has
// between its shutdown signal and SIGKILL when neither its spec nor its
// package says.
const DefaultShutdownTimeout = 8 * time.Second

var signals = map[string]syscall.Signal{
	"TERM": syscall.SIGTERM, "INT": syscall.SIGINT, "QUIT": syscall.SIGQUIT, "HUP": syscall.SIGHUP,
	"KILL": syscall.SIGKILL, "USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2, "ALRM": syscall.SIGALRM,
}

func signalNamed(name string) syscall.Signal {
	if sig, ok := signals[strings.TrimPrefix(strings.ToUpper(name), "SIG")]; ok {
		return sig
	}
	return syscall.SIGTERM
}

// startHealthCheck runs the health check when it is due, in the
// background: the health-check hook (bounded by the interval), or else
// OK while the process runs and CRITICAL when it does not.
func (s *Service) startHealthCheck(ctx context.Context) {
	s.mu.Lock()
	if s.healthRunning || time.Now().Before(s.nextHealth) {
		s.mu.Unlock()
		return
	}
	s.healthRunning = true
	s.mu.Unlock()
	interval := time.Duration(s.spec.HealthCheckInterval.Secs)*time.Second + time.Duration(s.spec.HealthCheckInterval.Nanos)
	if interval <= 0 {
		interval = time.Second
	}
	go func() {
		result := HealthUnknown
		outLog := filepath.Join(s.dirs.Logs(), HookHealthCheck+".stdout.log")
		errLog := filepath.Join(s.dirs.Logs(), HookHealthCheck+".stderr.log")
		outAt, errAt := logSize(outLog), logSize(errLog)
		began := time.Now()
		code, ran, err := s.runNamedHook(ctx, HookHealthCheck, interval)
		took := time.Since(began)
		var out, errOut string
		switch {
		case !ran && s.running():
			result = HealthOK
		case !ran:
			result = HealthCritical
		case err != nil:
			result = HealthUnknown
		default:
			result = map[int]string{0: HealthOK, 1: HealthWarning, 2: HealthCritical, 3: HealthUnknown}[code]
			if result == "" {
				result = HealthUnknown
			}
		}
		if ran {
			out, errOut = logTail(outLog, 20), logTail(errLog, 20)
		}
		wait := interval
		if result != HealthOK && wait > 30*time.Second {
			wait = 30 * time.Second
		}
		s.mu.Lock()
		s.health, s.healthOut, s.healthErr = result, out, errOut
		s.healthRunning = false
		s.nextHealth = time.Now().Add(wait)
		s.mu.Unlock()
		if s.opts.HealthChecked != nil && ctx.Err() == nil {
			h := HealthCheck{Result: result, Interval: wait, Hook: ran}
			if ran {
				h.Duration = took
				h.Exited = err == nil
			}
			if h.Exited {
				h.ExitCode, h.Stdout, h.Stderr = code, logSince(outLog, outAt), logSince(errLog, errAt)
			}
			s.opts.HealthChecked(s, h)
		}
	}()
}

// writeFiles writes the group's uploaded files that are newer than what
// was written (0640, owned by the service's user), then runs file-updated.
func (s *Service) writeFiles(ctx context.Context) {
	files := s.opts.Files.Key(s.sg)
	changed := false
	for name, f := range files {
		s.mu.Lock()
		done := s.filesWritten[name] >= f.Incarnation
		s.mu.Unlock()
		if done {
			continue
		}
		p := filepath.Join(s.dirs.Files(), filepath.Base(name))
		if err := writeIfChanged(p, string(f.Body), 0o640, s.id); err != nil {
			s.problem(err.Error())
			continue
		}
		s.mu.Lock()
		s.filesWritten[name] = f.Incarnation
		s.mu.Unlock()
		changed = true
	}
	if changed && s.isInitialized() {
		s.runNamedHook(ctx, HookFileUpdated, s.opts.HookTimeout)
	}
}

func withOrg(g svcgroup.Group, org string) string {
	g.Organization = org
	return g.String()
}

// Status is a snapshot for the gateways.
func (s *Service) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{
		Spec: s.spec, Ident: s.pkg.Ident.String(), Initialized: s.initialized,
		Health: s.health, HealthStdout: s.healthOut, HealthStderr: s.healthErr,
		RestartCount: s.restarts, StateEntered: s.stateEntered, BindsSatisfied: s.bindsSatisfied,
		LastExit: s.lastExit, LastExitPID: s.lastExitPID, LastExitAt: s.lastExitAt, Error: s.lastErr,
	}
	if s.proc != nil && !s.proc.exited() {
		st.PID, st.Up = s.proc.pid, true
	}
	if time.Now().Before(s.nextRestart) {
		st.NextRestartAt = s.nextRestart
	}
	if s.current != nil {
		st.Cfg = s.current.cfg
		for h := range s.current.hooks {
			st.Hooks = append(st.Hooks, h)
		}
		sort.Strings(st.Hooks)
	}
	st.Pkg = s.pkgContext()
	return st
}

// pkgContext is the render context's pkg.
func (s *Service) pkgContext() templating.Package {
	m := s.meta
	id := m.Ident
	var deps []templating.PackageIdent
	for _, d := range m.Deps {
		pi, _ := templating.MemberPkg(d.Origin, d.Name, d.Version, d.Release)
		deps = append(deps, pi)
	}
	env := map[string]string{}
	for k, v := range m.RuntimeEnvironment {
		env[k] = v
	}
	return templating.Package{
		Ident: id.String(), Origin: id.Origin, Name: id.Name, Version: id.Version, Release: id.Release,
		Deps: deps, Env: env, Exposes: m.Exposes, Exports: m.Exports,
		Path: s.pkg.Path, SvcPath: s.dirs.Root, SvcConfigPath: s.dirs.Config(), SvcConfigInstallPath: s.dirs.ConfigInstall(),
		SvcDataPath: s.dirs.Data(), SvcFilesPath: s.dirs.Files(), SvcStaticPath: s.dirs.Static(), SvcVarPath: s.dirs.Var(),
		SvcPidFile: s.dirs.PID(), SvcRun: s.dirs.Run(), SvcUser: s.id.User, SvcGroup: s.id.Group,
	}
}

// procRecord is DataDir/NAME.proc: "PID STARTTIME" of the run process,
// which lets a supervisor that restarts after being killed find and end
// the process its predecessor left, rather than run a second one.
func (s *Service) procRecord() string {
	return filepath.Join(s.opts.DataDir, s.meta.Ident.Name+".proc")
}

func (s *Service) writeProcRecord(pid int) {
	st, ok := StartTime(pid)
	if !ok {
		return
	}
	_ = os.MkdirAll(s.opts.DataDir, 0o755)
	_ = os.WriteFile(s.procRecord(), []byte(fmt.Sprintf("%d %d\n", pid, st)), 0o644)
}

func (s *Service) removeProcRecord() { os.Remove(s.procRecord()) }

// EndLeftover ends the run process a previous supervisor left running
// (killed with SIGKILL, it could not stop it), with its whole tree: the
// shutdown signal, then SIGKILL after the shutdown timeout.
func (s *Service) EndLeftover() {
	b, err := os.ReadFile(s.procRecord())
	if err != nil {
		return
	}
	var pid int
	var st uint64
	if _, err := fmt.Sscanf(string(b), "%d %d", &pid, &st); err != nil || pid <= 1 {
		s.removeProcRecord()
		return
	}
	if now, ok := StartTime(pid); ok && now == st {
		s.say("Ending process %d left running by a previous supervisor", pid)
		exited, err := processExit(pid, st)
		if err != nil {
			s.log.Warn("cannot wait for the leftover process; it is killed at the shutdown timeout", "pid", pid, "err", err)
		}
		endTree(pid, exited, signalNamed(s.meta.ShutdownSignal), s.shutdownTimeout())
	}
	s.removeProcRecord()
	os.Remove(s.dirs.PID())
}
