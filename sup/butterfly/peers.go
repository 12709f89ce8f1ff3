package butterfly

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/habgo/hab/sup/census"
)

// PeerAddr gives a peer without a port the gossip port (DefaultPort).
func PeerAddr(peer string) string {
	if _, _, err := net.SplitHostPort(peer); err == nil {
		return peer
	}
	return net.JoinHostPort(strings.Trim(peer, "[]"), strconv.Itoa(DefaultPort))
}

// ParsePeerFile reads a peer watch file: one peer a line (host or
// host:port); blank lines and lines starting with # are skipped.
func ParsePeerFile(data []byte) []string {
	var peers []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		peers = append(peers, PeerAddr(line))
	}
	return peers
}

// peers are the addresses to keep joined: --peer, the watch file's, and
// permanent members that are not alive.
func (s *Server) peers() []string {
	var out []string
	for _, p := range s.cfg.Peers {
		out = append(out, PeerAddr(p))
	}
	s.mu.Lock()
	out = append(out, s.watched...)
	for _, m := range s.members {
		if m.Persistent && m.ID != s.cfg.ID && m.Health != census.Alive && !m.Departed && m.Address != "" {
			out = append(out, net.JoinHostPort(m.Address, strconv.Itoa(int(m.GossipPort))))
		}
	}
	s.mu.Unlock()
	slices.Sort(out)
	return slices.Compact(out)
}

// joinPeers joins the peers that are not alive members now.
func (s *Server) joinPeers() {
	alive := map[string]bool{}
	s.mu.Lock()
	for _, m := range s.members {
		if m.Health == census.Alive && m.Address != "" {
			alive[net.JoinHostPort(m.Address, strconv.Itoa(int(m.GossipPort)))] = true
		}
	}
	s.mu.Unlock()
	var todo []string
	for _, p := range s.peers() {
		if p != s.addr && !alive[p] {
			todo = append(todo, p)
		}
	}
	if len(todo) == 0 {
		return
	}
	_, err := s.ml.Join(todo)
	// Said once until it changes: a peer that is not up yet is retried
	// quietly, and a peer that drops what this member sends (another ring
	// key, or none) is said once, here as in the peer's log.
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	s.mu.Lock()
	changed := msg != s.joinErr
	s.joinErr = msg
	s.mu.Unlock()
	if err != nil && changed {
		s.log.Warn("could not join the ring through its peers (down, or using another ring key)", "peers", todo, "err", err)
	}
}

// rejoin joins the peers again while they are not alive members: a peer
// that starts later, or a permanent member after a partition heals.
func (s *Server) rejoin(ctx context.Context) {
	defer s.wg.Done()
	tick := time.NewTicker(s.cfg.Timing.Rejoin)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.joinPeers()
		}
	}
}

// watchPeerFile reads the peer watch file whenever it changes and joins
// its peers. A missing file is no peers.
func (s *Server) watchPeerFile(ctx context.Context) {
	defer s.wg.Done()
	var last string
	tick := time.NewTicker(s.cfg.Timing.WatchFile)
	defer tick.Stop()
	for {
		stamp, data, err := readStamped(s.cfg.PeerWatchFile)
		if err != nil {
			s.log.Warn("peer watch file", "err", err)
		} else if stamp != last {
			last = stamp
			peers := ParsePeerFile(data)
			s.mu.Lock()
			s.watched = peers
			s.mu.Unlock()
			s.log.Info("peer watch file read", "file", s.cfg.PeerWatchFile, "peers", peers)
			s.joinPeers()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func readStamped(path string) (string, []byte, error) {
	fi, err := os.Stat(path)
	if os.IsNotExist(err) {
		return "missing", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("read peer watch file %s: %w", path, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", nil, fmt.Errorf("read peer watch file %s: %w", path, err)
	}
	return fmt.Sprintf("%d/%d/%x", fi.ModTime().UnixNano(), fi.Size(), data), data, nil
}

// logWriter turns memberlist's "[LEVEL] memberlist: message" lines into
// slog records.
type logWriter struct{ log *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	level := slog.LevelInfo
	for prefix, l := range map[string]slog.Level{"[DEBUG]": slog.LevelDebug, "[INFO]": slog.LevelInfo, "[WARN]": slog.LevelWarn, "[ERR]": slog.LevelError} {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			level, line = l, strings.TrimSpace(rest)
			break
		}
	}
	w.log.Log(context.Background(), level, line)
	return len(p), nil
}
