package census

import (
	"encoding/json"

	"github.com/habgo/hab/core/templating"
)

// Elections is what the census needs of one kind of election (the
// leaders', or the update leaders'): the leader of a group as this member
// sees it, the election's status (none, in-progress, no-quorum,
// finished) and its rumors for /butterfly, by group and id (sup/election's
// Elector).
type Elections interface {
	Leader(sg string) (string, bool)
	Status(sg string) string
	Rumors() map[string]map[string]ElectionRumor
}

// ElectionRumor is an election rumor as the census sees it: what ranks it
// among the rumors of its group, and the rumor as /butterfly shows it.
type ElectionRumor struct {
	Term        uint64
	Finished    bool
	Suitability uint64
	MemberID    string
	Rumor       any // shown as it marshals
}

// MarshalJSON shows the rumor.
func (e ElectionRumor) MarshalJSON() ([]byte, error) { return json.Marshal(e.Rumor) }

// outranks reports whether e is a later election of its group than o, by
// the original's merge rule: the higher term; in one term a finished
// election over one still running; then the higher suitability; then the
// larger member id.
func (e ElectionRumor) outranks(o ElectionRumor) bool {
	switch {
	case e.Term != o.Term:
		return e.Term > o.Term
	case e.Finished != o.Finished:
		return e.Finished
	case e.Suitability != o.Suitability:
		return e.Suitability > o.Suitability
	}
	return e.MemberID > o.MemberID
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
	list := map[string]map[string]ElectionRumor{}
	if e != nil {
		list = e.Rumors()
	}
	return map[string]any{"list": list, "update_counter": 0}
}

// latestElections is the latest_election(_update) of /butterfly: the
// latest election of each group (outranks), whatever order the rumors
// come in.
func latestElections(e Elections) map[string]ElectionRumor {
	out := map[string]ElectionRumor{}
	if e == nil {
		return out
	}
	for sg, byID := range e.Rumors() {
		for _, r := range byID {
			if cur, ok := out[sg]; !ok || r.outranks(cur) {
				out[sg] = r
			}
		}
	}
	return out
}
