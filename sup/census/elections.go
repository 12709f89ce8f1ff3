package census

import (
	"encoding/json"

	"github.com/habgo/hab/core/templating"
)

// Elections is what the census needs of one kind of election (the
// leaders', or the update leaders'): the leader of a group as this member
// sees it, the election's status (none, in-progress, no-quorum,
// finished) and its rumors for /butterfly (sup/election's Elector,
// through the supervisor).
type Elections interface {
	Leader(sg string) (string, bool)
	Status(sg string) string
	Rumors() any
}

// SetElections gives the census the ring's elections; either may be nil
// (a supervisor without a ring).
func (r *Ring) SetElections(leaders, updates Elections) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.leaders, r.updates = leaders, updates
}

// ElectionChanged counts a change of an election, so that Version moves
// and the groups' services render again.
func (r *Ring) ElectionChanged() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.electionRevs++
}

func (r *Ring) elections() (leaders, updates Elections) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.leaders, r.updates
}

// electionState is one group's elections as this member sees them.
type electionState struct {
	leader, updateLeader string
	status, updateStatus string // none, in-progress, no-quorum, finished
}

func (r *Ring) electionState(sg string) electionState {
	st := electionState{status: "none", updateStatus: "none"}
	leaders, updates := r.elections()
	if leaders != nil {
		st.leader, _ = leaders.Leader(sg)
		st.status = leaders.Status(sg)
	}
	if updates != nil {
		st.updateLeader, _ = updates.Leader(sg)
		st.updateStatus = updates.Status(sg)
	}
	return st
}

// mark sets a member's election fields.
func (st electionState) mark(m *templating.SvcMember) {
	m.Leader = st.leader != "" && m.MemberID == st.leader
	m.Follower = st.leader != "" && m.MemberID != st.leader
	m.UpdateLeader = st.updateLeader != "" && m.MemberID == st.updateLeader
	m.UpdateFollower = st.updateLeader != "" && m.MemberID != st.updateLeader
	m.ElectionIsRunning, m.ElectionIsNoQuorum, m.ElectionIsFinished = statusFlags(st.status)
	m.UpdateElectionIsRunning, m.UpdateElectionIsNoQuorum, m.UpdateElectionIsFinished = statusFlags(st.updateStatus)
}

func statusFlags(status string) (running, noQuorum, finished bool) {
	return status == "in-progress", status == "no-quorum", status == "finished"
}

// censusStatus is an election status as /census spells it (the
// original's enum).
func censusStatus(status string) string {
	switch status {
	case "in-progress":
		return "ElectionInProgress"
	case "no-quorum":
		return "ElectionNoQuorum"
	case "finished":
		return "ElectionFinished"
	}
	return "None"
}

// Elect fills a service's render context with its group's elections:
// svc.leader, svc.update_leader, the election flags, and svc.me.leader /
// svc.me.follower (and the update ones) of every member.
func (r *Ring) Elect(sg string, svc *templating.Svc) {
	st := r.electionState(sg)
	st.mark(&svc.Me)
	svc.ElectionIsRunning, svc.ElectionIsNoQuorum, svc.ElectionIsFinished = statusFlags(st.status)
	svc.UpdateElectionIsRunning, svc.UpdateElectionIsNoQuorum, svc.UpdateElectionIsFinished = statusFlags(st.updateStatus)
	svc.Leader, svc.UpdateLeader = nil, nil
	for i := range svc.Members {
		m := &svc.Members[i]
		st.mark(m)
		if m.Leader {
			cp := *m
			svc.Leader = &cp
		}
		if m.UpdateLeader {
			cp := *m
			svc.UpdateLeader = &cp
		}
	}
	if svc.Me.Leader {
		cp := svc.Me
		svc.Leader = &cp
	}
	if svc.Me.UpdateLeader {
		cp := svc.Me
		svc.UpdateLeader = &cp
	}
	if len(svc.Members) > 0 {
		svc.First = svc.Members[0]
	}
}

// electionRumors is an election store as /butterfly shows it.
func electionRumors(e Elections) any {
	if e == nil {
		return map[string]any{"list": map[string]any{}, "update_counter": 0}
	}
	return map[string]any{"list": e.Rumors(), "update_counter": 0}
}

// latestElections is the latest_election(_update) of /butterfly: the
// election of each group.
func latestElections(e Elections) map[string]any {
	out := map[string]any{}
	if e == nil {
		return out
	}
	b, err := json.Marshal(e.Rumors())
	if err != nil {
		return out
	}
	var byGroup map[string]map[string]json.RawMessage
	if json.Unmarshal(b, &byGroup) != nil {
		return out
	}
	for sg, m := range byGroup {
		for _, v := range m {
			out[sg] = v
		}
	}
	return out
}
