// Package census holds what the supervisor knows about service groups: the
// rumors (services, service configs, service files, departures) kept with
// incarnations so that the newest wins, the members and their health, and
// the census of every group built from them. Rumors made here and rumors
// from the ring's peers (sup/butterfly) enter through Store.Insert with
// the same rule.
package census

import (
	"encoding/json"
	"sync"

	"github.com/habgo/hab/core/templating"
)

// Rumor is anything kept in a Store: Key groups rumors (the service
// group), ID tells them apart within it (the member, or the file name).
type Rumor interface {
	RumorKey() string
	RumorID() string
	RumorIncarnation() uint64
}

// Store keeps the newest rumor of each (key, id), as the original's rumor
// stores do, counting accepted updates.
type Store[T Rumor] struct {
	mu      sync.RWMutex
	list    map[string]map[string]T
	counter uint64
}

// NewStore returns an empty store.
func NewStore[T Rumor]() *Store[T] {
	return &Store[T]{list: map[string]map[string]T{}}
}

// Insert keeps r when no rumor of its key and id is stored, or when its
// incarnation is strictly greater than the stored one's. It reports
// whether r was kept.
func (s *Store[T]) Insert(r T) bool {
	kept, _ := s.insert(r)
	return kept
}

// insert is Insert, also reporting whether r brought a new id into a key
// that held others.
func (s *Store[T]) insert(r T) (kept, joined bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.list[r.RumorKey()]
	if m == nil {
		m = map[string]T{}
		s.list[r.RumorKey()] = m
	}
	old, had := m[r.RumorID()]
	if had && r.RumorIncarnation() <= old.RumorIncarnation() {
		return false, false
	}
	joined = !had && len(m) > 0
	m[r.RumorID()] = r
	s.counter++
	return true, joined
}

// Remove deletes a rumor (a service unloaded here).
func (s *Store[T]) Remove(key, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.list[key]; ok {
		if _, ok := m[id]; ok {
			delete(m, id)
			s.counter++
		}
		if len(m) == 0 {
			delete(s.list, key)
		}
	}
}

// Get returns the rumor (key, id).
func (s *Store[T]) Get(key, id string) (T, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.list[key][id]
	return r, ok
}

// Key returns a copy of the rumors of key, by id.
func (s *Store[T]) Key(key string) map[string]T {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]T, len(s.list[key]))
	for id, r := range s.list[key] {
		out[id] = r
	}
	return out
}

// All returns a copy of every rumor, by key and id.
func (s *Store[T]) All() map[string]map[string]T {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]map[string]T, len(s.list))
	for k, m := range s.list {
		out[k] = make(map[string]T, len(m))
		for id, r := range m {
			out[k][id] = r
		}
	}
	return out
}

// Counter is the number of accepted updates.
func (s *Store[T]) Counter() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.counter
}

// MarshalJSON gives the /butterfly shape {list: {key: {id: rumor}},
// update_counter}.
func (s *Store[T]) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		List          map[string]map[string]T `json:"list"`
		UpdateCounter uint64                  `json:"update_counter"`
	}{s.All(), s.Counter()})
}

// PkgIdent is a member's package, split.
type PkgIdent struct {
	Origin  string `json:"origin"`
	Name    string `json:"name"`
	Version string `json:"version"`
	Release string `json:"release"`
}

// Service is a member running a service group: what it exports.
type Service struct {
	MemberID       string               `json:"member_id"`
	ServiceGroup   string               `json:"service_group"`
	Incarnation    uint64               `json:"incarnation"`
	Initialized    bool                 `json:"initialized"`
	Pkg            string               `json:"pkg"`
	PkgIncarnation uint64               `json:"pkg_incarnation"`
	Cfg            *templating.Object   `json:"cfg"`
	Sys            templating.MemberSys `json:"sys"`
}

func (r Service) RumorKey() string         { return r.ServiceGroup }
func (r Service) RumorID() string          { return r.MemberID }
func (r Service) RumorIncarnation() uint64 { return r.Incarnation }

// ServiceConfig is configuration applied to a service group (hab config
// apply); one per group.
type ServiceConfig struct {
	FromID       string `json:"from_id"`
	ServiceGroup string `json:"service_group"`
	Incarnation  uint64 `json:"incarnation"`
	Encrypted    bool   `json:"encrypted"`
	Config       string `json:"config"`
}

func (r ServiceConfig) RumorKey() string         { return r.ServiceGroup }
func (r ServiceConfig) RumorID() string          { return "service_config" }
func (r ServiceConfig) RumorIncarnation() uint64 { return r.Incarnation }

// ServiceFile is a file uploaded to a service group (hab file upload);
// one per group and file name.
type ServiceFile struct {
	FromID       string `json:"from_id"`
	ServiceGroup string `json:"service_group"`
	Incarnation  uint64 `json:"incarnation"`
	Encrypted    bool   `json:"encrypted"`
	Filename     string `json:"filename"`
	Body         []byte `json:"body"`
}

func (r ServiceFile) RumorKey() string         { return r.ServiceGroup }
func (r ServiceFile) RumorID() string          { return r.Filename }
func (r ServiceFile) RumorIncarnation() uint64 { return r.Incarnation }

// Departure is a member that left the ring for good.
type Departure struct {
	MemberID string `json:"member_id"`
}

func (r Departure) RumorKey() string         { return "departure" }
func (r Departure) RumorID() string          { return r.MemberID }
func (r Departure) RumorIncarnation() uint64 { return 0 }
