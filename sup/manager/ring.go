package manager

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/pkgs"
	"github.com/habgo/hab/core/templating"
	"github.com/habgo/hab/sup/butterfly"
	"github.com/habgo/hab/sup/census"
	"github.com/habgo/hab/sup/ctl"
	"github.com/habgo/hab/sup/election"
	"github.com/habgo/hab/sup/service"
)

// ErrDeparted is returned by Run when this supervisor was departed from
// the ring (hab sup depart): it never rejoins under its member id, and
// its process exits 86 as the original's.
var ErrDeparted = errors.New("this Supervisor was departed from the ring (hab sup depart)")

// DepartedExitCode is the exit code of a departed supervisor.
const DepartedExitCode = 86

// GossipConfig is the supervisor's place in the ring.
type GossipConfig struct {
	Peers         []string        // --peer
	PeerWatchFile string          // --peer-watch-file
	RingKey       *crypto.RingKey // --ring / --ring-key: all gossip sealed with it
	// Timing is the ring's (zero: butterfly.DefaultTiming); ElectionGrace
	// how long a leader is gone before a new term (zero: none, the
	// leader's lease on its quorum keeps two leaders apart);
	// ElectionTick how often elections are looked at (zero: 200 ms).
	Timing        butterfly.Timing
	ElectionGrace time.Duration
	ElectionTick  time.Duration
}

// gossip is the supervisor's side of the ring: the butterfly server, the
// rumor topics it carries and the elections.
type gossip struct {
	m        *Manager
	srv      *butterfly.Server
	services *butterfly.Topic[census.Service]
	configs  *butterfly.Topic[census.ServiceConfig]
	files    *butterfly.Topic[census.ServiceFile]
	leaders  *election.Elector
	updates  *election.Elector

	mu sync.Mutex
	// incarnations are the highest incarnation of this member's rumor of
	// each service group seen here or anywhere in the ring (kept across
	// restarts in the rumor file), so that a service that starts again
	// publishes above what the ring holds of it.
	incarnations map[string]uint64
}

// startGossip joins the ring and carries the census's rumors and the
// elections over it.
func (m *Manager) startGossip(ctx context.Context, incarnations map[string]uint64) (*gossip, error) {
	g := &gossip{m: m, incarnations: incarnations}
	if g.incarnations == nil {
		g.incarnations = map[string]uint64{}
	}
	gc := m.cfg.Gossip
	srv, err := butterfly.Start(ctx, butterfly.Config{
		ID: m.ring.LocalID, Listen: m.cfg.ListenGossip, Advertise: m.cfg.SysIP,
		Peers: gc.Peers, Permanent: m.cfg.Permanent, PeerWatchFile: gc.PeerWatchFile,
		RingKey: gc.RingKey, Timing: gc.Timing,
		Members: m.ring, Departures: m.ring.Departures, Log: m.cfg.Log,
	})
	if err != nil {
		return nil, fmt.Errorf("gossip: listen on %s (--listen-gossip): %w", m.cfg.ListenGossip, err)
	}
	g.srv = srv
	g.services = butterfly.Carry[census.Service](srv, "service", serviceStore{g})
	g.configs = butterfly.Carry[census.ServiceConfig](srv, "service_config", kicking[census.ServiceConfig]{m.ring.Configs, m.kickGroup})
	g.files = butterfly.Carry[census.ServiceFile](srv, "service_file", kicking[census.ServiceFile]{m.ring.Files, m.kickGroup})
	timing := gc.Timing
	if timing == (butterfly.Timing{}) {
		timing = butterfly.DefaultTiming()
	}
	opts := []election.Option{election.WithLease(srv, election.Lease(timing.Probe, timing.SuspicionMult))}
	if gc.ElectionGrace > 0 {
		opts = append(opts, election.WithGrace(gc.ElectionGrace))
	}
	view := election.RingView{Ring: m.ring}
	g.leaders = election.New(m.ring.LocalID, view, 3, opts...)
	g.updates = election.New(m.ring.LocalID, view, 1, opts...)
	for _, e := range []struct {
		el    *election.Elector
		topic string
	}{{g.leaders, "election"}, {g.updates, "election_update"}} {
		t := butterfly.Carry[election.Election](srv, e.topic, e.el)
		changed := func(sg string) {
			m.ring.ElectionChanged()
			m.kickGroup(sg)
		}
		e.el.SetSpread(func(r election.Election) {
			t.Spread(r)
			changed(r.ServiceGroup)
		})
		// The leader seen also changes with health and quorum alone.
		e.el.SetNotify(changed)
	}
	m.ring.SetElections(g.leaders, g.updates)
	return g, nil
}

// run ticks the elections until ctx ends.
func (g *gossip) run(ctx context.Context, wg *sync.WaitGroup) {
	every := g.m.cfg.Gossip.ElectionTick
	if every <= 0 {
		every = 200 * time.Millisecond
	}
	wg.Add(2)
	go func() { defer wg.Done(); g.leaders.Run(ctx, every) }()
	go func() { defer wg.Done(); g.updates.Run(ctx, every) }()
}

// publishService puts this member's rumor of a service out with an
// incarnation above any the ring holds of it.
func (g *gossip) publishService(r census.Service) {
	r.PkgIncarnation = max(r.PkgIncarnation, g.m.updates.pkgIncarnation(r.ServiceGroup))
	g.mu.Lock()
	if last := g.incarnations[r.ServiceGroup]; r.Incarnation <= last {
		r.Incarnation = last + 1
	}
	g.incarnations[r.ServiceGroup] = r.Incarnation
	g.mu.Unlock()
	g.insertService(r)
	g.services.Spread(r)
}

// insertService puts a service rumor in the census; when it brings a new
// member into a group without quorum, the group's Confirmed member with
// the smallest id is departed on the whole ring, as the original does
// (census.Ring.InsertService).
func (g *gossip) insertService(r census.Service) bool {
	kept, depart := g.m.ring.InsertService(r)
	if depart != "" {
		g.m.say("%s joined %s, which lacks quorum: departing %s, Confirmed dead, so that the group can regain it", r.MemberID, r.ServiceGroup, depart)
		g.srv.DepartConfirmed(depart)
	}
	return kept
}

// serviceIncarnations is a copy of the incarnations, for the rumor file.
func (g *gossip) serviceIncarnations() map[string]uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return maps.Clone(g.incarnations)
}

// serviceStore is the census's service store as the ring fills it. A
// rumor about this member is never taken from others: it is an old one
// (from before a restart, or of a service no longer run here); when it is
// as new as this member's own, the own one goes out again above it.
type serviceStore struct{ g *gossip }

func (s serviceStore) Insert(r census.Service) bool {
	ring := s.g.m.ring
	if r.MemberID != ring.LocalID {
		return s.g.insertService(r)
	}
	s.g.mu.Lock()
	seen := s.g.incarnations[r.ServiceGroup]
	if r.Incarnation > seen {
		s.g.incarnations[r.ServiceGroup] = r.Incarnation
	}
	s.g.mu.Unlock()
	if own, ok := ring.Services.Get(r.ServiceGroup, ring.LocalID); ok && outdates(r, own) {
		go s.g.publishService(own)
	}
	return false
}

// outdates reports whether a rumor of this member that came back from
// the ring would keep the ring from taking this member's own: a higher
// incarnation, or the same one saying something else (made before a
// restart). The own rumor echoed back is neither.
func outdates(theirs, own census.Service) bool {
	if theirs.Incarnation != own.Incarnation {
		return theirs.Incarnation > own.Incarnation
	}
	a, errA := json.Marshal(theirs)
	b, errB := json.Marshal(own)
	return errA != nil || errB != nil || !bytes.Equal(a, b)
}

func (s serviceStore) All() map[string]map[string]census.Service { return s.g.m.ring.Services.All() }

// kicking is a census store whose new rumors wake the services of their
// group (a config applied or a file uploaded anywhere in the ring).
type kicking[T census.Rumor] struct {
	store *census.Store[T]
	kick  func(sg string)
}

func (k kicking[T]) Insert(r T) bool {
	if !k.store.Insert(r) {
		return false
	}
	k.kick(r.RumorKey())
	return true
}

func (k kicking[T]) All() map[string]map[string]T { return k.store.All() }

// awaitLeader holds a leader-topology service back until its group has a
// leader, as the original's: this member's rumor goes out (not yet
// initialized) so that it counts in the group, and it bids in the
// group's elections. It reports false when ctx ended first.
func (g *gossip) awaitLeader(ctx context.Context, svc *service.Service, p *pkgs.Package) bool {
	sg := svc.ServiceGroup()
	sys := g.m.sys
	g.publishService(census.Service{
		MemberID: g.m.ring.LocalID, ServiceGroup: sg, Pkg: p.Ident.String(),
		Sys: templating.MemberSys{IP: sys.IP, Hostname: sys.Hostname, GossipIP: sys.GossipIP, GossipPort: uint32(sys.GossipPort),
			HTTPGatewayIP: sys.HTTPGatewayIP, HTTPGatewayPort: uint32(sys.HTTPGatewayPort), CtlGatewayIP: sys.CtlGatewayIP, CtlGatewayPort: uint32(sys.CtlGatewayPort)},
	})
	g.leaders.Join(sg, func() uint64 { return g.m.ring.Suitability(sg) })
	if _, ok := g.leaders.Leader(sg); !ok {
		g.m.say("Waiting for a leader of %s (leader topology: three or more members elect one)", sg)
	}
	id, err := g.leaders.WaitLeader(ctx, sg)
	if err != nil {
		return false
	}
	g.m.say("The leader of %s is %s", sg, id)
	return true
}

// leaveElection stops bidding in sg's elections (its service stopped).
func (g *gossip) leaveElection(sg string) { g.leaders.Leave(sg) }

// publishConfig stores configuration applied here and spreads it to the
// ring.
func (m *Manager) publishConfig(r census.ServiceConfig) {
	if m.gossip != nil {
		m.gossip.configs.Publish(r)
		return
	}
	m.ring.Configs.Insert(r)
}

// publishFile stores a file uploaded here and spreads it to the ring.
func (m *Manager) publishFile(r census.ServiceFile) {
	if m.gossip != nil {
		m.gossip.files.Publish(r)
		return
	}
	m.ring.Files.Insert(r)
}

// depart marks a member departed on every member of the ring (hab sup
// depart): it is never admitted again, and its supervisor exits.
func (m *Manager) depart(id string, out func(string)) error {
	if id == "" || strings.ContainsAny(id, " \t\n/") {
		return ctl.Errorf(ctl.CodeInvalid, "invalid member id %q", id)
	}
	if m.gossip == nil {
		return ctl.Errorf(ctl.CodeInvalid, "this Supervisor runs without a ring (no --listen-gossip): there is no member to depart")
	}
	out(fmt.Sprintf("Permanently marking %s as departed", id))
	m.gossip.srv.Depart(id)
	return nil
}
