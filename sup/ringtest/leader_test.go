package ringtest

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// leaders is the leader each member's census shows ("" for none), by
// member name.
func leaders(ms ...*member) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		out[m.name] = m.leaderSeen(sg)
	}
	return out
}

// agreed reports the one leader every member shows, when they agree on
// one.
func agreed(ms ...*member) (string, bool) {
	var id string
	for i, m := range ms {
		l := m.leaderSeen(sg)
		if l == "" || (i > 0 && l != id) {
			return "", false
		}
		id = l
	}
	return id, true
}

func byID(ms []*member, id string) *member {
	for _, m := range ms {
		if m.id == id {
			return m
		}
	}
	return nil
}

// waitRendered waits until every member renders leader as svc.leader,
// and itself as the leader or a follower.
func waitRendered(t *testing.T, what, leader string, ms ...*member) {
	t.Helper()
	var last string // the member last found rendering something else, for a failure
	defer func() {
		if t.Failed() && last != "" {
			t.Logf("while waiting for %s: %s", what, last)
		}
	}()
	waitFor(t, what, func() bool {
		for _, m := range ms {
			s := m.settings()
			if s["svc_leader"] != leader || s["leader"] != fmt.Sprint(m.id == leader) || s["follower"] != fmt.Sprint(m.id != leader) {
				last = fmt.Sprintf("%s rendered svc_leader=%q leader=%q follower=%q, its census names %q", m.name, s["svc_leader"], s["leader"], s["follower"], m.leaderSeen(sg))
				return false
			}
		}
		return true
	})
}

// A leader-topology group of three elects one leader, which every member
// renders (svc.me.leader on it alone, svc.leader everywhere); killed, the
// two left elect another.
func TestLeaderTopology(t *testing.T) {
	r := newRing(t)
	a := r.start("a", opts{args: []string{"--permanent-peer"}})
	b := r.start("b", opts{args: []string{"--peer", a.gossip}})
	c := r.start("c", opts{args: []string{"--peer", a.gossip}})
	all := []*member{a, b, c}
	a.load("habtest/ringsvc", "--topology", "leader")
	// With one member of three the service waits for a leader.
	a.waitOutput("Waiting for a leader of " + sg)
	if s := a.settings(); s != nil {
		t.Errorf("a rendered its configuration before the group had a leader: %v", s)
	}
	b.load("habtest/ringsvc", "--topology", "leader")
	c.load("habtest/ringsvc", "--topology", "leader")
	var leader string
	waitFor(t, "one leader every member agrees on", func() bool {
		var ok bool
		leader, ok = agreed(all...)
		return ok
	})
	waitRendered(t, "the leader rendered on every member", leader, all...)
	if g := a.census().CensusGroups[sg]; g.ElectionStatus != "ElectionFinished" {
		t.Errorf("election_status %q", g.ElectionStatus)
	}

	old := byID(all, leader)
	old.kill()
	rest := slices.DeleteFunc(slices.Clone(all), func(m *member) bool { return m == old })
	waitFor(t, "a new leader the two left agree on", func() bool {
		l, ok := agreed(rest...)
		if ok && l == old.id {
			return false
		}
		leader = l
		return ok
	})
	waitRendered(t, "the new leader rendered on both", leader, rest...)
}

// firewall drops traffic between loopback addresses for the partition
// test: a chain of its own in the INPUT chain, removed when the test
// ends.
type firewall struct {
	t     *testing.T
	chain string
}

func newFirewall(t *testing.T) *firewall {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the partition test drops traffic with iptables, which needs root")
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skip("the partition test drops traffic with iptables, which is not installed")
	}
	f := &firewall{t: t, chain: fmt.Sprintf("HAB-RINGTEST-%d", os.Getpid())}
	f.run("-N", f.chain)
	f.run("-I", "INPUT", "-j", f.chain)
	t.Cleanup(func() {
		f.run("-D", "INPUT", "-j", f.chain)
		f.run("-F", f.chain)
		f.run("-X", f.chain)
	})
	return f
}

func (f *firewall) run(args ...string) {
	f.t.Helper()
	if out, err := exec.Command("iptables", append([]string{"-w"}, args...)...).CombinedOutput(); err != nil {
		f.t.Fatalf("iptables %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// cut drops everything between the members of one side and the other.
func (f *firewall) cut(side1, side2 []*member) {
	for _, x := range side1 {
		for _, y := range side2 {
			f.run("-A", f.chain, "-s", x.ip, "-d", y.ip, "-j", "DROP")
			f.run("-A", f.chain, "-s", y.ip, "-d", x.ip, "-j", "DROP")
		}
	}
}

func (f *firewall) heal() { f.run("-F", f.chain) }

// A group of five split two (with the leader) against three: at no
// moment do two members act as leader; the two have none, the three
// elect one; healed, all five follow one leader. Each member gossips on
// a loopback address of its own, and the split drops the packets between
// them (iptables), so the supervisors run as they would.
func TestLeaderPartition(t *testing.T) {
	fw := newFirewall(t)
	r := newRing(t)
	base := fmt.Sprintf("127.77.%d.", os.Getpid()%250+1)
	var all []*member
	for i := 1; i <= 5; i++ {
		o := opts{ip: fmt.Sprintf("%s%d", base, i)}
		if i == 1 {
			o.args = []string{"--permanent-peer"}
		} else {
			o.args = []string{"--peer", all[0].gossip}
		}
		all = append(all, r.start(fmt.Sprintf("m%d", i), o))
	}
	for _, m := range all {
		m.load("habtest/ringsvc", "--topology", "leader")
	}
	var leader string
	waitFor(t, "one leader all five agree on", func() bool {
		var ok bool
		leader, ok = agreed(all...)
		return ok
	})

	// Sample every member's view until the end: who acts as leader (its
	// own census names itself), and which leaders are named.
	var mu sync.Mutex
	var violations []string
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			default:
			}
			seen := leaders(all...)
			var acting []string
			named := map[string]bool{}
			for _, m := range all {
				if seen[m.name] == m.id {
					acting = append(acting, m.name)
				}
				if seen[m.name] != "" {
					named[seen[m.name]] = true
				}
			}
			if len(acting) > 1 || len(named) > 1 {
				mu.Lock()
				violations = append(violations, fmt.Sprintf("%s: acting %v, views %v", time.Now().Format(time.StampMilli), acting, seen))
				mu.Unlock()
			}
		}
	}()
	defer func() {
		close(stop)
		<-sampled
		mu.Lock()
		defer mu.Unlock()
		for _, v := range violations {
			t.Errorf("two leaders at once: %s", v)
		}
	}()

	old := byID(all, leader)
	var minority, majority []*member
	minority = append(minority, old)
	for _, m := range all {
		if m != old && len(minority) < 2 {
			minority = append(minority, m)
		} else if m != old {
			majority = append(majority, m)
		}
	}
	fw.cut(minority, majority)
	waitFor(t, "no leader on the minority side", func() bool {
		for _, m := range minority {
			if m.leaderSeen(sg) != "" {
				return false
			}
		}
		return true
	})
	waitFor(t, "a new leader the majority agrees on", func() bool {
		l, ok := agreed(majority...)
		if ok && l != old.id && byID(majority, l) != nil {
			leader = l
			return true
		}
		return false
	})
	for _, m := range minority {
		if l := m.leaderSeen(sg); l != "" {
			t.Errorf("the minority member %s sees leader %s while the majority follows %s", m.name, l, leader)
		}
	}

	fw.heal()
	waitFor(t, "one leader all five agree on after the split heals", func() bool {
		l, ok := agreed(all...)
		leader = l
		return ok
	})
	waitRendered(t, "the one leader rendered on all five", leader, all...)
}
