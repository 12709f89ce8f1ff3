package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgs"
)

// Source is a depot as a package source for the installer
// (pkgs.Source): the newest release in a channel, harts downloaded into a
// private temporary directory (the installer verifies each before copying
// it into the artifact cache, so a hart the depot altered never lands
// there), and public origin keys, which the installer only ever writes
// into the key cache under the name the hart's header asks for.
//
// Close removes the temporary directory; one left by a crash is removed
// by the next Source made over the same directory.
type Source struct {
	c       *Client
	channel string
	parent  string
	warn    func(string)

	mu   sync.Mutex
	dir  string
	lock *os.File
}

// downloadDirPrefix names the temporary download directories.
const downloadDirPrefix = ".hab-depot-download-"

// Source returns the depot as a package source resolving in channel,
// downloading into a temporary directory made in parent (the artifact
// cache, so that the installer's copy stays on one file system). warn,
// when set, is told when the depot cannot be reached and candidates come
// from the other sources only.
func (c *Client) Source(channel, parent string, warn func(string)) *Source {
	return &Source{c: c, channel: channel, parent: parent, warn: warn}
}

// String says where the source looks, for messages.
func (s *Source) String() string {
	return fmt.Sprintf("the depot %s (channel %s)", s.c.URL(), s.channel)
}

// Candidates implements pkgs.Source: a fully qualified ident is its own
// candidate (the original ignores the channel for those); otherwise the
// depot's latest release of want in the channel for target, if any.
func (s *Source) Candidates(ctx context.Context, want ident.Ident, target ident.Target) ([]ident.Ident, error) {
	if want.FullyQualified() {
		return []ident.Ident{want}, nil
	}
	p, err := s.c.ChannelLatest(ctx, s.channel, want, target)
	switch {
	case Status(err) == http.StatusNotFound:
		// As the original, say which channels do have one.
		if s.warn != nil {
			if chs, _ := s.c.ChannelsWith(ctx, want, target); len(chs) > 0 {
				s.warn(fmt.Sprintf("No release of %s for %s in channel %s of %s; it is in: %s", want, target, s.channel, s.c.URL(), strings.Join(chs, ", ")))
			}
		}
		return nil, nil
	case s.warn != nil && ctx.Err() == nil && noAnswer(err):
		// No answer at all: the depot is down or unreachable. Resolve
		// from what is installed and cached, saying so.
		s.warn(fmt.Sprintf("Could not reach %s to resolve %s (%v); resolving from local packages only", s, want, err))
		return nil, nil
	case err != nil:
		return nil, err
	}
	id := p.Ident.Ident()
	if id.Validate() != nil || !id.FullyQualified() || !id.Satisfies(want) {
		return nil, fmt.Errorf("the depot %s answered %s for the latest %s in channel %s", s.c.URL(), crypto.QuoteName(id.String()), want, s.channel)
	}
	return []ident.Ident{id}, nil
}

// noAnswer reports whether err is a request that got no answer at all
// (refused, unreachable, reset): what http.Client reports as *url.Error.
func noAnswer(err error) bool {
	var ue *url.Error
	return errors.As(err, &ue)
}

// Fetch implements pkgs.Source: the hart downloaded into the source's
// temporary directory.
func (s *Source) Fetch(ctx context.Context, id ident.Ident, target ident.Target) (string, error) {
	dir, err := s.tempDir()
	if err != nil {
		return "", err
	}
	p, err := s.c.Download(ctx, id, target, dir)
	if Status(err) == http.StatusNotFound {
		return "", fmt.Errorf("%w: %v", pkgs.ErrArtifactNotFound, err)
	}
	return p, err
}

// PublicKey implements pkgs.Source: GET /depot/origins/{o}/keys/{rev},
// without a token, as the original.
func (s *Source) PublicKey(ctx context.Context, name string) ([]byte, error) {
	nr, err := crypto.ParseNamedRevision(name)
	if err != nil {
		return nil, err
	}
	if !ident.ValidOrigin(nr.Name) {
		return nil, fmt.Errorf("%w: %s is not an origin key name", crypto.ErrKeyNotFound, crypto.QuoteName(name))
	}
	kd, err := s.c.keyDownload(ctx, "public key "+name, false, "depot", "origins", nr.Name, "keys", nr.Revision)
	if Status(err) == http.StatusNotFound {
		return nil, fmt.Errorf("%w: %v", crypto.ErrKeyNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	return kd.Data, nil
}

// tempDir makes (once) the locked temporary download directory, after
// removing those that crashed processes left.
func (s *Source) tempDir() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir != "" {
		return s.dir, nil
	}
	if err := os.MkdirAll(s.parent, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", s.parent, err)
	}
	cleanStale(s.parent)
	// Another process's cleanStale may take a directory made here before
	// it is locked: the locked directory must still be the one at its
	// path, else try again.
	for range 10 {
		dir, err := os.MkdirTemp(s.parent, downloadDirPrefix)
		if err != nil {
			return "", fmt.Errorf("create a download directory in %s: %w", s.parent, err)
		}
		f, err := os.Open(dir)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			f.Close()
			continue
		}
		fi, err1 := os.Stat(dir)
		fl, err2 := f.Stat()
		if err1 != nil || err2 != nil || !os.SameFile(fi, fl) {
			f.Close()
			continue
		}
		s.dir, s.lock = dir, f
		return dir, nil
	}
	return "", fmt.Errorf("create a download directory in %s: lost it to concurrent cleanups", s.parent)
}

// cleanStale removes download directories in parent that no process
// holds.
func cleanStale(parent string) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), downloadDirPrefix) {
			continue
		}
		p := filepath.Join(parent, e.Name())
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			os.RemoveAll(p)
		}
		f.Close()
	}
}

// Close removes the temporary download directory.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir == "" {
		return nil
	}
	err := os.RemoveAll(s.dir)
	s.lock.Close()
	s.dir, s.lock = "", nil
	return err
}
