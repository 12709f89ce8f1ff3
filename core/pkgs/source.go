package pkgs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
)

// Source is where the installer finds what it installs: the releases of a
// package it can provide, their harts, and the public keys of their
// signers. Nothing a source gives is trusted: every hart is verified with
// the key cache before any byte of it reaches the store, and a key a
// source gives is only ever a public key written into the key cache under
// the name the hart's header asks for. LocalSource (the artifact cache and
// other directories of harts) is one implementation; a depot client is the
// next.
type Source interface {
	// Candidates lists the releases satisfying want, for target, that the
	// source can provide (none is no error). They are claims, checked when
	// the hart is read.
	Candidates(ctx context.Context, want ident.Ident, target ident.Target) ([]ident.Ident, error)
	// Fetch makes the hart of the fully qualified id for target available
	// as a local file and returns its path; an error wraps
	// ErrArtifactNotFound when the source has none. A remote source
	// streams its download into a file (in the artifact cache, say) and
	// returns that.
	Fetch(ctx context.Context, id ident.Ident, target ident.Target) (string, error)
	// PublicKey returns the content of the public origin signing key file
	// NAME-REVISION.pub; an error wraps crypto.ErrKeyNotFound when the
	// source has none.
	PublicKey(ctx context.Context, name string) ([]byte, error)
	// String says where the source looks, for messages.
	String() string
}

// LocalSource provides the harts named ORIGIN-NAME-VERSION-RELEASE-TARGET.hart
// in Dirs (the artifact cache first, as the original looks there) and the
// public keys NAME-REVISION.pub in KeyDirs.
type LocalSource struct {
	Dirs    []string
	KeyDirs []string
}

func (l LocalSource) String() string {
	if len(l.Dirs) == 1 {
		return "the artifact cache " + l.Dirs[0]
	}
	return "the artifacts in " + strings.Join(l.Dirs, ", ")
}

// Candidates implements Source: the hart files whose names match want.
func (l LocalSource) Candidates(ctx context.Context, want ident.Ident, target ident.Target) ([]ident.Ident, error) {
	var out []ident.Ident
	seen := map[ident.Ident]bool{}
	prefix := want.Origin + "-" + want.Name + "-"
	suffix := "-" + string(target) + ".hart"
	for _, dir := range l.Dirs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list harts in %s: %w", dir, err)
		}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, suffix) {
				continue
			}
			vr := strings.TrimSuffix(strings.TrimPrefix(name, prefix), suffix)
			i := strings.LastIndex(vr, "-")
			if i <= 0 || i == len(vr)-1 {
				continue
			}
			id := ident.Ident{Origin: want.Origin, Name: want.Name, Version: vr[:i], Release: vr[i+1:]}
			if id.Validate() != nil || !id.Satisfies(want) || seen[id] {
				continue
			}
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

// Fetch implements Source: the first regular file of that name.
func (l LocalSource) Fetch(ctx context.Context, id ident.Ident, target ident.Target) (string, error) {
	name, err := id.ArchiveName(target)
	if err != nil {
		return "", err
	}
	for _, dir := range l.Dirs {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, ctx.Err()
		}
	}
	return "", fmt.Errorf("%w: no %s in %s", ErrArtifactNotFound, name, l)
}

// PublicKey implements Source.
func (l LocalSource) PublicKey(ctx context.Context, name string) ([]byte, error) {
	if err := crypto.ValidKeyName(name); err != nil {
		return nil, err
	}
	for _, dir := range l.KeyDirs {
		data, err := os.ReadFile(filepath.Join(dir, name+".pub"))
		if err == nil {
			return data, ctx.Err()
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read public key %s: %w", name, err)
		}
	}
	return nil, fmt.Errorf("%w: %s.pub is not in %s", crypto.ErrKeyNotFound, name, strings.Join(l.KeyDirs, ", "))
}
