package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgmeta"
)

// UploadOptions are the settings of UploadHart.
type UploadOptions struct {
	// Channel, when not empty, is where the release is promoted after the
	// upload (every upload lands in unstable).
	Channel string
	// Force uploads even when the depot has the release.
	Force bool
	// Keys is the key cache the signer's public key is read from.
	Keys crypto.Cache
	// Say receives progress lines; nil discards them.
	Say func(string)
}

func (o UploadOptions) say(format string, a ...any) {
	if o.Say != nil {
		o.Say(fmt.Sprintf(format, a...))
	}
}

// ErrMissingDependency is wrapped when a dependency the depot lacks has no
// hart beside the one uploaded.
var ErrMissingDependency = errors.New("missing artifact")

// UploadHart uploads a hart the way the original `hab pkg upload` does:
// the signer's public key from the local key cache first (refused before
// any request when the cache lacks it; a depot that has it answers 409,
// which is fine), then, unless the release is already in the depot's
// unstable channel (and Force is not set), each runtime dependency the
// depot lacks from the hart of that name in the same directory, then the
// hart itself with its checksum and target; then the promotion to
// Channel.
func (c *Client) UploadHart(ctx context.Context, path string, opts UploadOptions) error {
	return c.uploadHart(ctx, path, opts, map[ident.Ident]bool{})
}

func (c *Client) uploadHart(ctx context.Context, path string, opts UploadOptions, seen map[ident.Ident]bool) error {
	h, err := hart.ReadHeaderFile(ctx, path)
	if err != nil {
		return fmt.Errorf("upload %s: %w", path, err)
	}
	nr, err := crypto.ParseNamedRevision(h.KeyName)
	if err != nil {
		return fmt.Errorf("upload %s: signer: %w", path, err)
	}
	kf, err := opts.Keys.Read(crypto.SigPublic, nr)
	if err != nil {
		return fmt.Errorf("upload %s: the public key %s of its signer: %w", path, h.KeyName, err)
	}
	md, err := hart.ReadMetadata(ctx, path)
	if err != nil {
		return fmt.Errorf("upload %s: %w", path, err)
	}
	id, target := md.Ident, md.Target
	if seen[id] {
		return nil
	}
	seen[id] = true
	meta, err := pkgmeta.Parse(id, md.Files)
	if err != nil {
		return fmt.Errorf("upload %s: %w", path, err)
	}

	opts.say("Uploading public origin key %s", h.KeyName)
	created, err := c.UploadOriginPublicKey(ctx, kf)
	if err != nil {
		return fmt.Errorf("upload %s: %w", path, err)
	}
	if created {
		opts.say("Uploaded %s", h.KeyName)
	} else {
		opts.say("Public origin key %s already exists in the depot; using existing", h.KeyName)
	}

	_, err = c.ChannelPackage(ctx, "unstable", id, target)
	switch {
	case err == nil && !opts.Force:
		opts.say("Package %s (%s) is already in the depot", id, target)
		return c.promoteUploaded(ctx, id, target, opts)
	case err != nil && Status(err) != http.StatusNotFound:
		return fmt.Errorf("upload %s: %w", path, err)
	}

	for _, dep := range meta.TDeps {
		if _, err := c.ChannelPackage(ctx, "unstable", dep, target); err == nil {
			continue
		} else if Status(err) != http.StatusNotFound {
			return fmt.Errorf("upload %s: dependency %s: %w", path, dep, err)
		}
		name, err := dep.ArchiveName(target)
		if err != nil {
			return fmt.Errorf("upload %s: dependency %s: %w", path, dep, err)
		}
		depPath := filepath.Join(filepath.Dir(path), name)
		if fi, err := os.Stat(depPath); err != nil || !fi.Mode().IsRegular() {
			return fmt.Errorf("upload %s: %w: the depot lacks its dependency %s and %s is not beside it; make sure all dependent artifacts are present in the same directory", path, ErrMissingDependency, dep, name)
		}
		opts.say("Uploading dependency %s from %s", dep, depPath)
		depOpts := opts
		depOpts.Force = false
		if err := c.uploadHart(ctx, depPath, depOpts, seen); err != nil {
			return fmt.Errorf("upload %s: dependency %s: %w", path, dep, err)
		}
	}

	sum, err := hart.Hash(ctx, path)
	if err != nil {
		return fmt.Errorf("upload %s: %w", path, err)
	}
	opts.say("Uploading %s", path)
	created, err = c.UploadPackage(ctx, path, id, target, sum, opts.Force)
	switch {
	case Status(err) == http.StatusNotImplemented:
		opts.say("The depot does not accept packages for %s; skipping %s", target, id)
		return nil
	case err != nil:
		return err
	case created:
		opts.say("Uploaded %s", id)
	default:
		opts.say("Package %s already exists in the depot; skipping", id)
	}
	return c.promoteUploaded(ctx, id, target, opts)
}

// promoteUploaded promotes an uploaded release to opts.Channel (nothing
// to do for unstable, where every upload lands).
func (c *Client) promoteUploaded(ctx context.Context, id ident.Ident, target ident.Target, opts UploadOptions) error {
	if opts.Channel == "" || opts.Channel == "unstable" {
		return nil
	}
	opts.say("Promoting %s to channel %s", id, opts.Channel)
	if err := c.Promote(ctx, opts.Channel, id, target); err != nil {
		return err
	}
	opts.say("Promoted %s to %s", id, opts.Channel)
	return nil
}

// UploadDir uploads every hart in dir, as `hab pkg bulkupload` does: the
// origins they belong to must exist in the depot (with createOrigins,
// missing ones are created first; else they are named and nothing is
// uploaded), then each hart goes up as UploadHart sends it (its
// dependencies from the same directory). It returns how many harts it
// handled.
func (c *Client) UploadDir(ctx context.Context, dir string, opts UploadOptions, createOrigins bool) (int, error) {
	harts, err := filepath.Glob(filepath.Join(dir, "*.hart"))
	if err != nil {
		return 0, fmt.Errorf("bulk upload %s: %w", dir, err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return 0, fmt.Errorf("bulk upload: %s is not a directory", dir)
	}
	origins := map[string]bool{}
	for _, h := range harts {
		id, err := hart.ReadMetadata(ctx, h)
		if err != nil {
			return 0, fmt.Errorf("bulk upload %s: %w", h, err)
		}
		origins[id.Ident.Origin] = true
	}
	var missing []string
	for o := range origins {
		_, err := c.Origin(ctx, o)
		if Status(err) == http.StatusNotFound {
			missing = append(missing, o)
		} else if err != nil {
			return 0, fmt.Errorf("bulk upload %s: %w", dir, err)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 && !createOrigins {
		return 0, fmt.Errorf("bulk upload %s: the depot has no origin %s (create them, or give --auto-create-origins)", dir, strings.Join(missing, ", "))
	}
	for _, o := range missing {
		opts.say("Creating origin %s", o)
		if _, err := c.CreateOrigin(ctx, o, ""); err != nil {
			return 0, fmt.Errorf("bulk upload %s: %w", dir, err)
		}
	}
	seen := map[ident.Ident]bool{}
	for _, h := range harts {
		if err := c.uploadHart(ctx, h, opts, seen); err != nil {
			return 0, err
		}
	}
	return len(harts), nil
}
