// Package butterfly is the supervisor ring: membership, failure detection
// and rumor dissemination between supervisors, named after the original's
// gossip layer.
//
// Membership and failure detection are hashicorp/memberlist's SWIM (with
// Lifeguard), not a protocol of our own. Its states map onto the
// original's healths: alive is Alive, suspect is Suspect, dead is
// Confirmed, and a member that left gracefully is Departed; a Confirmed
// member turns Departed after Timing.Departure (three days by default). A
// member departed with Depart (hab sup depart) is never admitted again,
// under the same id, and is told so through Departed (its supervisor then
// exits with 86).
//
// Rumors are the census's (service, service config, service file,
// departure) and the elections': any store with Insert(rumor) bool and All
// is carried under a topic name (Carry). A rumor made here is published
// (inserted, then spread); a rumor arriving is inserted, and travels on
// only when the store kept it, so an older or equal incarnation stops
// where it arrives. Rumors that fit a packet ride memberlist's broadcast
// queue; larger ones (configs, files) are sent over TCP to Fanout alive
// members, who spread them the same way. Every push-pull (Timing.PushPull)
// exchanges every rumor of every topic, so members that missed a broadcast
// or were cut off converge.
//
// With a ring key (--ring, HAB_RING_KEY) every packet and stream is sealed
// with it (crypto.RingKey: secretbox with a fresh nonce, as the original's
// wire messages); without one, messages say so in their first byte. A
// message that does not open is dropped and the log says why, once a
// minute per peer and reason: another ring key, no ring key on the
// sender's side, or a ring key on the sender's side and none here.
//
// DepartConfirmed departs a dead member ahead of the departure time, on
// every member (the census's rule for a group that a member joins
// without quorum, census.Ring.InsertService); unlike Depart it bans no
// one: a member seen live is left alone, and one that comes back is Alive
// again.
//
// --peer addresses, the peers of the --peer-watch-file (read again
// whenever it changes) and permanent members (--permanent-peer) that are
// not Alive are joined again every Timing.Rejoin, so a ring heals after a
// partition. Partition drops gossip between chosen members, for tests.
//
// memberlist's Members hands out nodes that it changes in place. This
// package keeps addresses in its own table, filled from memberlist's
// events (called under memberlist's lock); the one field it reads from
// Members is State, for Suspect, which memberlist announces to no
// delegate. Known gap: memberlist (v0.7.0) keeps a node's state beside
// the Node it hands out and never sets Node.State, so that read always
// finds alive and the census shows no member Suspect: a member goes from
// Alive to Confirmed (bench/failover.sh's Suspect column). The elections
// do not rest on it: their quorum counts only members answering pings
// within the lease.
//
// # Wiring into the supervisor (sup/manager)
//
//	ring := census.NewRing(local)                  // the manager's census
//	srv, err := butterfly.Start(ctx, butterfly.Config{
//		ID: local.ID, Listen: listenGossip, Peers: peers, Permanent: permanent,
//		PeerWatchFile: watchFile, RingKey: ringKey,
//		Members: ring, Departures: ring.Departures, Log: log,
//	})
//	services := butterfly.Carry[census.Service](srv, "service", ring.Services)
//	configs := butterfly.Carry[census.ServiceConfig](srv, "service_config", ring.Configs)
//	files := butterfly.Carry[census.ServiceFile](srv, "service_file", ring.Files)
//
// then Publish instead of the stores' Insert wherever the manager makes a
// rumor (a service's rumor on load and on every change of its exports,
// config apply, file upload), Depart for hab sup depart, Stop on hab sup
// term, and exit 86 when Departed is closed. The elections are carried the
// same way (see sup/election).
package butterfly
