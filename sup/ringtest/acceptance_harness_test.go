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
// with the files of extra added to it (executable), once per release
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
		if err := os.WriteFile(filepath.Join(plan, rel), []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var harts []string
	var ids []ident.Ident
	for _, release := range releases {
		var out bytes.Buffer
		res, err := builder.Build(context.Background(), plan, builder.Options{
			Root: paths.At(filepath.Join(dir, "build")), Env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TERM=dumb"},
			Release: release, WorkDir: dir, Keys: crypto.Cache{Dir: fix.keys}, Output: &out,
		})
		if err != nil {
			t.Fatalf("build fixtures/%s %s: %v\n%s", name, release, err, out.String())
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

// sample is one look at a member: the release its service runs and the
// leaders its census shows, with the time the look began and ended.
type sample struct {
	began, ended         time.Time
	running              string
	leader, updateLeader string
}

// timeline samples ms until stopped: every member's release and its
// census's service and update leaders, as fast as the gateways answer.
type timeline struct {
	mu      sync.Mutex
	samples map[string][]sample // by member name
}

func recordTimeline(ms []*member, group string) (*timeline, func()) {
	tl := &timeline{samples: map[string][]sample{}}
	svc, _, _ := strings.Cut(group, ".")
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			for _, m := range ms {
				s := sample{began: time.Now(), running: m.runningOf(svc)}
				if g := m.census().CensusGroups[group]; g != nil {
					if g.LeaderID != nil {
						s.leader = *g.LeaderID
					}
					if g.UpdateLeaderID != nil {
						s.updateLeader = *g.UpdateLeaderID
					}
				}
				s.ended = time.Now()
				tl.mu.Lock()
				tl.samples[m.name] = append(tl.samples[m.name], s)
				tl.mu.Unlock()
			}
		}
	}()
	return tl, func() { close(stop); <-done }
}

// move is the time a member spent between releases: after the last look
// that saw it on from began and before the first look that saw it on to
// ended, so the real move lies within it.
type move struct {
	member       string
	leftBy, upBy time.Time
}

// moves are the members' moves from one release to another, in the
// order they began; a member never seen leaving from for to is missing.
func (tl *timeline) moves(from, to string) []move {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var out []move
	for name, ss := range tl.samples {
		lastOld, firstNew := -1, -1
		for i, s := range ss {
			if s.running == from && firstNew < 0 {
				lastOld = i
			}
			if s.running == to && firstNew < 0 {
				firstNew = i
			}
		}
		if lastOld < 0 || firstNew < 0 {
			continue
		}
		out = append(out, move{member: name, leftBy: ss[lastOld].began, upBy: ss[firstNew].ended})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].leftBy.Before(out[j].leftBy) })
	return out
}

// sameLeaders is every look at which a member's census showed one
// member as both the service leader and the update leader.
func (tl *timeline) sameLeaders() []string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var out []string
	for name, ss := range tl.samples {
		for _, s := range ss {
			if s.leader != "" && s.leader == s.updateLeader {
				out = append(out, fmt.Sprintf("%s at %s saw %s lead both", name, s.began.Format("15:04:05.000"), s.leader))
			}
		}
	}
	sort.Strings(out)
	return out
}

// looks is how many looks were taken at each member.
func (tl *timeline) looks() map[string]int {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	out := map[string]int{}
	for name, ss := range tl.samples {
		out[name] = len(ss)
	}
	return out
}
