package butterfly

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"

	"github.com/hashicorp/memberlist"

	"github.com/habgo/hab/sup/census"
)

// Store keeps the rumors of one topic with the rule that newest wins:
// Insert reports whether r was new (census.Store; the elections' stores
// merge instead). All returns every rumor kept, by key and id.
type Store[T any] interface {
	Insert(r T) bool
	All() map[string]map[string]T
}

// Topic is one kind of rumor the ring carries.
type Topic[T any] struct {
	s     *Server
	name  string
	store Store[T]
}

type topic interface {
	receive(raw json.RawMessage) (bool, error)
	snapshot() []json.RawMessage
}

// Carry makes the ring carry the rumors of store under name (the same
// name on every member): rumors arriving from peers are inserted, and
// those that are new travel on.
func Carry[T any](s *Server, name string, store Store[T]) *Topic[T] {
	t := &Topic[T]{s: s, name: name, store: store}
	s.mu.Lock()
	s.topics[name] = t
	s.mu.Unlock()
	return t
}

// Publish inserts a rumor made on this member and, when it is new,
// spreads it to the ring. It reports whether it was new.
func (t *Topic[T]) Publish(r T) bool {
	if !t.store.Insert(r) {
		return false
	}
	t.Spread(r)
	return true
}

// Spread sends a rumor to the ring without inserting it here (for a
// rumor already inserted, or a store that merges and spreads its result).
func (t *Topic[T]) Spread(r T) {
	raw, err := json.Marshal(r)
	if err != nil {
		t.s.log.Error("spread rumor: encode", "topic", t.name, "err", err)
		return
	}
	t.s.spread(t.name, raw)
}

func (t *Topic[T]) receive(raw json.RawMessage) (bool, error) {
	var r T
	if err := json.Unmarshal(raw, &r); err != nil {
		return false, fmt.Errorf("decode %s rumor: %w", t.name, err)
	}
	return t.store.Insert(r), nil
}

func (t *Topic[T]) snapshot() []json.RawMessage {
	var out []json.RawMessage
	for _, byID := range t.store.All() {
		for _, r := range byID {
			raw, err := json.Marshal(r)
			if err != nil {
				t.s.log.Error("push state: encode", "topic", t.name, "err", err)
				continue
			}
			out = append(out, raw)
		}
	}
	return out
}

func (s *Server) topic(name string) topic {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.topics[name]
}

// envelope is a rumor on the wire.
type envelope struct {
	Topic string          `json:"t"`
	Rumor json.RawMessage `json:"r"`
}

// packetLimit is the largest rumor message sent in memberlist's packets;
// larger ones go over TCP to a few members directly.
const packetLimit = 1200

func (s *Server) spread(name string, raw json.RawMessage) {
	msg, err := json.Marshal(envelope{name, raw})
	if err != nil {
		s.log.Error("spread rumor: encode", "topic", name, "err", err)
		return
	}
	if len(msg) <= packetLimit {
		s.queue.QueueBroadcast(broadcast(msg))
		return
	}
	// Peers from this member's own table: the nodes memberlist hands out
	// are changed in place under its lock.
	var peers []*memberlist.Node
	s.mu.Lock()
	for _, m := range s.members {
		if m.ID != s.cfg.ID && m.Health == census.Alive && m.Address != "" {
			peers = append(peers, &memberlist.Node{Name: m.ID, Addr: net.ParseIP(m.Address), Port: uint16(m.GossipPort)})
		}
	}
	s.mu.Unlock()
	rand.Shuffle(len(peers), func(i, j int) { peers[i], peers[j] = peers[j], peers[i] })
	peers = peers[:min(len(peers), s.cfg.Fanout)]
	for _, n := range peers {
		go func() {
			if err := s.ml.SendReliable(n, msg); err != nil {
				s.log.Debug("send rumor", "topic", name, "to", n.Name, "err", err)
			}
		}()
	}
}

func (s *Server) receive(msg []byte) {
	var env envelope
	if err := json.Unmarshal(msg, &env); err != nil {
		s.log.Warn("rumor dropped: not a rumor", "err", err)
		return
	}
	t := s.topic(env.Topic)
	if t == nil {
		return // a topic this member does not carry (yet): push-pull brings it later
	}
	isNew, err := t.receive(env.Rumor)
	if err != nil {
		s.log.Warn("rumor dropped", "err", err)
		return
	}
	if isNew {
		s.spread(env.Topic, env.Rumor)
	}
}

type broadcast []byte

func (b broadcast) Invalidates(memberlist.Broadcast) bool { return false }
func (b broadcast) Message() []byte                       { return b }
func (b broadcast) Finished()                             {}

// delegate hands rumors to and from memberlist.
type delegate Server

func (d *delegate) NodeMeta(limit int) []byte {
	b, _ := json.Marshal(nodeMeta{Permanent: d.cfg.Permanent})
	return b
}

func (d *delegate) NotifyMsg(b []byte) {
	(*Server)(d).receive(append([]byte(nil), b...))
}

func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.queue.GetBroadcasts(overhead, limit)
}

// LocalState is every rumor of every topic, for push-pull.
func (d *delegate) LocalState(join bool) []byte {
	s := (*Server)(d)
	s.mu.Lock()
	names := make([]string, 0, len(s.topics))
	for name := range s.topics {
		names = append(names, name)
	}
	s.mu.Unlock()
	state := map[string][]json.RawMessage{}
	for _, name := range names {
		if t := s.topic(name); t != nil {
			state[name] = t.snapshot()
		}
	}
	b, err := json.Marshal(state)
	if err != nil {
		s.log.Error("push state: encode", "err", err)
		return nil
	}
	return b
}

// MergeRemoteState inserts a peer's rumors. Those of a join do not travel
// on from here (a joiner's whole state would flood the broadcast queue,
// and the member that made each rumor spread it already); those of a
// periodic exchange that are new here do (mergeTopic).
func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	s := (*Server)(d)
	var state map[string][]json.RawMessage
	if err := json.Unmarshal(buf, &state); err != nil {
		s.log.Warn("remote state dropped", "err", err)
		return
	}
	// Departures first: a departed member's other rumors mean nothing.
	if rs, ok := state["departure"]; ok {
		s.mergeTopic("departure", rs, !join)
	}
	for name, rs := range state {
		if name != "departure" {
			s.mergeTopic(name, rs, !join)
		}
	}
}

// mergeTopic inserts a peer's rumors of a topic; with spread, those new
// here travel on, as a broadcast's would: a periodic exchange finds the
// few rumors a member missed (a lost packet), and spreading them closes
// the same hole in the members around it sooner than waiting for their
// own exchanges.
func (s *Server) mergeTopic(name string, rs []json.RawMessage, spread bool) {
	t := s.topic(name)
	if t == nil {
		return
	}
	for _, raw := range rs {
		isNew, err := t.receive(raw)
		if err != nil {
			s.log.Warn("remote rumor dropped", "err", err)
			continue
		}
		if isNew && spread {
			s.spread(name, raw)
		}
	}
}
