package census

import "slices"

// InsertService stores a service rumor (Services.Insert) and applies the
// original's departure rule: when the rumor brings a new member into a
// group that already had members and the group then lacks quorum, the
// group's Confirmed member with the smallest id is to be departed, so
// that the dead members that are not yet Departed do not keep the group
// from ever regaining quorum. The smallest id, rather than the member
// confirmed first, so that every member departs the same one. It reports
// whether the rumor was kept and the member to depart ("" for none); the
// caller departs it on the ring (butterfly's DepartConfirmed).
//
// The rule trades the split-network guarantee for liveness, as the
// original's does: a member joining the minority side of a split departs
// one of the other side's members there, and the minority may then have
// quorum of its own. One member is departed per join, so a group that
// lost more than that stays without quorum until more members join or
// the dead ones are Departed (Timing.Departure).
//
// Quorum here is the original's check, on health alone: the members of
// the group that are Alive outnumber half of those Alive, Suspect or
// Confirmed. As in the original, a member this census has no health of
// counts in neither, and is never the one departed (HealthOf, which the
// elections count, takes it as Confirmed).
func (r *Ring) InsertService(s Service) (kept bool, depart string) {
	kept, joining := r.Services.insert(s)
	if !kept || !joining {
		return kept, ""
	}
	group := r.Services.Key(s.ServiceGroup)
	alive, population := 0, 0
	var confirmed []string
	r.mu.RLock()
	for id := range group {
		switch r.health[id] { // "" for a member of unknown health
		case Alive:
			alive++
		case Suspect:
		case Confirmed:
			confirmed = append(confirmed, id)
		default:
			continue
		}
		population++
	}
	r.mu.RUnlock()
	if alive > population/2 || len(confirmed) == 0 {
		return true, ""
	}
	return true, slices.Min(confirmed)
}
