package census

import "testing"

// TestInsertServiceDeparts: a member joining a group without quorum has
// the group's Confirmed member with the smallest id departed, as the
// original's rule; nothing is departed while the group has quorum, for a
// rumor of a member already in the group, for the group's first member,
// for an older rumor, or when no member is Confirmed.
func TestInsertServiceDeparts(t *testing.T) {
	const sg = "db.default"
	for _, tt := range []struct {
		name   string
		group  map[string]Health // the group before, with health
		joiner string            // the member whose rumor arrives
		health Health            // its health ("": unknown)
		inc    uint64            // its rumor's incarnation (1 when 0)
		kept   bool
		depart string
	}{
		{"no quorum: the smallest confirmed id", map[string]Health{"a": Alive, "c": Confirmed, "b": Confirmed}, "d", Alive, 0, true, "b"},
		{"no quorum, suspects are not departed", map[string]Health{"a": Alive, "b": Suspect, "c": Suspect, "e": Confirmed}, "d", Alive, 0, true, "e"},
		{"an unknown joiner counts in neither", map[string]Health{"a": Alive, "b": Alive, "c": Confirmed}, "0", "", 0, true, ""},
		{"an unknown joiner is never departed", map[string]Health{"a": Alive, "b": Confirmed, "c": Confirmed}, "0", "", 0, true, "b"},
		{"quorum kept with the joiner", map[string]Health{"a": Alive, "b": Alive, "c": Confirmed}, "d", Alive, 0, true, ""},
		{"quorum: two alive of three", map[string]Health{"a": Alive, "b": Confirmed}, "d", Alive, 0, true, ""},
		{"no quorum, none confirmed", map[string]Health{"a": Alive, "b": Suspect, "c": Suspect}, "d", Alive, 0, true, ""},
		{"not new: a member already in the group", map[string]Health{"a": Alive, "b": Confirmed, "c": Confirmed}, "a", Alive, 2, true, ""},
		{"not new: the group's first member", map[string]Health{}, "d", Alive, 0, true, ""},
		{"an older rumor is not kept", map[string]Health{"a": Alive, "b": Confirmed, "c": Confirmed}, "a", Alive, 1, false, ""},
		{"departed members do not count", map[string]Health{"a": Alive, "b": Departed, "c": Departed, "e": Confirmed}, "d", Alive, 0, true, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRing(Member{ID: "local"})
			for id, h := range tt.group {
				r.AddMember(Member{ID: id}, h)
				r.Services.Insert(Service{MemberID: id, ServiceGroup: sg, Incarnation: 1})
			}
			if tt.health != "" {
				r.AddMember(Member{ID: tt.joiner}, tt.health) // else: unknown
			}
			inc := tt.inc
			if inc == 0 {
				inc = 1
			}
			kept, depart := r.InsertService(Service{MemberID: tt.joiner, ServiceGroup: sg, Incarnation: inc})
			if kept != tt.kept || depart != tt.depart {
				t.Errorf("InsertService = %v, %q; want %v, %q", kept, depart, tt.kept, tt.depart)
			}
		})
	}
}
