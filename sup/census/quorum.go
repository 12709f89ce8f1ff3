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
	if !kept {
		return false, ""
	}
	if !joining || r.healthQuorum(s.ServiceGroup) {
		return true, ""
	}
	var confirmed []string
	for id := range r.Services.Key(s.ServiceGroup) {
		if h, ok := r.knownHealth(id); ok && h == Confirmed {
			confirmed = append(confirmed, id)
		}
	}
	if len(confirmed) == 0 {
		return true, ""
	}
	return true, slices.Min(confirmed)
}

// healthQuorum is the original's quorum of sg on health alone.
func (r *Ring) healthQuorum(sg string) bool {
	electorate, population := 0, 0
	for id := range r.Services.Key(sg) {
		h, _ := r.knownHealth(id)
		switch h {
		case Alive:
			electorate++
			population++
		case Suspect, Confirmed:
			population++
		}
	}
	return electorate > population/2
}

// knownHealth is a member's health, and whether this census has one.
func (r *Ring) knownHealth(id string) (Health, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	h, ok := r.health[id]
	return h, ok
}
