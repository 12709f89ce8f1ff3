package pkgs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
)

// ErrNotProvided is wrapped when no installed package has a file of the
// wanted name.
var ErrNotProvided = errors.New("no installed package provides the file")

// Provider is one file found by Provides.
type Provider struct {
	// Package is ORIGIN/NAME, or ORIGIN/NAME/VERSION/RELEASE when full
	// releases were asked for.
	Package string
	// Path is the file's path on this machine.
	Path string
}

// Provides finds the installed packages that have a file (or directory)
// named name anywhere in their tree, as `hab pkg provides` does. Matches
// come in walk order (sorted by path).
func (s *Store) Provides(ctx context.Context, name string, fullReleases bool) ([]Provider, error) {
	var out []Provider
	err := filepath.WalkDir(s.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == s.Dir && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return nil // unreadable parts are skipped, as the original does
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && p != s.Dir {
			return fs.SkipDir // install and uninstall temporaries
		}
		if d.Name() != name || p == s.Dir {
			return nil
		}
		rel, err := filepath.Rel(s.Dir, p)
		if err != nil {
			return nil
		}
		parts := strings.Split(rel, string(filepath.Separator))
		n := 2
		if fullReleases {
			n = 4
		}
		if len(parts) < n {
			n = len(parts)
		}
		out = append(out, Provider{Package: strings.Join(parts[:n], "/"), Path: p})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("provides %s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: can't find %s", ErrNotProvided, name)
	}
	return out, nil
}

// ProvidingPackages returns the distinct package names of providers, sorted.
func ProvidingPackages(ps []Provider) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Package)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
