// Package mesos exports a package for Apache Mesos and DC/OS: a root file
// system tarball (the container image's, flattened) for the Mesos
// containerizer to fetch, and the Marathon application JSON that runs it
// (the original's hab-pkg-mesosize).
package mesos

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/habgo/hab/core/atomicfile"
	"github.com/habgo/hab/exporters/closure"
	"github.com/habgo/hab/exporters/container"
)

// Resources are the Marathon application's (the original's defaults:
// 0.5 CPU, 256 MB, no disk, one instance).
type Resources struct {
	CPU       float64
	MemoryMB  float64
	DiskMB    float64
	Instances int
}

// DefaultResources are the original's defaults.
func DefaultResources() Resources { return Resources{CPU: 0.5, MemoryMB: 256, DiskMB: 0, Instances: 1} }

// App is the Marathon application definition.
type App struct {
	ID        string   `json:"id"`
	Cmd       string   `json:"cmd"`
	CPUs      float64  `json:"cpus"`
	Disk      float64  `json:"disk"`
	Mem       float64  `json:"mem"`
	Instances int      `json:"instances"`
	URIs      []string `json:"uris"`
}

// Request is one `hab pkg export mesos`.
type Request struct {
	Arg       string
	Gather    closure.Options
	Image     container.Options
	Resources Resources
	OutDir    string
	WorkDir   string
}

// Result is the tarball and the application.
type Result struct {
	Tarball string
	App     App
	// AppFile is the application JSON written beside the tarball.
	AppFile string
}

// Export writes ORIGIN-NAME-VERSION-RELEASE.tgz (the root file system)
// and its Marathon application JSON (.json beside it).
func Export(ctx context.Context, r Request) (*Result, error) {
	if r.Resources.CPU <= 0 || r.Resources.MemoryMB <= 0 || r.Resources.DiskMB < 0 || r.Resources.Instances < 0 {
		return nil, fmt.Errorf("mesos: resources must be positive: --cpu %v --memory %v --disk %v --instances %d", r.Resources.CPU, r.Resources.MemoryMB, r.Resources.DiskMB, r.Resources.Instances)
	}
	imgs, err := container.Images(ctx, []string{r.Arg}, r.Gather, r.Image, r.WorkDir)
	if err != nil {
		return nil, err
	}
	img := imgs[0]
	id := img.Primary.Ident
	base := fmt.Sprintf("%s-%s-%s-%s", id.Origin, id.Name, id.Version, id.Release)
	res := &Result{Tarball: filepath.Join(r.OutDir, base+".tgz"), AppFile: filepath.Join(r.OutDir, base+".json")}
	res.App = App{
		ID: img.Arg,
		// The fetched root is the sandbox's working directory.
		Cmd:       "mount -t proc proc proc/; mount -t sysfs sys sys/; mount -o bind /dev dev/; /usr/sbin/chroot . ./init.sh run " + img.Arg,
		CPUs:      r.Resources.CPU,
		Disk:      r.Resources.DiskMB,
		Mem:       r.Resources.MemoryMB,
		Instances: r.Resources.Instances,
		URIs:      []string{"URL_TO_" + base + ".tgz"},
	}
	err = atomicfile.Create(res.Tarball, 0o644, func(f *os.File) error {
		// The layers' compressed bytes, one after another: nothing is
		// decompressed or compressed again.
		return container.WriteRootfsGzip(ctx, f, img)
	})
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", res.Tarball, err)
	}
	data, _ := json.MarshalIndent(res.App, "", "  ")
	if err := atomicfile.WriteFile(res.AppFile, append(data, '\n'), 0o644); err != nil {
		os.Remove(res.Tarball)
		return nil, fmt.Errorf("write %s: %w", res.AppFile, err)
	}
	return res, nil
}
