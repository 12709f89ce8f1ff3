package census_test

import (
	"testing"

	"github.com/habgo/hab/core/templating"
	"github.com/habgo/hab/sup/census"
	"github.com/habgo/hab/sup/election"
)

// TestElectionsInTheCensus: a finished election of a live leader shows in
// /census (leader_id, ElectionFinished), /butterfly, every member's
// leader/follower flags, svc.leader and svc.me, and bind.NAME.leader; a
// leader that is not Alive, or a group without quorum, has none.
func TestElectionsInTheCensus(t *testing.T) {
	const sg = "redis.default"
	for _, tt := range []struct {
		name       string
		health     map[string]census.Health
		leader     string
		status     string
		censusStat string
	}{
		{"live leader", map[string]census.Health{"a": census.Alive, "b": census.Alive, "c": census.Alive}, "b", "finished", "ElectionFinished"},
		{"leader confirmed", map[string]census.Health{"a": census.Alive, "b": census.Confirmed, "c": census.Alive}, "", "finished", "ElectionFinished"},
		{"no quorum", map[string]census.Health{"a": census.Alive, "b": census.Confirmed, "c": census.Confirmed}, "", "finished", "ElectionFinished"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := census.NewRing(census.Member{ID: "a"})
			for id, h := range tt.health {
				r.AddMember(census.Member{ID: id}, h)
				r.Services.Insert(census.Service{MemberID: id, ServiceGroup: sg, Incarnation: 1, Pkg: "core/redis/1/2", Cfg: templating.NewObject()})
			}
			leaders := election.New("a", election.RingView{Ring: r}, 3)
			leaders.Insert(election.Election{MemberID: "b", ServiceGroup: sg, Status: election.Finished, Votes: []string{"a", "b", "c"}})
			r.SetElections(leaders, nil)
			before := r.Version()
			r.ElectionChanged()
			if r.Version() == before {
				t.Error("ElectionChanged did not move Version")
			}

			g := r.Census().CensusGroups[sg]
			gotLeader := ""
			if g.LeaderID != nil {
				gotLeader = *g.LeaderID
			}
			if gotLeader != tt.leader || g.ElectionStatus != tt.censusStat || g.UpdateElectionStatus != "None" {
				t.Errorf("census leader %q status %q/%q, want %q %q/None", gotLeader, g.ElectionStatus, g.UpdateElectionStatus, tt.leader, tt.censusStat)
			}
			for _, m := range r.Members(sg) {
				if m.Leader != (m.MemberID == tt.leader) || m.Follower != (tt.leader != "" && m.MemberID != tt.leader) || !m.ElectionIsFinished {
					t.Errorf("member %s: leader %v follower %v finished %v", m.MemberID, m.Leader, m.Follower, m.ElectionIsFinished)
				}
			}
			svc := &templating.Svc{Me: templating.SvcMember{MemberID: "a"}, Members: r.Members(sg)}
			r.Elect(sg, svc)
			if (svc.Leader != nil) != (tt.leader != "") || (svc.Leader != nil && svc.Leader.MemberID != tt.leader) {
				t.Errorf("svc.leader = %+v, want %q", svc.Leader, tt.leader)
			}
			if svc.Me.Leader || svc.Me.Follower != (tt.leader != "") || !svc.ElectionIsFinished {
				t.Errorf("svc.me leader %v follower %v, finished %v", svc.Me.Leader, svc.Me.Follower, svc.ElectionIsFinished)
			}
			bg, _ := r.BindGroup(sg, nil)
			if (bg.Leader != nil) != (tt.leader != "") {
				t.Errorf("bind leader = %+v, want %q", bg.Leader, tt.leader)
			}
			bf := r.Butterfly()
			if _, ok := bf["latest_election"].(map[string]census.ElectionRumor)[sg]; !ok {
				t.Errorf("/butterfly latest_election lacks %s: %v", sg, bf["latest_election"])
			}
		})
	}
}
