package ringtest

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestFailoverBench (FAILOVER_BENCH=1, bench/failover.sh): the time a
// leader group of real supervisors with the default timing takes to
// follow a new leader after its leader is killed (SIGKILL), against the
// baseline it cannot beat: the ring's failure detection, the time until
// every survivor sees the old leader Confirmed. Five members, the leader
// killed while the survivors keep quorum (FAILOVER_BENCH_MEMBERS, 5:
// twice). Prints, per kill, when a survivor first saw the old leader
// Suspect (or Confirmed: butterfly shows no Suspect today, since
// memberlist's Members never sets Node.State), when all saw it Confirmed,
// when one showed another election than the finished one, and when they
// agreed on a new leader:
//
//	failover: leader killed; Suspect S s, Confirmed C s, election D s, new leader L s (L-C after detection, ratio L/C)
func TestFailoverBench(t *testing.T) {
	n := benchMembers(t, "FAILOVER_BENCH", "bench/failover.sh")
	r := newRing(t)
	all := []*member{r.start("m1", opts{args: []string{"--permanent-peer"}})}
	for i := 2; i <= n; i++ {
		all = append(all, r.start(fmt.Sprintf("m%d", i), opts{args: []string{"--peer", all[0].gossip}}))
	}
	for _, m := range all {
		m.load("habtest/ringsvc", "--topology", "leader")
	}
	waitFor(t, "every member alive everywhere", func() bool { return allAlive(all...) })
	waitFor(t, "one leader every member agrees on", func() bool { _, ok := agreed(all...); return ok })
	live := all
	for len(live) > n/2+1 { // kill leaders while the survivors keep quorum
		leader, _ := agreed(live...)
		old := byID(live, leader)
		live = slices.DeleteFunc(slices.Clone(live), func(m *member) bool { return m == old })
		began := time.Now()
		old.kill()
		var suspect, confirmed, election, newLeader time.Duration
		since := func(d *time.Duration, cond bool) {
			if *d == 0 && cond {
				*d = time.Since(began)
			}
		}
		for newLeader == 0 || confirmed == 0 {
			if time.Since(began) > 2*time.Minute {
				t.Fatalf("no new leader 2 minutes after the kill: %v", leaders(live...))
			}
			anySuspect, allConfirmed, anyElection := false, true, false
			for _, m := range live {
				h := m.health()[old.id]
				anySuspect = anySuspect || h == "Suspect" || h == "Confirmed"
				allConfirmed = allConfirmed && h == "Confirmed"
				if g := m.census().CensusGroups[sg]; g != nil && g.ElectionStatus != "ElectionFinished" {
					anyElection = true
				}
			}
			since(&suspect, anySuspect)
			since(&confirmed, allConfirmed)
			since(&election, anyElection)
			l, ok := agreed(live...)
			since(&newLeader, ok && l != old.id)
			time.Sleep(50 * time.Millisecond)
		}
		fmt.Printf("failover: leader killed; Suspect %.2f s, Confirmed %.2f s, election %.2f s, new leader %.2f s (%.2f s after detection, ratio %.2f)\n",
			suspect.Seconds(), confirmed.Seconds(), election.Seconds(), newLeader.Seconds(), (newLeader - confirmed).Seconds(), newLeader.Seconds()/confirmed.Seconds())
	}
}
