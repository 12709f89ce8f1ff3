package butterfly

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/sup/census"
)

// DefaultPort is the gossip port (--listen-gossip).
const DefaultPort = 9638

// Timing is how fast the ring probes, suspects, gossips and forgets.
// DefaultTiming follows the original; tests shorten it.
type Timing struct {
	Probe         time.Duration // a member is probed this often
	ProbeTimeout  time.Duration // an ack later than this starts indirect probes
	SuspicionMult int           // Suspect turns Confirmed after about this many probe periods
	Gossip        time.Duration // queued rumors leave this often
	PushPull      time.Duration // full state is exchanged with one member this often
	Departure     time.Duration // Confirmed turns Departed after this
	Rejoin        time.Duration // peers and permanent members not alive are joined again this often
	WatchFile     time.Duration // the peer watch file is checked this often
}

// DefaultTiming is the original's: probes every second, Suspect to
// Confirmed after about nine seconds, Confirmed to Departed after three
// days; the full state is exchanged with one member every second
// (memberlist stretches that in rings of more than 32), where the
// original pushes it to five members every second. bench/ring.sh: with
// the exchange every 2 s a ring of 50 converged in 2.9-10.8 s on a
// loaded machine, every 1 s (and the rumors an exchange brings spread on)
// in 2.5-3.5 s.
func DefaultTiming() Timing {
	return Timing{
		Probe:         time.Second,
		ProbeTimeout:  500 * time.Millisecond,
		SuspicionMult: 9,
		Gossip:        100 * time.Millisecond,
		PushPull:      time.Second,
		Departure:     72 * time.Hour,
		Rejoin:        5 * time.Second,
		WatchFile:     time.Second,
	}
}

// MemberSink learns the ring's members and their health (census.Ring).
type MemberSink interface {
	AddMember(m census.Member, h census.Health)
}

// Config is one member's place in the ring.
type Config struct {
	ID     string // the member id (unique in the ring)
	Listen string // host:port for gossip (UDP and TCP); port 0 picks one
	// Advertise is the address others reach this member at (--sys-ip-address);
	// empty: the listen host, or when that is unspecified (0.0.0.0) a
	// private address of this machine.
	Advertise     string
	Peers         []string        // --peer: joined at start and again whenever they are not alive
	Permanent     bool            // --permanent-peer: others keep probing this member, so partitions heal
	PeerWatchFile string          // --peer-watch-file: one peer a line, read again when it changes
	RingKey       *crypto.RingKey // --ring: all gossip sealed with it; nil gossips in the clear
	Timing        Timing          // zero: DefaultTiming
	Members       MemberSink      // told every change of health; may be nil
	// Departures holds the departed members (census.Ring.Departures);
	// nil keeps them in a store of the server's own.
	Departures *census.Store[census.Departure]
	Partition  *Partition   // tests: drops gossip between chosen members
	Fanout     int          // members a rumor too large for a packet is sent to directly; 0: 5
	Log        *slog.Logger // nil: slog.Default()
}

// MemberHealth is a member as this member sees it.
type MemberHealth struct {
	census.Member
	Health census.Health `json:"health"`
	Since  time.Time     `json:"since"`
}

// Server is one member of the ring: memberlist for membership and failure
// detection, rumors spread through its broadcast queue (or sent directly
// to a few members when too large for a packet) and exchanged whole on
// every push-pull.
type Server struct {
	cfg    Config
	log    *slog.Logger
	ml     *memberlist.Memberlist
	queue  *memberlist.TransmitLimitedQueue
	trans  *ringTransport
	addr   string
	cancel context.CancelFunc
	wg     sync.WaitGroup

	departed     chan struct{}
	departedOnce sync.Once

	mu      sync.Mutex
	topics  map[string]topic
	members map[string]*MemberHealth
	watched []string
	joinErr string // the last failure to join the peers, said once
	stopped bool
}

// Start opens the gossip listener, joins the peers it can reach (the
// others are joined again later) and keeps the ring's membership until
// ctx ends or Stop.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.ID == "" {
		return nil, errors.New("start gossip: no member id")
	}
	if cfg.Timing == (Timing{}) {
		cfg.Timing = DefaultTiming()
	}
	if cfg.Fanout == 0 {
		cfg.Fanout = 5
	}
	if cfg.Departures == nil {
		cfg.Departures = census.NewStore[census.Departure]()
	}
	lg := cfg.Log
	if lg == nil {
		lg = slog.Default()
	}
	lg = lg.With("member", cfg.ID)
	host, portStr, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("start gossip: listen address %q: %w", cfg.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("start gossip: listen address %q: port: %w", cfg.Listen, err)
	}
	mlog := log.New(logWriter{lg}, "", 0)
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{BindAddrs: []string{host}, BindPort: port, Logger: mlog})
	if err != nil {
		return nil, fmt.Errorf("start gossip on %s: %w", cfg.Listen, err)
	}
	port = nt.GetAutoBindPort()
	s := &Server{
		cfg: cfg, log: lg, departed: make(chan struct{}),
		topics: map[string]topic{}, members: map[string]*MemberHealth{},
	}
	s.addr = net.JoinHostPort(host, strconv.Itoa(port))
	s.trans = newRingTransport(nt, cfg.RingKey, cfg.Partition, s.addr, lg)
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
		s.trans.local = ip
	}
	Carry[census.Departure](s, "departure", departureStore{s})
	Carry[census.Departure](s, "confirmed_departure", confirmedDepartures{s, census.NewStore[census.Departure]()})

	mc := memberlist.DefaultLANConfig()
	mc.Name = cfg.ID
	mc.Transport = s.trans
	mc.AdvertiseAddr = cfg.Advertise
	if mc.AdvertiseAddr == "" {
		if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
			mc.AdvertiseAddr = host
		}
	}
	mc.AdvertisePort = port
	mc.BindAddr = host
	mc.BindPort = port
	t := cfg.Timing
	mc.ProbeInterval = t.Probe
	mc.ProbeTimeout = t.ProbeTimeout
	mc.SuspicionMult = t.SuspicionMult
	mc.GossipInterval = t.Gossip
	mc.GossipNodes = 4
	mc.PushPullInterval = t.PushPull
	mc.GossipToTheDeadTime = 2 * t.Rejoin
	mc.TCPTimeout = max(t.ProbeTimeout*4, time.Second)
	mc.Delegate = (*delegate)(s)
	mc.Events = (*events)(s)
	mc.Alive = (*events)(s)
	mc.Merge = (*events)(s)
	mc.Logger = mlog
	s.queue = &memberlist.TransmitLimitedQueue{NumNodes: func() int { return s.ml.NumMembers() }, RetransmitMult: mc.RetransmitMult}
	ml, err := memberlist.Create(mc)
	if err != nil {
		nt.Shutdown()
		return nil, fmt.Errorf("start gossip on %s: %w", s.addr, err)
	}
	s.ml = ml
	ctx, s.cancel = context.WithCancel(ctx)
	s.setHealth(cfg.ID, ml.LocalNode(), census.Alive)
	s.joinPeers()
	s.wg.Add(2)
	go s.watchHealth(ctx)
	go s.rejoin(ctx)
	if cfg.PeerWatchFile != "" {
		s.wg.Add(1)
		go s.watchPeerFile(ctx)
	}
	return s, nil
}

// ID is this member's id.
func (s *Server) ID() string { return s.cfg.ID }

// Addr is the gossip address (host:port) others join.
func (s *Server) Addr() string { return s.addr }

// Departed is closed when this member has been departed (hab sup depart):
// it is out of the ring for good, and its supervisor exits (86).
func (s *Server) Departed() <-chan struct{} { return s.departed }

// Join joins the ring through the members at addrs.
func (s *Server) Join(addrs ...string) (int, error) {
	n, err := s.ml.Join(addrs)
	if err != nil {
		return n, fmt.Errorf("join the ring through %v: %w", addrs, err)
	}
	return n, nil
}

// Depart makes a member Departed on every member (hab sup depart ID): it
// is never admitted again.
func (s *Server) Depart(id string) {
	s.topic("departure").(*Topic[census.Departure]).Publish(census.Departure{MemberID: id})
}

// DepartConfirmed makes a dead member Departed on every member of the
// ring, ahead of Timing.Departure: the original's rule for a group that a
// new member joins without quorum (census.Ring.InsertService). It is no
// ban, unlike Depart: a member that any member sees Alive or Suspect is
// left as it is there, and a departed member that comes back is Alive
// again. The departure is kept and exchanged on every push-pull, so a
// member that joins later departs it too (even when the member came back
// and died again since: it is then Departed there at once, where the
// others wait for Timing.Departure).
func (s *Server) DepartConfirmed(id string) {
	s.topic("confirmed_departure").(*Topic[census.Departure]).Publish(census.Departure{MemberID: id})
}

// Stop leaves the ring gracefully (the others see this member Departed)
// and closes the listener.
func (s *Server) Stop() error {
	if !s.markStopped() {
		return nil
	}
	err := s.ml.Leave(s.cfg.Timing.Probe * 2)
	s.finish()
	if err != nil {
		return fmt.Errorf("leave the ring: %w", err)
	}
	return nil
}

// Kill closes the listener without telling anyone, as a supervisor killed
// with SIGKILL: the others find out by probing.
func (s *Server) Kill() {
	if s.markStopped() {
		s.finish()
	}
}

func (s *Server) markStopped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return false
	}
	s.stopped = true
	return true
}

func (s *Server) finish() {
	s.cancel()
	s.ml.Shutdown()
	s.wg.Wait()
}

// Members returns every member this member knows, by id.
func (s *Server) Members() []MemberHealth {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]MemberHealth, 0, len(s.members))
	for _, m := range s.members {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// HealthOf is a member's health as this member sees it; Confirmed for a
// member it does not know.
func (s *Server) HealthOf(id string) census.Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.members[id]; ok {
		return m.Health
	}
	return census.Confirmed
}

func (s *Server) isDeparted(id string) bool {
	_, ok := s.cfg.Departures.Get("departure", id)
	return ok
}

// setHealth records a member's health; a departed member stays Departed.
func (s *Server) setHealth(id string, n *memberlist.Node, h census.Health) {
	if s.isDeparted(id) {
		h = census.Departed
	}
	s.mu.Lock()
	m, ok := s.members[id]
	if !ok {
		m = &MemberHealth{Member: census.Member{ID: id}}
		s.members[id] = m
	}
	if n != nil {
		m.Address = n.Addr.String()
		m.SwimPort = uint32(n.Port)
		m.GossipPort = uint32(n.Port)
		var meta nodeMeta
		if json.Unmarshal(n.Meta, &meta) == nil {
			m.Persistent = meta.Permanent
		}
	}
	if ok && m.Health == h && n == nil {
		s.mu.Unlock()
		return
	}
	changed := !ok || m.Health != h
	if changed {
		m.Since = time.Now()
	}
	m.Health = h
	m.Departed = h == census.Departed
	cp := m.Member
	s.mu.Unlock()
	if changed {
		s.log.Debug("member health", "id", id, "health", h)
	}
	if s.cfg.Members != nil {
		s.cfg.Members.AddMember(cp, h)
	}
}

// watchHealth follows memberlist's view: suspects (which memberlist does
// not announce), and Confirmed members turning Departed after the
// departure time.
func (s *Server) watchHealth(ctx context.Context) {
	defer s.wg.Done()
	tick := time.NewTicker(max(s.cfg.Timing.Probe/2, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		live := map[string]bool{}
		for _, n := range s.ml.Members() {
			live[n.Name] = true
			h := census.Alive
			if n.State == memberlist.StateSuspect {
				h = census.Suspect
			}
			if s.HealthOf(n.Name) != h {
				s.setHealth(n.Name, nil, h)
			}
		}
		now := time.Now()
		var gone []string
		s.mu.Lock()
		for id, m := range s.members {
			if !live[id] && m.Health == census.Confirmed && now.Sub(m.Since) >= s.cfg.Timing.Departure {
				gone = append(gone, id)
			}
		}
		s.mu.Unlock()
		for _, id := range gone {
			s.setHealth(id, nil, census.Departed)
		}
	}
}

type nodeMeta struct {
	Permanent bool `json:"permanent,omitempty"`
}

// events receives memberlist's membership events.
type events Server

func (e *events) NotifyJoin(n *memberlist.Node) { (*Server)(e).setHealth(n.Name, n, census.Alive) }
func (e *events) NotifyUpdate(n *memberlist.Node) {
	(*Server)(e).setHealth(n.Name, n, census.Alive)
}
func (e *events) NotifyLeave(n *memberlist.Node) {
	h := census.Confirmed
	if n.State == memberlist.StateLeft {
		h = census.Departed
	}
	(*Server)(e).setHealth(n.Name, n, h)
}

// NotifyAlive keeps departed members out of the ring.
func (e *events) NotifyAlive(n *memberlist.Node) error {
	s := (*Server)(e)
	if n.Name != s.cfg.ID && s.isDeparted(n.Name) {
		return fmt.Errorf("member %s has departed and is not admitted again", n.Name)
	}
	return nil
}

// NotifyMerge refuses to join a ring that holds this member as departed.
func (e *events) NotifyMerge(peers []*memberlist.Node) error {
	s := (*Server)(e)
	for _, n := range peers {
		if n.Name != s.cfg.ID && s.isDeparted(n.Name) {
			return fmt.Errorf("member %s has departed and is not admitted again", n.Name)
		}
	}
	return nil
}

// departureStore keeps departures in the configured store and acts on
// them: the member is Departed here, and a departed self stops.
type departureStore struct{ s *Server }

func (d departureStore) Insert(r census.Departure) bool {
	if r.MemberID == "" || !d.s.cfg.Departures.Insert(r) {
		return false
	}
	d.s.log.Info("member departed", "id", r.MemberID)
	d.s.setHealth(r.MemberID, nil, census.Departed)
	if r.MemberID == d.s.cfg.ID {
		d.s.departedOnce.Do(func() { close(d.s.departed) })
	}
	return true
}

func (d departureStore) All() map[string]map[string]census.Departure {
	return d.s.cfg.Departures.All()
}

// confirmedDepartures keeps the members departed by DepartConfirmed and
// departs them here unless they are live.
type confirmedDepartures struct {
	s     *Server
	store *census.Store[census.Departure]
}

func (c confirmedDepartures) Insert(r census.Departure) bool {
	if r.MemberID == "" || r.MemberID == c.s.cfg.ID || !c.store.Insert(r) {
		return false
	}
	if h := c.s.HealthOf(r.MemberID); h == census.Alive || h == census.Suspect {
		c.s.log.Info("not departing a live member", "id", r.MemberID, "health", h)
		return true
	}
	c.s.log.Info("member departed: confirmed dead while its group lacked quorum", "id", r.MemberID)
	c.s.setHealth(r.MemberID, nil, census.Departed)
	return true
}

func (c confirmedDepartures) All() map[string]map[string]census.Departure { return c.store.All() }
