package census

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/habgo/hab/core/templating"
)

// TestIncarnations: a rumor replaces another of its key and id only with
// a strictly greater incarnation, and only kept rumors count as updates.
func TestIncarnations(t *testing.T) {
	s := NewStore[ServiceConfig]()
	for _, tt := range []struct {
		inc  uint64
		kept bool
	}{{2, true}, {2, false}, {1, false}, {3, true}} {
		if got := s.Insert(ServiceConfig{ServiceGroup: "a.default", Incarnation: tt.inc, Config: "x = 1"}); got != tt.kept {
			t.Errorf("Insert(%d) = %v, want %v", tt.inc, got, tt.kept)
		}
	}
	if r, _ := s.Get("a.default", "service_config"); r.Incarnation != 3 || s.Counter() != 2 {
		t.Errorf("stored %d, counter %d", r.Incarnation, s.Counter())
	}
	b, _ := json.Marshal(s)
	if !strings.Contains(string(b), `"list":{"a.default":{"service_config":`) || !strings.Contains(string(b), `"update_counter":2`) {
		t.Errorf("JSON = %s", b)
	}
}

// TestBindGroup: a bind is satisfied by a live member exporting every key.
func TestBindGroup(t *testing.T) {
	r := NewRing(Member{ID: "me"})
	cfg := templating.NewObject()
	cfg.Set("port", int64(80))
	r.Services.Insert(Service{MemberID: "me", ServiceGroup: "web.default", Incarnation: 1, Pkg: "o/web/1/2", Cfg: cfg})
	if _, ok := r.BindGroup("web.default", []string{"port"}); !ok {
		t.Error("port exported: not satisfied")
	}
	if _, ok := r.BindGroup("web.default", []string{"port", "host"}); ok {
		t.Error("host not exported: satisfied")
	}
	if bg, ok := r.BindGroup("db.default", nil); ok || len(bg.Members) != 0 {
		t.Error("absent group satisfied")
	}
	r.AddMember(Member{ID: "me"}, Confirmed)
	if _, ok := r.BindGroup("web.default", []string{"port"}); ok {
		t.Error("confirmed member satisfies a bind")
	}
	c := r.Census()
	if g := c.CensusGroups["web.default"]; g == nil || g.Population["me"].Pkg.Name != "web" {
		t.Errorf("census = %+v", c.CensusGroups)
	}
}

// TestSuitability: this member's suitability per group is what was
// recorded, 0 (the original's default) before anything is and after the
// service left the group.
func TestSuitability(t *testing.T) {
	r := NewRing(Member{ID: "me"})
	if got := r.Suitability("web.default"); got != 0 {
		t.Errorf("before any: %d", got)
	}
	r.SetSuitability("web.default", 7)
	r.SetSuitability("db.default", 1<<63)
	if got := r.Suitability("web.default"); got != 7 {
		t.Errorf("web: %d", got)
	}
	if got := r.Suitability("db.default"); got != 1<<63 {
		t.Errorf("db: %d", got)
	}
	r.ForgetSuitability("web.default")
	if got := r.Suitability("web.default"); got != 0 {
		t.Errorf("after forget: %d", got)
	}
}
