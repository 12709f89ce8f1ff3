package census

import (
	"encoding/json"
	"testing"
)

// rumorList is a list of election rumors given to the census as its
// Elections, so that a group can hold several.
type rumorList map[string]map[string]ElectionRumor

func (l rumorList) Leader(string) (string, bool)                { return "", false }
func (l rumorList) Status(string) string                        { return "none" }
func (l rumorList) Rumors() map[string]map[string]ElectionRumor { return l }

type shown struct {
	ID   string `json:"member_id"`
	Term uint64 `json:"term"`
}

func rumor(id string, term uint64, finished bool, suitability uint64) ElectionRumor {
	return ElectionRumor{Term: term, Finished: finished, Suitability: suitability, MemberID: id, Rumor: shown{id, term}}
}

// TestLatestElections: /butterfly's latest_election of a group is its
// latest election by the original's rule (the higher term; in one term a
// finished one; then the higher suitability; then the larger member id),
// the same at every request whatever order the rumors come in, and shown
// as the rumor itself.
func TestLatestElections(t *testing.T) {
	for _, tt := range []struct {
		name   string
		rumors []ElectionRumor
		want   string
	}{
		{"one", []ElectionRumor{rumor("a", 0, false, 0)}, "a"},
		{"higher term", []ElectionRumor{rumor("c", 1, true, 9), rumor("a", 3, false, 0), rumor("b", 2, true, 5)}, "a"},
		{"finished in one term", []ElectionRumor{rumor("c", 2, false, 9), rumor("a", 2, true, 0), rumor("b", 1, true, 5)}, "a"},
		{"higher suitability", []ElectionRumor{rumor("c", 2, true, 1), rumor("a", 2, true, 7), rumor("b", 2, true, 5)}, "a"},
		{"larger member id", []ElectionRumor{rumor("a", 2, true, 5), rumor("c", 2, true, 5), rumor("b", 2, true, 5), rumor("0", 2, true, 5)}, "c"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := rumorList{"db.default": {}}
			for i, r := range tt.rumors {
				l["db.default"][string(rune('p'+i))] = r
			}
			for range 50 { // map order changes between calls
				got, ok := latestElections(l)["db.default"]
				if !ok || got.MemberID != tt.want {
					t.Fatalf("latest = %+v, want %s's", got, tt.want)
				}
				b, err := json.Marshal(got)
				if err != nil {
					t.Fatal(err)
				}
				var s shown
				if err := json.Unmarshal(b, &s); err != nil || s != got.Rumor {
					t.Fatalf("shown as %s (%v), want the rumor %+v", b, err, got.Rumor)
				}
			}
		})
	}
	if got := latestElections(nil); len(got) != 0 {
		t.Errorf("no elections: %v", got)
	}
	if got := latestElections(rumorList{"db.default": {}}); len(got) != 0 {
		t.Errorf("a group without rumors: %v", got)
	}
}
