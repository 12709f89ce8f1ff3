package manager

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgs"
	"github.com/habgo/hab/depot/client"
	"github.com/habgo/hab/sup/election"
	"github.com/habgo/hab/sup/spec"
	"github.com/habgo/hab/sup/update"
)

// DefaultUpdatePeriod is how often a service's update worker polls its
// channel (--service-update-period).
const DefaultUpdatePeriod = 60 * time.Second

// updaters runs an update worker (sup/update) for every loaded service
// whose strategy is not none, made from its spec's strategy, condition,
// depot URL and channel, and remade when those change. A worker moves its
// service by installing the release from the spec's depot channel and
// restarting the service with it; the release is pinned, so that a
// rollback (track-channel after a demotion) runs the older release
// although a newer one is installed.
type updaters struct {
	m *Manager

	mu      sync.Mutex
	workers map[string]*updateWorker // by service name
	pins    map[string]ident.Ident   // the release each moved service runs
	// pkgIncarnations are what this member announced in each group's
	// rolling update (census.Service.PkgIncarnation of its rumor).
	pkgIncarnations map[string]uint64

	// pending are the specs the manager read last (specsRead), not yet
	// reconciled with; wake tells run there are some.
	pending *loadedSpecs
	given   bool // specsRead has passed specs on once
	wake    chan struct{}

	// swept are the spec files (read or not) there were when reconcile
	// last removed the pins of services not loaded; nil before the first
	// time. Only reconcile uses it.
	swept map[string]bool
}

// loadedSpecs are the specs as the manager read them: the last good
// spec of each service, and the spec files that cannot be read now
// (bad: their service keeps its last good spec, when it had one).
type loadedSpecs struct {
	specs map[string]spec.Spec
	bad   map[string]bool
}

type updateWorker struct {
	made   spec.Spec // the spec it was made from
	group  string    // its service group, in the update election when rolling
	cancel context.CancelFunc
	done   chan struct{}
}

func newUpdaters(m *Manager) *updaters {
	return &updaters{m: m, workers: map[string]*updateWorker{}, pins: map[string]ident.Ident{}, pkgIncarnations: map[string]uint64{},
		wake: make(chan struct{}, 1)}
}

// release is the ident to start service name of spec sp with: the
// release its worker moved it to, else sp's ident. The move is kept in
// the service's pin file (sup/update.Pin), so that a restarted
// supervisor starts the pinned release at once, never the newer one a
// rollback left installed. A pin made under other update settings than
// sp's is stale and removed; one whose release is no longer installed
// is not used (the worker moves the service back again); an unreadable
// one is reported and not used.
func (u *updaters) release(name string, sp spec.Spec) ident.Ident {
	id, _ := ident.Parse(sp.Ident)
	u.mu.Lock()
	pin, held := u.pins[name]
	u.mu.Unlock()
	if !held {
		var found bool
		if pin, found = u.savedPin(name, sp); !found {
			return id
		}
	}
	if !pin.Satisfies(id) {
		return id
	}
	if !u.m.cfg.Store.IsInstalled(pin) {
		// Uninstalled by hand since: a start that failed for want of it
		// would leave the worker nothing running to move back.
		u.m.say("%s: the release it was moved to, %s, is not installed; starting as its spec says", name, pin)
		return id
	}
	if !held {
		u.mu.Lock()
		u.pins[name] = pin
		u.mu.Unlock()
	}
	return pin
}

// savedPin is the release service name's pin file holds, when it was
// made under sp's update settings; a stale one is removed, an
// unreadable one reported.
func (u *updaters) savedPin(name string, sp spec.Spec) (ident.Ident, bool) {
	path := update.PinPath(u.m.dataDir, name)
	p, found, err := update.ReadPin(path)
	if err != nil {
		u.m.problemOnce(path, fmt.Sprintf("service %s: %v (ignored: the service starts as its spec says)", sp.Ident, err))
		return ident.Ident{}, false
	}
	if !found {
		return ident.Ident{}, false
	}
	if p != pinFor(sp, p.ReleaseIdent()) {
		if err := update.RemovePin(path); err != nil {
			u.m.problemOnce(path, fmt.Sprintf("service %s: a stale pin: %v", sp.Ident, err))
		}
		return ident.Ident{}, false
	}
	return p.ReleaseIdent(), true
}

// pinFor is the pin of release rel made by the worker of spec sp.
func pinFor(sp spec.Spec, rel ident.Ident) update.Pin {
	return update.Pin{Release: rel.String(), Ident: sp.Ident, BldrURL: sp.BldrURL, Channel: sp.Channel,
		Strategy: sp.UpdateStrategy, Condition: sp.UpdateCondition}
}

// unpin forgets the release service name was moved to, in memory and
// on disk.
func (u *updaters) unpin(name string) {
	u.mu.Lock()
	delete(u.pins, name)
	u.mu.Unlock()
	path := update.PinPath(u.m.dataDir, name)
	if err := update.RemovePin(path); err != nil {
		u.m.problemOnce(path, fmt.Sprintf("service %s: %v", name, err))
	}
}

// specsRead passes the specs the manager has read (a copy: it goes on
// changing its maps) to run, the first time and when they changed;
// run reconciles the workers with the latest ones it was passed. It
// never waits.
func (u *updaters) specsRead(specs map[string]spec.Spec, bad map[string]bool, changed bool) {
	u.mu.Lock()
	if u.given && !changed {
		u.mu.Unlock()
		return
	}
	u.given = true
	u.pending = &loadedSpecs{specs: maps.Clone(specs), bad: maps.Clone(bad)}
	u.mu.Unlock()
	select {
	case u.wake <- struct{}{}:
	default: // run has yet to take the earlier ones: it takes these instead
	}
}

// run keeps the workers in step with the specs the manager reads
// until ctx ends, then stops them.
func (u *updaters) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			u.mu.Lock()
			ws := u.workers
			u.workers = map[string]*updateWorker{}
			u.mu.Unlock()
			for _, w := range ws {
				u.stopWorker(w)
			}
			return
		case <-u.wake:
			u.reconcilePending(ctx)
		}
	}
}

// reconcilePending reconciles the workers with the specs specsRead
// passed last, if it passed any since.
func (u *updaters) reconcilePending(ctx context.Context) {
	u.mu.Lock()
	ls := u.pending
	u.pending = nil
	u.mu.Unlock()
	if ls != nil {
		u.reconcile(ctx, *ls)
	}
}

// wantsWorker tells whether a spec's service is kept updated.
func wantsWorker(sp spec.Spec) bool {
	s, err := update.ParseStrategy(sp.UpdateStrategy)
	return err == nil && s != update.None
}

// sameWorker tells whether a worker made from a serves b.
func sameWorker(a, b spec.Spec) bool {
	return a.Ident == b.Ident && a.UpdateStrategy == b.UpdateStrategy && a.UpdateCondition == b.UpdateCondition &&
		a.BldrURL == b.BldrURL && a.Channel == b.Channel
}

// reconcile stops the workers of services no longer loaded, or loaded
// with other update settings, and starts those missing. A spec file
// that cannot be read keeps its service's worker, as it keeps the
// service running.
func (u *updaters) reconcile(ctx context.Context, ls loadedSpecs) {
	specs := ls.specs
	u.mu.Lock()
	var stale []*updateWorker
	var unpin []string
	for name, w := range u.workers {
		if sp, ok := specs[name]; !ok || !wantsWorker(sp) || !sameWorker(w.made, sp) {
			stale = append(stale, w)
			delete(u.workers, name)
			unpin = append(unpin, name)
		}
	}
	u.mu.Unlock()
	for _, w := range stale {
		u.stopWorker(w)
	}
	// The pins of services unloaded while the supervisor was down, or
	// whose spec file could not be read and was removed since: looked
	// for at the first reconcile and whenever the spec files are others
	// than at the last look (an unload while the supervisor runs stops
	// its worker, which unpins it above). A spec file that cannot be read
	// keeps its service, and its pin.
	files := make(map[string]bool, len(specs)+len(ls.bad))
	maps.Copy(files, ls.bad)
	for name := range specs {
		files[name] = true
	}
	if u.swept == nil || !maps.Equal(files, u.swept) {
		u.swept = files
		pins, _ := filepath.Glob(update.PinPath(u.m.dataDir, "*"))
		for _, f := range pins {
			if name := strings.TrimSuffix(filepath.Base(f), ".pin"); !files[name] {
				unpin = append(unpin, name)
			}
		}
	}
	for _, name := range unpin {
		u.unpin(name)
	}
	for name, sp := range specs {
		u.mu.Lock()
		_, running := u.workers[name]
		u.mu.Unlock()
		if running || !wantsWorker(sp) || ctx.Err() != nil {
			continue
		}
		if err := u.startWorker(ctx, name, sp); err != nil {
			u.m.problemOnce("update "+name, fmt.Sprintf("service %s: no updates: %v", sp.Ident, err))
		} else {
			// Said again should it fail again (the spec changed back).
			u.clearProblem("update " + name)
		}
	}
}

// startWorker makes and runs the worker of service name.
func (u *updaters) startWorker(ctx context.Context, name string, sp spec.Spec) error {
	strategy, err := update.ParseStrategy(sp.UpdateStrategy)
	if err != nil {
		return err
	}
	cond, err := update.ParseCondition(sp.UpdateCondition)
	if err != nil {
		return err
	}
	want, err := ident.Parse(sp.Ident)
	if err != nil {
		return err
	}
	target, err := ident.ActiveTarget(u.m.cfg.Getenv)
	if err != nil {
		return err
	}
	depot, err := client.New(sp.BldrURL)
	if err != nil {
		return err
	}
	period := u.m.cfg.UpdatePeriod
	if period <= 0 {
		period = DefaultUpdatePeriod
	}
	log := u.m.cfg.Log.With("service", name, "strategy", string(strategy))
	g := sp.ServiceGroup()
	g.Organization = u.m.cfg.Org
	group := g.String()
	w := &update.Worker{
		Strategy: strategy, Condition: cond, Channel: sp.Channel, Want: want, Target: target,
		Period: period, Depot: depot, Service: updatedService{u, name, sp, depot, ctx}, Self: u.m.ring.LocalID, Log: log,
	}
	uw := &updateWorker{made: sp, done: make(chan struct{})}
	if strategy == update.Rolling {
		gs := u.m.gossip
		if gs == nil {
			return fmt.Errorf("the rolling strategy needs the ring (--listen-gossip)")
		}
		w.Ring = rollingRing{u, name, group}
		uw.group = group
	}
	wctx, cancel := context.WithCancel(ctx)
	uw.cancel = cancel
	// In a rolling group the member bids in the update election. In a
	// leader topology the service leader bids 0, never the update leader
	// while it has followers; the bids mean that only once the group has
	// a leader, so the member joins then (a bid made before would be
	// every member's highest, and the service leader-to-be could win).
	// The worker's goroutine joins, so stopWorker's Leave comes after.
	join := func() bool { return true }
	if strategy == update.Rolling {
		gs := u.m.gossip
		var leaders *election.Elector
		if sp.Topology == "leader" {
			leaders = gs.leaders
		}
		join = func() bool {
			if leaders != nil {
				if _, err := leaders.WaitLeader(wctx, group); err != nil {
					return false
				}
			}
			gs.updates.Join(group, election.UpdateSuitability(leaders, group, u.m.ring.LocalID))
			return true
		}
	}
	u.mu.Lock()
	u.workers[name] = uw
	u.mu.Unlock()
	go func() {
		defer close(uw.done)
		if join() {
			w.Run(wctx)
		}
	}()
	return nil
}

// updatedService is a loaded service as its update worker sees it.
type updatedService struct {
	u     *updaters
	name  string
	sp    spec.Spec
	depot *client.Client
	sup   context.Context // the supervisor's: ends when it stops
}

func (s updatedService) Running() (ident.Ident, bool) {
	m := s.u.m
	m.mu.Lock()
	r, ok := m.services[s.name]
	m.mu.Unlock()
	if !ok {
		return ident.Ident{}, false
	}
	id, err := ident.Parse(r.svc.Ident())
	return id, err == nil
}

// Move installs to from the spec's depot channel when it is not
// installed, then restarts the service with it.
func (s updatedService) Move(ctx context.Context, to ident.Ident) error {
	m := s.u.m
	if cur, err := m.specs.Read(s.name); err != nil || !sameWorker(cur, s.sp) {
		return update.ErrNotMoved // unloaded or changed since: this worker is on its way out
	}
	if _, err := m.cfg.Store.Resolve(ctx, to); errors.Is(err, pkgs.ErrNotInstalled) {
		src := s.depot.Source(s.sp.Channel, m.cfg.Root.Artifacts(), func(msg string) { m.cfg.Log.Warn(msg) })
		defer src.Close()
		in := &pkgs.Installer{
			Store: m.cfg.Store, Keys: m.cfg.Keys, Sources: []pkgs.Source{src}, ArtifactCache: m.cfg.Root.Artifacts(),
			Hooks: pkgs.ExecHooks{Env: m.cfg.BaseEnv, Stdout: m.cfg.Out, Stderr: m.cfg.Out},
		}
		if _, err := in.Install(ctx, to.String()); err != nil {
			return fmt.Errorf("install %s from %s: %w", to, src, err)
		}
	} else if err != nil {
		return fmt.Errorf("resolve %s: %w", to, err)
	}
	if err := ctx.Err(); err != nil {
		return err // the supervisor is stopping: leave the service alone
	}
	from, _ := s.Running()
	m.say("Updating %s from %s to %s (%s strategy, channel %s)", s.name, from, to, s.sp.UpdateStrategy, s.sp.Channel)
	m.serviceUpdateStarted(s.name, to.String())
	s.u.mu.Lock()
	s.u.pins[s.name] = to
	s.u.mu.Unlock()
	// Saved before the service stops, so that a supervisor stopped at
	// any point from here on starts to again. A pin that cannot be saved
	// still holds until this supervisor stops, and the move goes on: the
	// channel's release is what the service must run.
	path := update.PinPath(m.dataDir, s.name)
	if err := update.WritePin(path, pinFor(s.sp, to)); err != nil {
		m.problemOnce(path, fmt.Sprintf("service %s: %v (a restarted supervisor starts the newest release installed, until the next move)", s.name, err))
	} else {
		s.u.clearProblem(path)
	}
	m.forget(s.name)
	m.reconcile(ctx)
	if s.sup.Err() != nil {
		// The supervisor began stopping while the service started again:
		// it may have been started after the supervisor stopped every
		// service, and would outlive it. The supervisor waits for this
		// worker before it exits.
		m.forget(s.name)
	}
	return nil
}

// clearProblem forgets a problem said once (problemOnce), so that it is
// said again when it comes back.
func (u *updaters) clearProblem(key string) {
	u.m.mu.Lock()
	delete(u.m.problems, key)
	u.m.mu.Unlock()
}

// start runs the workers until ctx ends, counted in wg.
func (u *updaters) start(ctx context.Context, wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		u.run(ctx)
	}()
}

func (u *updaters) stopWorker(w *updateWorker) {
	w.cancel()
	<-w.done
	if w.group != "" && u.m.gossip != nil {
		u.m.gossip.updates.Leave(w.group)
	}
}

// pkgIncarnation is what this member announced in group's rolling
// update; its service rumors carry it.
func (u *updaters) pkgIncarnation(group string) uint64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.pkgIncarnations[group]
}

// rollingRing is the ring as one service's rolling update sees it.
type rollingRing struct {
	u     *updaters
	name  string
	group string
}

func (r rollingRing) UpdateLeader() (string, bool) { return r.u.m.gossip.updates.Leader(r.group) }

// Peers are the group's members from the census, this member as it
// last announced itself: its rumor may not say so yet (its service
// restarting after a move), and a leader that moves again must still
// announce above what it announced before.
func (r rollingRing) Peers() []update.Peer {
	m := r.u.m
	peers := update.Peers(m.ring, r.group)
	mine := r.u.pkgIncarnation(r.group)
	for i := range peers {
		if peers[i].ID == m.ring.LocalID {
			peers[i].PkgIncarnation = max(peers[i].PkgIncarnation, mine)
			return peers
		}
	}
	if running, ok := (updatedService{u: r.u, name: r.name}).Running(); ok {
		peers = append(peers, update.Peer{ID: m.ring.LocalID, Alive: true, Pkg: running.String(), PkgIncarnation: mine})
		slices.SortFunc(peers, func(a, b update.Peer) int { return strings.Compare(a.ID, b.ID) })
	}
	return peers
}

// Announce records the package incarnation and puts this member's rumor
// out again with it, when the rumor already names the release the
// service runs; otherwise the restarted service's first rumor carries
// it.
func (r rollingRing) Announce(incarnation uint64) {
	m := r.u.m
	r.u.mu.Lock()
	r.u.pkgIncarnations[r.group] = incarnation
	r.u.mu.Unlock()
	m.mu.Lock()
	run, ok := m.services[r.name]
	m.mu.Unlock()
	cur, published := m.ring.Services.Get(r.group, m.ring.LocalID)
	if !ok || !published || cur.Pkg != run.svc.Ident() || cur.PkgIncarnation == incarnation {
		return
	}
	cur.PkgIncarnation = incarnation
	cur.Incarnation++
	m.gossip.publishService(cur)
}
