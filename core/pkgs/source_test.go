package pkgs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
)

// servingSource is a Source that hands out copies of harts it holds in
// memory (as a depot client would: each fetch is a new download into a
// file of its own), optionally altering them, and counts what it is asked.
type servingSource struct {
	t       *testing.T
	harts   map[ident.Ident][]byte
	keys    map[string][]byte
	alter   func([]byte) []byte
	fetched []ident.Ident
}

func (s *servingSource) String() string { return "the serving source" }

func (s *servingSource) Candidates(_ context.Context, want ident.Ident, _ ident.Target) ([]ident.Ident, error) {
	var out []ident.Ident
	for id := range s.harts {
		if id.Satisfies(want) {
			out = append(out, id)
		}
	}
	return out, nil
}

func (s *servingSource) Fetch(_ context.Context, id ident.Ident, target ident.Target) (string, error) {
	data, ok := s.harts[id]
	if !ok {
		return "", ErrArtifactNotFound
	}
	s.fetched = append(s.fetched, id)
	if s.alter != nil {
		data = s.alter(slices.Clone(data))
	}
	name, _ := id.ArchiveName(target)
	p := filepath.Join(s.t.TempDir(), name)
	return p, os.WriteFile(p, data, 0o644)
}

func (s *servingSource) PublicKey(_ context.Context, name string) ([]byte, error) {
	if k, ok := s.keys[name]; ok {
		return k, nil
	}
	return nil, crypto.ErrKeyNotFound
}

// TestInstallFromSources: the installer takes candidates, harts and
// signer keys from its sources in order (the local directories and a
// source that downloads), verifies what they give, and never installs a
// hart a source altered or signed with a key the cache does not trust.
func TestInstallFromSources(t *testing.T) {
	ctx := context.Background()
	const lib, app = "core/lib/1.0/20200101000000", "acme/app/1.0/20200101000000"

	newEnv := func(t *testing.T) (*installEnv, *servingSource, string) {
		e := newInstallEnv(t)
		libHart := e.build(t.TempDir(), spec{id: lib})
		appHart := e.build(t.TempDir(), spec{id: app, deps: []string{lib}, tdeps: []string{lib}})
		src := &servingSource{t: t, harts: map[ident.Ident][]byte{}, keys: map[string][]byte{}}
		for _, h := range []string{libHart, appHart} {
			data, err := os.ReadFile(h)
			if err != nil {
				t.Fatal(err)
			}
			id := ident.MustParse(lib)
			if strings.Contains(h, "acme-app") {
				id = ident.MustParse(app)
			}
			src.harts[id] = data
		}
		// The signer's public key is held by the source, not the cache.
		keys, err := os.ReadDir(e.keys.Dir)
		if err != nil {
			t.Fatal(err)
		}
		keyFile := filepath.Join(e.keys.Dir, keys[0].Name())
		data, err := os.ReadFile(keyFile)
		if err != nil {
			t.Fatal(err)
		}
		src.keys[strings.TrimSuffix(keys[0].Name(), ".pub")] = data
		return e, src, keyFile
	}

	t.Run("from a downloading source, key included", func(t *testing.T) {
		e, src, keyFile := newEnv(t)
		if err := os.Remove(keyFile); err != nil {
			t.Fatal(err)
		}
		in := e.installer()
		in.Sources = []Source{LocalSource{Dirs: []string{e.artifacts}}, src}
		res, err := in.Install(ctx, "acme/app")
		if err != nil {
			t.Fatalf("%v\n%s", err, e.rec)
		}
		if got := identStrings(res.Installed); !slices.Equal(got, []string{lib, app}) {
			t.Errorf("installed %v", got)
		}
		if _, err := os.Stat(keyFile); err != nil {
			t.Errorf("the source's key is not in the key cache: %v", err)
		}
		// Both harts are in the artifact cache now: a second store installs
		// from there without asking the source for a hart again.
		src.fetched = nil
		e2 := newInstallEnv(t)
		in2 := e2.installer()
		in2.Keys = e.keys
		in2.Sources = []Source{LocalSource{Dirs: []string{e.artifacts}}, src}
		if _, err := in2.Install(ctx, app); err != nil {
			t.Fatal(err)
		}
		if len(src.fetched) != 0 {
			t.Errorf("fetched %v although the artifact cache has them", src.fetched)
		}
		e.assertClean()
	})

	for _, c := range []struct {
		name  string
		alter func([]byte) []byte
		key   func(src *servingSource, keyFile string)
	}{
		{name: "tampered payload", alter: func(b []byte) []byte { b[len(b)-40] ^= 0xff; return b }},
		{name: "truncated", alter: func(b []byte) []byte { return b[:len(b)*2/3] }},
		{name: "unknown signer, source has no key", key: func(src *servingSource, keyFile string) {
			os.Remove(keyFile)
			clear(src.keys)
		}},
		{name: "source gives another key under the name", key: func(src *servingSource, keyFile string) {
			os.Remove(keyFile)
			pub, _, err := crypto.GenerateSigningPair("acme", mustTime("2020-01-02T03:04:05Z"))
			if err != nil {
				panic(err)
			}
			for name := range src.keys {
				src.keys[name] = pub.KeyFile().Encode()
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, src, keyFile := newEnv(t)
			src.alter = c.alter
			if c.key != nil {
				c.key(src, keyFile)
			}
			in := e.installer()
			in.Sources = []Source{src}
			if _, err := in.Install(ctx, app); err == nil {
				t.Fatal("installed")
			}
			if got := e.installed(); len(got) != 0 {
				t.Errorf("installed %v", got)
			}
			e.assertClean()
		})
	}

	// LocalSource over several directories: the first that has a hart wins;
	// candidates come from all of them.
	e, _, _ := newEnv(t)
	d1, d2 := t.TempDir(), t.TempDir()
	e.build(d1, spec{id: "acme/multi/1.0/20200101000000"})
	e.build(d2, spec{id: "acme/multi/2.0/20200101000000"})
	ls := LocalSource{Dirs: []string{d1, d2}}
	ids, err := ls.Candidates(ctx, ident.MustParse("acme/multi"), ident.X86_64Linux)
	if err != nil || len(ids) != 2 {
		t.Errorf("candidates %v %v", ids, err)
	}
	if _, err := ls.Fetch(ctx, ident.MustParse("acme/none/1/1"), ident.X86_64Linux); !errors.Is(err, ErrArtifactNotFound) {
		t.Errorf("fetch of a missing hart: %v", err)
	}
	if _, err := ls.PublicKey(ctx, "../keys/acme-20200101000000"); err == nil {
		t.Error("a key name with a path was looked up")
	}
	in := e.installer()
	in.Sources = []Source{ls}
	if res, err := in.Install(ctx, "acme/multi"); err != nil || res.Package.Ident.Version != "2.0" {
		t.Errorf("install from two directories: %v %v", res, err)
	}
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
