package butterfly

import (
	"fmt"
	"net"
	"strconv"
)

// Ping sends member id one direct probe and waits for its ack (at most
// Timing.ProbeTimeout): nil when it answered. The elections use it for a
// leader's lease on its quorum (election.WithLease).
func (s *Server) Ping(id string) error {
	s.mu.Lock()
	var addr string
	if m, ok := s.members[id]; ok && m.Address != "" {
		addr = net.JoinHostPort(m.Address, strconv.Itoa(int(m.SwimPort)))
	}
	s.mu.Unlock()
	if addr == "" {
		return fmt.Errorf("ping member %s: not known here", id)
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return fmt.Errorf("ping member %s at %s: %w", id, addr, err)
	}
	if _, err := s.ml.Ping(id, ua); err != nil {
		return fmt.Errorf("ping member %s at %s: %w", id, addr, err)
	}
	return nil
}
