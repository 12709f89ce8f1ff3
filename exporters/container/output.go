package container

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/habgo/hab/core/atomicfile"
)

// refNameAnnotation names an image in an OCI layout's index.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// Index is the multi-platform index of images (one per target).
func Index(imgs []*Image) (v1.ImageIndex, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var adds []mutate.IndexAddendum
	for _, img := range imgs {
		plat, err := Platform(img.Closure.Target)
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: plat}})
	}
	return mutate.AppendManifests(idx, adds...), nil
}

// ArchiveName is the docker-load archive's file name for the exported
// package: ORIGIN-NAME-VERSION-RELEASE.tar.
func ArchiveName(img *Image) string {
	id := img.Primary.Ident
	return fmt.Sprintf("%s-%s-%s-%s.tar", id.Origin, id.Name, id.Version, id.Release)
}

// WriteArchive writes a `docker load` archive of one image, named by each
// of names.Refs, to path: into a temporary file beside it, renamed into
// place once complete, so that a failure (a full disk) leaves nothing.
func WriteArchive(ctx context.Context, path string, img *Image, names *Names) error {
	refs := map[name.Reference]v1.Image{}
	for _, r := range names.Refs {
		refs[r] = img
	}
	err := atomicfile.Create(path, 0o644, func(f *os.File) error {
		return tarball.MultiRefWrite(refs, &ctxWriter{ctx: ctx, w: f})
	})
	if err != nil {
		return fmt.Errorf("write image archive %s: %w", path, err)
	}
	return nil
}

type ctxWriter struct {
	ctx context.Context
	w   *os.File
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// WriteLayout writes the images (an index when there are several) into the
// OCI image layout dir, named by each tag of names. A new layout is made
// in a temporary directory beside dir and renamed into place; an existing
// one gets the blobs it lacks (blobs it has are not written again) and
// its index names the new image by these tags instead of the old one.
func WriteLayout(ctx context.Context, dir string, imgs []*Image, names *Names) error {
	fresh := false
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); errors.Is(err, fs.ErrNotExist) {
		ents, err := os.ReadDir(dir)
		if err == nil && len(ents) > 0 {
			return fmt.Errorf("write OCI layout %s: the directory exists and is not an OCI image layout", dir)
		}
		fresh = true
	} else if err != nil {
		return fmt.Errorf("write OCI layout %s: %w", dir, err)
	}
	target := dir
	if fresh {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return fmt.Errorf("write OCI layout %s: %w", dir, err)
		}
		tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".*")
		if err != nil {
			return fmt.Errorf("write OCI layout %s: %w", dir, err)
		}
		defer os.RemoveAll(tmp)
		target = tmp
	}
	err := writeLayout(ctx, target, fresh, imgs, names)
	if err == nil && fresh {
		os.Remove(dir) // an empty directory the caller made
		err = os.Rename(target, dir)
	}
	if err != nil {
		return fmt.Errorf("write OCI layout %s: %w", dir, err)
	}
	return nil
}

func writeLayout(ctx context.Context, dir string, fresh bool, imgs []*Image, names *Names) error {
	// Layers from the cache are hard-linked into the layout when they
	// are on one file system (blobs are never written in place), instead
	// of copied; go-containerregistry then finds them there.
	for _, img := range imgs {
		ls, err := img.Layers()
		if err != nil {
			return err
		}
		for _, l := range ls {
			if b, ok := l.(*blob); ok {
				dst := filepath.Join(dir, "blobs", b.digest.Algorithm, b.digest.Hex)
				if _, err := os.Lstat(dst); err == nil {
					continue
				}
				if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
					return err
				}
				_ = os.Link(b.path, dst) // else copied below
			}
		}
	}
	var p layout.Path
	var err error
	if fresh {
		p, err = layout.Write(dir, empty.Index)
	} else {
		p, err = layout.FromPath(dir)
	}
	if err != nil {
		return err
	}
	tags := names.Tags
	if len(tags) == 0 {
		tags = []string{"latest"}
	}
	var idx v1.ImageIndex
	if len(imgs) > 1 {
		if idx, err = Index(imgs); err != nil {
			return err
		}
	}
	for _, tag := range tags {
		if err := ctx.Err(); err != nil {
			return err
		}
		opts := []layout.Option{layout.WithAnnotations(map[string]string{refNameAnnotation: tag})}
		m := match.Annotation(refNameAnnotation, tag)
		if idx != nil {
			err = p.ReplaceIndex(idx, m, opts...)
		} else {
			err = p.ReplaceImage(imgs[0], m, opts...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Push pushes the images (an index when there are several) to each of
// names.Refs. opts carry the credentials.
func Push(ctx context.Context, imgs []*Image, names *Names, opts ...remote.Option) error {
	opts = append(opts, remote.WithContext(ctx))
	var idx v1.ImageIndex
	if len(imgs) > 1 {
		var err error
		if idx, err = Index(imgs); err != nil {
			return err
		}
	}
	for i, ref := range names.Refs {
		var err error
		switch {
		case i > 0 && idx != nil:
			err = remote.Tag(ref, idx, opts...)
		case i > 0:
			err = remote.Tag(ref, imgs[0], opts...)
		case idx != nil:
			err = remote.WriteIndex(ref, idx, opts...)
		default:
			err = remote.Write(ref, imgs[0], opts...)
		}
		var te *transport.Error
		if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
			return fmt.Errorf("push %s: the registry %s refused the credentials: %w", ref, ref.RegistryStr(), err)
		}
		if err != nil {
			return fmt.Errorf("push %s: %w", ref, err)
		}
	}
	return nil
}

// WriteReport writes dir/last_container_export.env as the original does
// (id, name, tags, name_tags), and its copy last_docker_export.env.
func WriteReport(dir string, img *Image, names *Names) error {
	id, err := img.ConfigName()
	if err != nil {
		return err
	}
	var nameTags []string
	for _, t := range names.Tags {
		nameTags = append(nameTags, names.Name+":"+t)
	}
	data := []byte(fmt.Sprintf("id=%s\nname=%s\ntags=%s\nname_tags=%s\n", id, names.Name, strings.Join(names.Tags, ","), strings.Join(nameTags, ",")))
	for _, f := range []string{"last_container_export.env", "last_docker_export.env"} {
		if err := atomicfile.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			return fmt.Errorf("write export report: %w", err)
		}
	}
	return nil
}
