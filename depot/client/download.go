package client

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgmeta"
	"github.com/habgo/hab/depot/pkgset"
)

// DownloadOptions are the settings of DownloadClosure.
type DownloadOptions struct {
	// Dir receives artifacts/ (the harts) and keys/ (their signers'
	// public keys), as the original's --download-directory.
	Dir string
	// Verify checks each hart's signature with the keys in Dir/keys.
	Verify bool
	// IgnoreMissingSeeds skips, with a warning, a package asked for that
	// the depot does not have in its channel (404), as the original's
	// --ignore-missing-seeds; dependencies must still all be there.
	IgnoreMissingSeeds bool
	Say                func(string)
}

func (o DownloadOptions) say(format string, a ...any) {
	if o.Say != nil {
		o.Say(fmt.Sprintf(format, a...))
	}
}

// Downloaded is a release DownloadClosure put in the directory.
type Downloaded struct {
	Ident  ident.Ident
	Target ident.Target
}

// DownloadClosure downloads the harts of the packages of every set and of
// their runtime dependencies (TDEPS, read from each downloaded hart), for
// the set's target, with their signers' public keys, into opts.Dir, as
// `hab pkg download` does. A fully qualified ident is looked up in
// unstable (as the original does), any other in the set's channel. Harts
// already in Dir/artifacts are not downloaded again. Each hart must hold
// the package and target asked for. It returns every release of the
// closures, the requested ones first.
func (c *Client) DownloadClosure(ctx context.Context, sets []pkgset.Set, opts DownloadOptions) ([]Downloaded, error) {
	artifacts := filepath.Join(opts.Dir, "artifacts")
	keys := crypto.Cache{Dir: filepath.Join(opts.Dir, "keys")}
	var queue []Downloaded
	for _, set := range sets {
		for _, want := range set.Idents {
			var (
				p   *Package
				err error
			)
			if want.FullyQualified() {
				p, err = c.ChannelPackage(ctx, "unstable", want, set.Target)
			} else {
				p, err = c.ChannelLatest(ctx, set.Channel, want, set.Target)
			}
			if err != nil && opts.IgnoreMissingSeeds && Status(err) == http.StatusNotFound {
				opts.say("Skipping %s: no release for %s in the depot (%v)", want, set.Target, err)
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("download %s (%s): %w", want, set.Target, err)
			}
			id := p.Ident.Ident()
			if id.Validate() != nil || !id.FullyQualified() || !id.Satisfies(want) {
				return nil, fmt.Errorf("download %s: the depot answered %s", want, crypto.QuoteName(id.String()))
			}
			queue = append(queue, Downloaded{id, set.Target})
		}
	}
	var done []Downloaded
	seen := map[Downloaded]bool{}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		if seen[d] {
			continue
		}
		seen[d] = true
		meta, err := c.downloadOne(ctx, d.Ident, d.Target, artifacts, keys, opts)
		if err != nil {
			return done, err
		}
		done = append(done, d)
		for _, dep := range meta.TDeps {
			queue = append(queue, Downloaded{dep, d.Target})
		}
	}
	return done, nil
}

// downloadOne makes sure Dir/artifacts holds the hart of id and Dir/keys
// its signer's key, and returns its metadata.
func (c *Client) downloadOne(ctx context.Context, id ident.Ident, target ident.Target, artifacts string, keys crypto.Cache, opts DownloadOptions) (*pkgmeta.Metadata, error) {
	name, err := id.ArchiveName(target)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(artifacts, name)
	fresh := false
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		opts.say("Downloading %s", id)
		if path, err = c.Download(ctx, id, target, artifacts); err != nil {
			return nil, err
		}
		fresh = true
	} else if err != nil {
		return nil, fmt.Errorf("download %s: %w", id, err)
	} else {
		opts.say("Using %s (already in %s)", id, artifacts)
	}
	// A fresh download that is not what was asked for is removed.
	fail := func(err error) (*pkgmeta.Metadata, error) {
		if fresh {
			os.Remove(path)
		}
		return nil, fmt.Errorf("download %s: %w", id, err)
	}
	md, err := hart.ReadMetadata(ctx, path)
	if err != nil {
		return fail(err)
	}
	if md.Ident != id || md.Target != target {
		return fail(fmt.Errorf("%s holds %s for %s, not %s for %s", path, md.Ident, md.Target, id, target))
	}
	h, err := hart.ReadHeaderFile(ctx, path)
	if err != nil {
		return fail(err)
	}
	nr, err := crypto.ParseNamedRevision(h.KeyName)
	if err != nil {
		return fail(err)
	}
	if _, err := keys.Read(crypto.SigPublic, nr); errors.Is(err, crypto.ErrKeyNotFound) {
		opts.say("Downloading public origin key %s", h.KeyName)
		kd, err := c.OriginPublicKey(ctx, nr.Name, nr.Revision)
		if err != nil {
			return fail(err)
		}
		kf, err := ParseDownloadedKey(kd, crypto.SigPublic, nr.Name, nr.Revision)
		if err != nil {
			return fail(err)
		}
		if err := os.MkdirAll(keys.Dir, 0o755); err != nil {
			return fail(err)
		}
		if _, err := keys.Write(kf); err != nil {
			return fail(err)
		}
	} else if err != nil {
		return fail(err)
	}
	if opts.Verify {
		if _, err := hart.Verify(ctx, path, keys); err != nil {
			return fail(err)
		}
	}
	meta, err := pkgmeta.Parse(id, md.Files)
	if err != nil {
		return fail(err)
	}
	return meta, nil
}
