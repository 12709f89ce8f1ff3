// Package container builds OCI container images of a package and its
// runtime closure with go-containerregistry, without a container daemon:
// the original's image layout (closure, hab, busybox, accounts, init
// script), one deterministic layer per package, OCI labels and an SPDX
// SBOM; written as a docker-load archive, an OCI layout or pushed to a
// registry (see output.go).
package container

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/exporters/closure"
	"github.com/habgo/hab/exporters/sbom"
)

// DefaultMaxLayers is the default layer budget (--max-layers).
const DefaultMaxLayers = 100

// SBOMPath is where the image holds its SBOM.
const SBOMPath = "/hab/sbom.spdx.json"

// Ports the supervisor listens on: HTTP gateway and gossip.
var supPorts = []string{"9631", "9638"}

// baseTime is the time of the entries of the base layer, which holds
// nothing of any package.
var baseTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Options shape an image.
type Options struct {
	// CACerts is the content of the CA bundle written to
	// /etc/ssl/certs/ca-certificates.crt; nil writes none.
	CACerts []byte
	// MaxLayers is the layer budget (DefaultMaxLayers when 0).
	MaxLayers int
	// Created is the image's creation time; zero takes the newest
	// release of the closure.
	Created time.Time
	// CacheDir keeps finished layers between exports.
	CacheDir string
	// Jobs is how many layers are made at once (1 when 0).
	Jobs int
	// Files are added to the image's top layer (the Cloud Foundry
	// mapping, for example).
	Files []File
	// EntrypointFor, when set, gives the entrypoint for the service
	// name, replacing /init.sh (which the image still has).
	EntrypointFor func(svcName string) []string
}

// File is a regular file added to an image.
type File struct {
	Path string // inside the image, absolute
	Mode int64
	Data []byte
}

// Image is a built image and what it was built from.
type Image struct {
	v1.Image
	Closure *closure.Closure
	// Primary is the exported service and Arg its identifier as given.
	Primary *closure.Package
	Arg     string
	SBOM    []byte
	Created time.Time
}

// Platform maps a package target to an OCI platform.
func Platform(t ident.Target) (*v1.Platform, error) {
	switch t {
	case ident.X86_64Linux, ident.X86_64LinuxKernel2:
		return &v1.Platform{OS: "linux", Architecture: "amd64"}, nil
	case ident.AArch64Linux:
		return &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, nil
	}
	return nil, fmt.Errorf("no container image for target %s: only Linux targets are exported", t)
}

// NewestRelease is the time of the newest release (a timestamp) among the
// packages, or zero.
func NewestRelease(ps []*closure.Package) time.Time {
	var newest time.Time
	for _, p := range ps {
		if t, err := ident.ReleaseTime(p.Ident.Release); err == nil && t.After(newest) {
			newest = t.UTC()
		}
	}
	return newest
}

// Build builds the image of closure c.
func Build(ctx context.Context, c *closure.Closure, o Options) (*Image, error) {
	if c.Hab == nil || c.Busybox == nil {
		return nil, errors.New("container image: the hab and busybox packages are required")
	}
	if o.MaxLayers == 0 {
		o.MaxLayers = DefaultMaxLayers
	}
	if o.MaxLayers < 4 {
		return nil, fmt.Errorf("container image: --max-layers %d is too small: at least 4 (base, merged packages, top package, entry)", o.MaxLayers)
	}
	if c.Primary == nil {
		var names []string
		for _, r := range c.Requested {
			names = append(names, r.Ident.String())
		}
		return nil, fmt.Errorf("container image: none of %s is a runnable service (no run hook nor run script)", strings.Join(names, ", "))
	}
	plat, err := Platform(c.Target)
	if err != nil {
		return nil, err
	}
	arg := c.Args[slices.Index(c.Requested, c.Primary)]
	pkgTime := NewestRelease(c.Packages)
	created := o.Created
	if created.IsZero() {
		created = pkgTime
	}
	if pkgTime.IsZero() {
		pkgTime = baseTime
	}
	created = created.UTC().Truncate(time.Second)

	// The packages in layer order: the shell and hab, then the closure,
	// dependencies first.
	all := c.All()
	groups := layerGroups(all, o.MaxLayers-2)

	withExtras := *c
	withExtras.Packages = all
	doc := sbom.New(arg, &withExtras, pkgTime)
	sbomJSON := doc.JSON()

	cache := layerCache{dir: o.CacheDir}
	layers := make([]*blob, len(groups)+2)
	jobs := o.Jobs
	if jobs < 1 {
		jobs = 1
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	g.Go(func() error {
		b, err := memLayer(gctx, cache, baseEntries(o.CACerts), baseTime)
		if err != nil {
			return fmt.Errorf("base layer: %w", err)
		}
		layers[0] = b
		return nil
	})
	for i, grp := range groups {
		g.Go(func() error {
			b, err := packagesLayer(gctx, cache, grp)
			if err != nil {
				return fmt.Errorf("layer of %s: %w", grp[0].Ident, err)
			}
			layers[i+1] = b
			return nil
		})
	}
	entries, err := entryEntries(c, arg, sbomJSON)
	if err != nil {
		return nil, err
	}
	for _, f := range o.Files {
		entries = append(entries, file(strings.TrimPrefix(f.Path, "/"), f.Mode, f.Data))
	}
	sortEntries(entries)
	g.Go(func() error {
		b, err := memLayer(gctx, cache, entries, c.Primary.ModTime())
		if err != nil {
			return fmt.Errorf("entry layer: %w", err)
		}
		layers[len(layers)-1] = b
		return nil
	})
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("container image of %s: %w", arg, err)
	}

	adds := make([]mutate.Addendum, 0, len(layers))
	for i, l := range layers {
		by := "hab pkg export: base"
		switch {
		case i == len(layers)-1:
			by = "hab pkg export: accounts, /bin, /init.sh, SBOM of " + arg
		case i > 0:
			var ids []string
			for _, p := range groups[i-1] {
				ids = append(ids, p.Ident.String())
			}
			by = "hab pkg export: " + strings.Join(ids, " ")
		}
		adds = append(adds, mutate.Addendum{Layer: l, MediaType: types.OCILayer,
			History: v1.History{Created: v1.Time{Time: created}, CreatedBy: by}})
	}
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), adds...)
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS, cf.Variant = plat.Architecture, plat.OS, plat.Variant
	cf.Created = v1.Time{Time: created}
	cf.Config = config(c, arg, created)
	if o.EntrypointFor != nil {
		cf.Config.Entrypoint = o.EntrypointFor(c.Primary.Ident.Name)
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	return &Image{Image: img, Closure: c, Primary: c.Primary, Arg: arg, SBOM: sbomJSON, Created: created}, nil
}

// layerGroups splits the packages (dependencies first) into at most budget
// layers: one per package while the budget lasts; when it does not, the
// first budget-2 packages keep a layer each, the last (the package
// exported) keeps its own, and the ones between share one layer.
func layerGroups(ps []*closure.Package, budget int) [][]*closure.Package {
	var out [][]*closure.Package
	if len(ps) <= budget {
		for _, p := range ps {
			out = append(out, []*closure.Package{p})
		}
		return out
	}
	own := budget - 2
	for _, p := range ps[:own] {
		out = append(out, []*closure.Package{p})
	}
	out = append(out, slices.Clone(ps[own:len(ps)-1]))
	return append(out, []*closure.Package{ps[len(ps)-1]})
}

func dir(name string, mode int64) fileEntry {
	return fileEntry{name: name, mode: mode, typ: tar.TypeDir}
}

func file(name string, mode int64, data []byte) fileEntry {
	return fileEntry{name: name, mode: mode, typ: tar.TypeReg, data: data}
}

func link(name, target string) fileEntry {
	return fileEntry{name: name, mode: 0o777, typ: tar.TypeSymlink, linkname: target}
}

// baseEntries is what every image has whatever it holds: /etc files that
// name no package, CA certificates, the temporary directories and the
// key cache.
func baseEntries(caCerts []byte) []fileEntry {
	es := []fileEntry{
		dir(".hab", 0o770), dir(".hab/cache", 0o770), dir(".hab/cache/keys", 0o770),
		dir("etc", 0o755),
		file("etc/nsswitch.conf", 0o644, []byte(nsswitch)),
		file("etc/resolv.conf", 0o644, []byte(resolvConf)),
		dir("root", 0o750),
		dir("tmp", 0o1777),
		dir("var", 0o755), dir("var/tmp", 0o1777),
	}
	if caCerts != nil {
		es = append(es, dir("etc/ssl", 0o755), dir("etc/ssl/certs", 0o755),
			file("etc/ssl/certs/ca-certificates.crt", 0o644, caCerts),
			link("etc/ssl/cert.pem", "certs/ca-certificates.crt"))
	}
	sortEntries(es)
	return es
}

func sortEntries(es []fileEntry) {
	slices.SortStableFunc(es, func(a, b fileEntry) int { return strings.Compare(a.name, b.name) })
}

// entryEntries is the image's own top layer: accounts, /bin links (the
// shell's applets, hab, every binary of the exported packages, later
// ones winning as forced binlinks do), /hab/bin/hab, the service's data
// directory, /init.sh and the SBOM.
func entryEntries(c *closure.Closure, arg string, sbomJSON []byte) ([]fileEntry, error) {
	passwd, group := accounts(c.Primary.Meta.SvcUser, c.Primary.Meta.SvcGroup)
	bins := map[string]string{}
	add := func(p *closure.Package) error {
		for _, d := range p.Meta.BinDirs() {
			rel := strings.TrimPrefix(d, p.Prefix())
			ents, err := os.ReadDir(filepath.Join(p.Path, filepath.FromSlash(rel)))
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return fmt.Errorf("binaries of %s: %w", p.Ident, err)
			}
			for _, e := range ents {
				fi, err := e.Info()
				if err != nil {
					return err
				}
				if e.Type()&fs.ModeSymlink != 0 || (fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0) {
					bins[e.Name()] = path.Join(d, e.Name())
				}
			}
		}
		return nil
	}
	for _, p := range append([]*closure.Package{c.Busybox, c.Hab}, c.Requested...) {
		if err := add(p); err != nil {
			return nil, err
		}
	}
	habBin := c.Hab.Prefix() + "/bin/hab"
	bins["hab"] = habBin
	shell := c.Busybox.Prefix() + "/bin/sh"
	if _, ok := bins["sh"]; !ok {
		return nil, fmt.Errorf("shell package %s has no bin/sh", c.Busybox.Ident)
	}
	es := []fileEntry{
		dir("bin", 0o755),
		dir("etc", 0o755),
		file("etc/passwd", 0o644, []byte(basePasswd+passwd)),
		file("etc/group", 0o644, []byte(baseGroup+group)),
		dir("hab", 0o755), dir("hab/bin", 0o755),
		link("hab/bin/hab", habBin),
		file(strings.TrimPrefix(SBOMPath, "/"), 0o644, sbomJSON),
		file("init.sh", 0o755, []byte(initScript(shell, arg))),
	}
	svc := "hab/svc/" + c.Primary.Ident.Name
	es = append(es, dir("hab/svc", 0o755), dir(svc, 0o755), dir(svc+"/data", 0o755))
	for name, target := range bins {
		es = append(es, link("bin/"+name, target))
	}
	sortEntries(es)
	return es, nil
}

// config is the image's run configuration.
func config(c *closure.Closure, arg string, created time.Time) v1.Config {
	ports := map[string]struct{}{}
	for _, p := range supPorts {
		ports[p+"/tcp"] = struct{}{}
	}
	for _, r := range c.Requested {
		if !r.Meta.IsService() {
			continue
		}
		for _, p := range r.Meta.Exposes {
			ports[p+"/tcp"] = struct{}{}
		}
	}
	p := c.Primary
	labels := map[string]string{
		"org.opencontainers.image.title":    p.Ident.Origin + "/" + p.Ident.Name,
		"org.opencontainers.image.version":  p.Ident.Version,
		"org.opencontainers.image.revision": p.Ident.Release,
		"org.opencontainers.image.created":  created.Format(time.RFC3339),
		"sh.habitat.package.ident":          p.Ident.String(),
		"sh.habitat.package.target":         string(c.Target),
	}
	if src := p.SourceURL(); src != "" {
		labels["org.opencontainers.image.source"] = src
	} else if up := p.UpstreamURL(); up != "" {
		labels["org.opencontainers.image.source"] = up
	}
	if l := sbom.License(p); l != "NOASSERTION" {
		labels["org.opencontainers.image.licenses"] = l
	}
	if d := p.Description(); d != "" {
		labels["org.opencontainers.image.description"] = d
	}
	return v1.Config{
		Env:          []string{"PATH=/bin"},
		Entrypoint:   []string{"/init.sh"},
		Cmd:          []string{"run", arg},
		ExposedPorts: ports,
		Volumes:      map[string]struct{}{"/hab/svc/" + p.Ident.Name + "/data": {}},
		Labels:       labels,
		WorkingDir:   "/",
	}
}

// Rootfs is the image's file system as one tar stream (later layers over
// earlier ones), for the formats that ship a root file system.
func Rootfs(img v1.Image) io.ReadCloser { return mutate.Extract(img) }
