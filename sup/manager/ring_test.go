package manager

import (
	"encoding/json"
	"testing"

	"github.com/habgo/hab/core/templating"
	"github.com/habgo/hab/sup/census"
)

// TestOutdates: this member's rumor echoed back by the ring (through
// JSON, as it travels) does not make it publish again; a higher
// incarnation, or the same one with other content (from before a
// restart), does.
func TestOutdates(t *testing.T) {
	cfg, err := templating.ParseTOML("exports", []byte("port = 8080\nratio = 1.5\nwhole = 2.0\nname = \"x\"\nlist = [1, \"a\", 2.5]\n[nested]\nhost = \"h\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	own := census.Service{MemberID: "me", ServiceGroup: "web.default", Incarnation: 3, Initialized: true, Pkg: "o/web/1/2", Cfg: cfg,
		Sys: templating.MemberSys{IP: "10.0.0.1", GossipPort: 9638}}
	travelled := func(r census.Service) census.Service {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back census.Service
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		return back
	}
	older, newer, other := own, own, own
	older.Incarnation, newer.Incarnation = 2, 4
	other.Pkg = "o/web/1/1"
	for _, tt := range []struct {
		name   string
		theirs census.Service
		want   bool
	}{
		{"its own echoed back", travelled(own), false},
		{"an older one", travelled(older), false},
		{"a newer one", travelled(newer), true},
		{"the same incarnation saying something else", travelled(other), true},
	} {
		if got := outdates(tt.theirs, own); got != tt.want {
			t.Errorf("%s: outdates = %v, want %v", tt.name, got, tt.want)
		}
	}
}
