package ringtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/planner/builder"
)

// buildFixture builds a copy of the repository's fixtures/NAME plan,
// with the files of extra added to it (hooks executable), once per release
// given, with the fixtures' key, and returns the harts and idents in the
// order given.
func buildFixture(t *testing.T, fix fixtures, name, version string, extra map[string]string, releases ...string) ([]string, []ident.Ident) {
	t.Helper()
	dir := t.TempDir()
	plan := filepath.Join(dir, name)
	if out, err := exec.Command("cp", "-a", filepath.Join("..", "..", "fixtures", name), plan).CombinedOutput(); err != nil {
		t.Fatalf("copy fixtures/%s: %v %s", name, err, out)
	}
	for rel, content := range extra {
		mode := os.FileMode(0o644)
		if strings.HasPrefix(rel, "hooks/") {
			mode = 0o755
		}
		if err := os.WriteFile(filepath.Join(plan, rel), []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	return buildPlan(t, fix, dir, plan, name, version, releases)
}

// buildPlan builds the plan at plan, working in dir, once per release
// given, with the fixtures' key, and returns the harts and the idents
// habtest/NAME/VERSION/RELEASE in the order given.
func buildPlan(t *testing.T, fix fixtures, dir, plan, name, version string, releases []string) ([]string, []ident.Ident) {
	t.Helper()
	var harts []string
	var ids []ident.Ident
	for _, release := range releases {
		var out bytes.Buffer
		res, err := builder.Build(context.Background(), plan, builder.Options{
			Root: paths.At(filepath.Join(dir, "build")), Env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TERM=dumb"},
			Release: release, WorkDir: dir, Keys: crypto.Cache{Dir: fix.keys}, Output: &out,
		})
		if err != nil {
			t.Fatalf("build %s %s: %v\n%s", plan, release, err, out.String())
		}
		harts = append(harts, res.Artifact)
		ids = append(ids, ident.MustParse(fmt.Sprintf("habtest/%s/%s/%s", name, version, release)))
	}
	return harts, ids
}

// userTOML writes the member's user.toml of service svc, renamed into
// place so that the supervisor never reads half a file.
func (m *member) userTOML(svc, content string) {
	m.r.t.Helper()
	p := filepath.Join(m.root, "hab", "user", svc, "config", "user.toml")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		m.r.t.Fatal(err)
	}
	if err := os.WriteFile(p+".new", []byte(content), 0o644); err != nil {
		m.r.t.Fatal(err)
	}
	if err := os.Rename(p+".new", p); err != nil {
		m.r.t.Fatal(err)
	}
}

// runningOf is the release of svc (in its default group) that the
// member's supervisor runs, "" when its process is not up.
func (m *member) runningOf(svc string) string {
	var s struct {
		Pkg struct {
			Ident string `json:"ident"`
		} `json:"pkg"`
		Process struct {
			State string `json:"state"`
		} `json:"process"`
	}
	if !m.getJSON("/services/"+svc+"/default", &s) || s.Process.State != "up" {
		return ""
	}
	return s.Pkg.Ident
}

// renderedFile is a file of svc's config directory as the member's
// supervisor rendered it ("" when it is not there).
func (m *member) renderedFile(svc, name string) string {
	b, _ := os.ReadFile(filepath.Join(m.root, "hab", "svc", svc, "config", name))
	return string(b)
}

// httpBody is what a GET of url answers with 200 ("" otherwise).
func httpBody(url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return ""
	}
	return string(b)
}

// groupLeader is the one leader of group every one of ms shows in its
// census, when they agree on one of ms and each census marks exactly
// that member of the population as the leader.
func groupLeader(group string, ms ...*member) (*member, bool) {
	var id string
	for i, m := range ms {
		g := m.census().CensusGroups[group]
		if g == nil || g.LeaderID == nil || *g.LeaderID == "" || (i > 0 && *g.LeaderID != id) {
			return nil, false
		}
		id = *g.LeaderID
		marked := 0
		for mid, p := range g.Population {
			if p.Leader {
				marked++
				if mid != id {
					return nil, false
				}
			}
		}
		if marked != 1 {
			return nil, false
		}
	}
	l := byID(ms, id)
	return l, l != nil
}

// look is one look at a member's gateway: the release its service ran
// (at some moment after began), or the service and update leaders its
// census showed.
type look struct {
	began                time.Time
	running              string
	leader, updateLeader string
}

// timeline looks at every one of ms until stopped: one goroutine per
// member asks for its service's release as often as the gateway answers
// (so that the last look seeing the old release is close to the move),
// another reads the members' censuses for the leaders.
type timeline struct {
	mu      sync.Mutex
	running map[string][]look // by member name
	leaders map[string][]look
}

func recordTimeline(ms []*member, group string) (*timeline, func()) {
	tl := &timeline{running: map[string][]look{}, leaders: map[string][]look{}}
	svc, _, _ := strings.Cut(group, ".")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	every := func(pause time.Duration, f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(pause):
				}
				f()
			}
		}()
	}
	for _, m := range ms {
		every(2*time.Millisecond, func() {
			l := look{began: time.Now()}
			l.running = m.runningOf(svc)
			tl.mu.Lock()
			tl.running[m.name] = append(tl.running[m.name], l)
			tl.mu.Unlock()
		})
	}
	every(10*time.Millisecond, func() {
		for _, m := range ms {
			l := look{began: time.Now()}
			if g := m.census().CensusGroups[group]; g != nil {
				if g.LeaderID != nil {
					l.leader = *g.LeaderID
				}
				if g.UpdateLeaderID != nil {
					l.updateLeader = *g.UpdateLeaderID
				}
			}
			tl.mu.Lock()
			tl.leaders[m.name] = append(tl.leaders[m.name], l)
			tl.mu.Unlock()
		}
	})
	return tl, func() { close(stop); wg.Wait() }
}

// move is the time a member spent between two releases: it left the old
// one after leftAfter (the last look that saw it there began then) and
// ran the new one by upBy (its run hook's start of the new release).
type move struct {
	member          string
	leftAfter, upBy time.Time
}

// moves are the members' moves from one release to another, in the
// order they began; started gives the time a member's run hook started
// a release (false when it did not). A member never seen on from, or
// not started on to, is missing.
func (tl *timeline) moves(from, to string, started func(member, release string) (time.Time, bool)) []move {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var out []move
	for name, ls := range tl.running {
		last := -1
		for i, l := range ls {
			if l.running == to {
				break
			}
			if l.running == from {
				last = i
			}
		}
		up, ok := started(name, to)
		if last < 0 || !ok {
			continue
		}
		out = append(out, move{member: name, leftAfter: ls[last].began, upBy: up})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].leftAfter.Before(out[j].leftAfter) })
	return out
}

// sameLeaders is every look at which a member's census showed one
// member as both the service leader and the update leader.
func (tl *timeline) sameLeaders() []string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var out []string
	for name, ls := range tl.leaders {
		for _, l := range ls {
			if l.leader != "" && l.leader == l.updateLeader {
				out = append(out, fmt.Sprintf("%s at %s saw %s lead both", name, l.began.Format("15:04:05.000"), l.leader))
			}
		}
	}
	sort.Strings(out)
	return out
}

// looks is how many looks at each member's release were taken.
func (tl *timeline) looks() map[string]int {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	out := map[string]int{}
	for name, ls := range tl.running {
		out[name] = len(ls)
	}
	return out
}

// trace is what the looks at member name's release saw, one line each
// where it changed, timed from zero.
func (tl *timeline) trace(name string, zero time.Time) string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var b strings.Builder
	prev := "-"
	for _, l := range tl.running[name] {
		if l.running != prev {
			fmt.Fprintf(&b, "%s %q\n", l.began.Sub(zero).Round(time.Millisecond), l.running)
			prev = l.running
		}
	}
	return b.String()
}

// startedAt is when the member's run hook, writing "UNIXNANO IDENT"
// lines to the service's data/starts, started release.
func (m *member) startedAt(svc, release string) (time.Time, bool) {
	b, _ := os.ReadFile(filepath.Join(m.root, "hab", "svc", svc, "data", "starts"))
	for _, line := range strings.Split(string(b), "\n") {
		var ns int64
		var id string
		if _, err := fmt.Sscan(line, &ns, &id); err == nil && id == release {
			return time.Unix(0, ns), true
		}
	}
	return time.Time{}, false
}
