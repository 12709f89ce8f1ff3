package census

import (
	"sort"
	"strings"
	"sync"

	"github.com/habgo/hab/core/templating"
)

// Health is a member's health as SWIM sees it.
type Health string

// The healths, from best to worst.
const (
	Alive     Health = "Alive"
	Suspect   Health = "Suspect"
	Confirmed Health = "Confirmed"
	Departed  Health = "Departed"
)

// Member is a supervisor of the ring.
type Member struct {
	ID          string `json:"id"`
	Incarnation uint64 `json:"incarnation"`
	Address     string `json:"address"`
	SwimPort    uint32 `json:"swim_port"`
	GossipPort  uint32 `json:"gossip_port"`
	Persistent  bool   `json:"persistent"`
	Departed    bool   `json:"departed"`
}

// Ring is everything this supervisor knows: the members with their health,
// the rumor stores and the elections. Gossip (sup/butterfly) adds the
// other members through AddMember and their rumors through the stores'
// Insert.
type Ring struct {
	LocalID    string
	Services   *Store[Service]
	Configs    *Store[ServiceConfig]
	Files      *Store[ServiceFile]
	Departures *Store[Departure]

	mu          sync.RWMutex
	members     map[string]Member
	health      map[string]Health
	memberRevs  uint64
	suitability map[string]uint64 // this member's, by service group

	leaders, updates Elections
	electionRevs     uint64

	// shown holds the configs and files as /census shows them: opened
	// with this supervisor's keys (SetOpened); nil, the plain rumors of
	// Configs and Files.
	shownConfigs *Store[ServiceConfig]
	shownFiles   *Store[ServiceFile]
}

// NewRing returns a ring holding only the local member.
func NewRing(local Member) *Ring {
	r := &Ring{
		LocalID:     local.ID,
		Services:    NewStore[Service](),
		Configs:     NewStore[ServiceConfig](),
		Files:       NewStore[ServiceFile](),
		Departures:  NewStore[Departure](),
		members:     map[string]Member{},
		health:      map[string]Health{},
		suitability: map[string]uint64{},
	}
	r.AddMember(local, Alive)
	return r
}

// SetOpened gives the census the stores holding the ring's configs and
// files in the clear, as this supervisor's services use them (an
// encrypted rumor opened with its keys). /census shows those, as the
// original's census does: it decrypts what it can, and of a rumor it
// cannot open it keeps the value it showed before (the service_config
// stays null, a file stays out, when there was none). Without SetOpened
// the census shows the plain rumors of the ring's stores and leaves the
// encrypted ones out: it never shows a ciphertext as a value.
func (r *Ring) SetOpened(configs *Store[ServiceConfig], files *Store[ServiceFile]) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.shownConfigs, r.shownFiles = configs, files
}

// shown returns the stores /census takes configs and files from.
func (r *Ring) shown() (*Store[ServiceConfig], *Store[ServiceFile]) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	configs, files := r.shownConfigs, r.shownFiles
	if configs == nil {
		configs = r.Configs
	}
	if files == nil {
		files = r.Files
	}
	return configs, files
}

// AddMember records a member and its health.
func (r *Ring) AddMember(m Member, h Health) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.members[m.ID] = m
	r.health[m.ID] = h
	r.memberRevs++
}

// HealthOf is a member's health; Confirmed for an unknown member.
func (r *Ring) HealthOf(id string) Health {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if h, ok := r.health[id]; ok {
		return h
	}
	return Confirmed
}

// SetSuitability records this member's suitability for the elections of
// service group sg: what its service's suitability hook answered.
func (r *Ring) SetSuitability(sg string, v uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.suitability[sg] = v
}

// ForgetSuitability drops this member's suitability for sg (its service
// left the group).
func (r *Ring) ForgetSuitability(sg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.suitability, sg)
}

// Suitability is this member's bid in the elections of sg: the
// suitability hook's answer, or 0 (the original's default) when the
// service has no hook, has not run it or it failed. The ring's elector
// takes it as the group's suitability function.
func (r *Ring) Suitability(sg string) uint64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.suitability[sg]
}

// Version changes whenever anything in the ring changes: consumers
// re-render when it moves.
func (r *Ring) Version() uint64 {
	r.mu.RLock()
	m := r.memberRevs + r.electionRevs
	r.mu.RUnlock()
	return m + r.Services.Counter() + r.Configs.Counter() + r.Files.Counter() + r.Departures.Counter()
}

// SplitServiceGroup splits "svc.group[@org]" into its parts.
func SplitServiceGroup(sg string) (service, group, org string) {
	rest, org, _ := strings.Cut(sg, "@")
	service, group, _ = strings.Cut(rest, ".")
	return service, group, org
}

// Members returns the census members of a service group, by member id.
func (r *Ring) Members(sg string) []templating.SvcMember {
	rumors := r.Services.Key(sg)
	ids := make([]string, 0, len(rumors))
	for id := range rumors {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]templating.SvcMember, 0, len(ids))
	st := r.electionState(sg)
	for _, id := range ids {
		m := r.member(rumors[id])
		st.mark(&m)
		out = append(out, m)
	}
	return out
}

func (r *Ring) member(s Service) templating.SvcMember {
	svc, group, org := SplitServiceGroup(s.ServiceGroup)
	parts := strings.Split(s.Pkg, "/")
	for len(parts) < 4 {
		parts = append(parts, "")
	}
	pkg, pkgStr := templating.MemberPkg(parts[0], parts[1], parts[2], parts[3])
	h := r.HealthOf(s.MemberID)
	r.mu.RLock()
	persistent := r.members[s.MemberID].Persistent
	r.mu.RUnlock()
	m := templating.SvcMember{
		MemberID:       s.MemberID,
		Pkg:            pkg,
		PkgIncarnation: s.PkgIncarnation,
		Package:        pkgStr,
		Service:        svc,
		Group:          group,
		Persistent:     persistent,
		Sys:            s.Sys,
		Alive:          h == Alive,
		Suspect:        h == Suspect,
		Confirmed:      h == Confirmed,
		Departed:       h == Departed,
		Cfg:            s.Cfg,
	}
	if org != "" {
		m.Org = &org
	}
	return m
}

// BindGroup is the bind.NAME a consumer sees of a service group, and
// whether the group satisfies the bind: a live member exporting every
// key named.
func (r *Ring) BindGroup(sg string, exports []string) (templating.BindGroup, bool) {
	members := []templating.SvcMember{}
	for _, m := range r.Members(sg) {
		if m.Alive || m.Suspect {
			members = append(members, m)
		}
	}
	bg := templating.BindGroup{Members: members}
	satisfied := false
	for i := range members {
		m := &members[i]
		if bg.First == nil {
			bg.First = m
		}
		if m.Leader {
			bg.Leader = m
		}
		has := true
		for _, k := range exports {
			if m.Cfg == nil {
				has = false
				break
			}
			if _, ok := m.Cfg.Path(k); !ok {
				has = false
			}
		}
		satisfied = satisfied || (has && m.Alive)
	}
	return bg, satisfied
}

// GroupCensus is one group of /census.
type GroupCensus struct {
	ServiceGroup         string                          `json:"service_group"`
	ElectionStatus       string                          `json:"election_status"`
	UpdateElectionStatus string                          `json:"update_election_status"`
	PkgIncarnation       uint64                          `json:"pkg_incarnation"`
	LeaderID             *string                         `json:"leader_id"`
	ServiceConfig        *CensusConfig                   `json:"service_config"`
	LocalMemberID        string                          `json:"local_member_id"`
	Population           map[string]templating.SvcMember `json:"population"`
	UpdateLeaderID       *string                         `json:"update_leader_id"`
	ChangedServiceFiles  []string                        `json:"changed_service_files"`
	ServiceFiles         map[string]CensusFile           `json:"service_files"`
}

// CensusConfig is a group's applied configuration.
type CensusConfig struct {
	Incarnation uint64             `json:"incarnation"`
	Value       *templating.Object `json:"value"`
}

// CensusFile is a group's uploaded file.
type CensusFile struct {
	Filename    string `json:"filename"`
	Incarnation uint64 `json:"incarnation"`
	Body        []byte `json:"body"`
}

// Census is the /census document.
type Census struct {
	Changed                  bool                    `json:"changed"`
	CensusGroups             map[string]*GroupCensus `json:"census_groups"`
	LocalMemberID            string                  `json:"local_member_id"`
	LastServiceCounter       uint64                  `json:"last_service_counter"`
	LastElectionCounter      uint64                  `json:"last_election_counter"`
	LastElectionUpdateCount  uint64                  `json:"last_election_update_counter"`
	LastMembershipCounter    uint64                  `json:"last_membership_counter"`
	LastServiceConfigCounter uint64                  `json:"last_service_config_counter"`
	LastServiceFileCounter   uint64                  `json:"last_service_file_counter"`
}

// Census builds the census of every group known from any rumor.
func (r *Ring) Census() Census {
	groups := map[string]*GroupCensus{}
	get := func(sg string) *GroupCensus {
		g, ok := groups[sg]
		if !ok {
			g = &GroupCensus{ServiceGroup: sg, ElectionStatus: "None", UpdateElectionStatus: "None", LocalMemberID: r.LocalID,
				Population: map[string]templating.SvcMember{}, ChangedServiceFiles: []string{}, ServiceFiles: map[string]CensusFile{}}
			groups[sg] = g
		}
		return g
	}
	for sg := range r.Services.All() {
		g := get(sg)
		st := r.electionState(sg)
		g.ElectionStatus, g.UpdateElectionStatus = censusStatus(st.status), censusStatus(st.updateStatus)
		if st.leader != "" {
			g.LeaderID = &st.leader
		}
		if st.updateLeader != "" {
			g.UpdateLeaderID = &st.updateLeader
		}
		for _, m := range r.Members(sg) {
			g.Population[m.MemberID] = m
			if m.PkgIncarnation > g.PkgIncarnation {
				g.PkgIncarnation = m.PkgIncarnation
			}
		}
	}
	configs, files := r.shown()
	for sg, m := range configs.All() {
		for _, c := range m {
			if c.Encrypted {
				continue
			}
			if v, err := templating.ParseTOML(sg, []byte(c.Config)); err == nil {
				get(sg).ServiceConfig = &CensusConfig{Incarnation: c.Incarnation, Value: v}
			}
		}
	}
	for sg, m := range files.All() {
		for name, f := range m {
			if f.Encrypted {
				continue
			}
			get(sg).ServiceFiles[name] = CensusFile{Filename: f.Filename, Incarnation: f.Incarnation, Body: f.Body}
		}
	}
	r.mu.RLock()
	membership, elections := r.memberRevs, r.electionRevs
	r.mu.RUnlock()
	return Census{
		Changed:                  true,
		CensusGroups:             groups,
		LocalMemberID:            r.LocalID,
		LastServiceCounter:       r.Services.Counter(),
		LastElectionCounter:      elections,
		LastMembershipCounter:    membership,
		LastServiceConfigCounter: r.Configs.Counter(),
		LastServiceFileCounter:   r.Files.Counter(),
	}
}

// Butterfly is the /butterfly document: the member list and every rumor
// store.
func (r *Ring) Butterfly() map[string]any {
	r.mu.RLock()
	members := make(map[string]Member, len(r.members))
	health := make(map[string]Health, len(r.health))
	for id, m := range r.members {
		members[id] = m
		health[id] = r.health[id]
	}
	memberRevs := r.memberRevs
	r.mu.RUnlock()
	leaders, updates := r.elections()
	departed := []string{}
	for _, byID := range r.Departures.All() {
		for id := range byID {
			departed = append(departed, id)
		}
	}
	sort.Strings(departed)
	latest := map[string]any{}
	for sg, m := range r.Configs.All() {
		for _, c := range m {
			latest[sg] = c
		}
	}
	return map[string]any{
		"member":                 map[string]any{"members": members, "health": health, "update_counter": memberRevs},
		"membership":             map[string]any{"members": members, "health": health},
		"service":                r.Services,
		"services":               r.Services,
		"service_config":         r.Configs,
		"latest_service_config":  latest,
		"service_file":           r.Files,
		"service_files":          r.Files,
		"election":               electionRumors(leaders),
		"latest_election":        latestElections(leaders),
		"election_update":        electionRumors(updates),
		"latest_election_update": latestElections(updates),
		"departure":              r.Departures,
		"departed_members":       departed,
	}
}
