// Package pkgbuild builds a plan in a studio, as "hab pkg build" does: it
// (re)creates the studio for a source tree, runs "hab plan build" inside it
// on the plan context under /src, and removes the studio afterwards, also
// when the build fails or is cancelled. The build writes its results
// (the .hart, last_build.env, the build log) into SRC/results through the
// /src mount, and its artifact into the artifact cache the studio mounts.
package pkgbuild

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/habgo/hab/studio"
	"github.com/habgo/hab/studio/rootfs"
)

// SrcMount is where the source tree is mounted inside the studio.
const SrcMount = "/src"

// DefaultHab is the hab a studio runs the build with.
const DefaultHab = "/hab/bin/hab"

// Options say what to build and how.
type Options struct {
	// Src is the host source tree mounted at /src (absolute).
	Src string
	// PlanContext is the directory holding plan.sh (or habitat/plan.sh):
	// relative to Src, or an absolute host path inside Src.
	PlanContext string
	// Reuse keeps the studio as it is before the build and leaves it in
	// place afterwards; otherwise a previous studio is removed first and
	// the studio is removed after the build.
	Reuse bool
	// Hab is the hab inside the studio (DefaultHab when empty).
	Hab string
	// BuildArgs are extra arguments of "hab plan build" (before the plan
	// context), such as "--release", "20260101000000".
	BuildArgs []string
	// Stdio are the build's streams.
	Stdio studio.Stdio
	// Owner, when set, receives what the build created in Src (the user
	// behind sudo), also when the build failed or was stopped.
	Owner *studio.Owner
	// Log receives progress lines; nil discards them.
	Log *slog.Logger
	// Waiting is called once when the studio is in use by another hab and
	// the build waits for it (to say so). A Reuse build does not wait:
	// it fails with a *rootfs.BusyError, as two builds sharing one
	// studio's state (the same release, say) would replace each other's
	// results.
	Waiting func()
}

// Result is what a build in a studio produced.
type Result struct {
	// Status is the build's exit status (0 on success; 128+N for a
	// signal N).
	Status int
	// Results is the host directory the build wrote its results into
	// (SRC/results).
	Results string
	// LastBuild holds the entries of results/last_build.env (pkg_ident,
	// pkg_artifact, pkg_sha256sum, ...) of a successful build.
	LastBuild map[string]string
	// Artifact is the host path of the built .hart (in Results).
	Artifact string
	// Removed reports that the studio was removed after the build.
	Removed bool
}

// StatusError is a build that ran and failed: its exit status.
type StatusError struct {
	Plan   string
	Status int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("build of %s in the studio failed with status %d", e.Plan, e.Status)
}

// PlanPath resolves a plan context against the source tree: the host
// directory and the path inside the studio. The directory must exist
// under src and hold plan.sh or habitat/plan.sh.
func PlanPath(src, planContext string) (host, inside string, err error) {
	if planContext == "" {
		planContext = "."
	}
	host = planContext
	if !filepath.IsAbs(host) {
		host = filepath.Join(src, host)
	}
	host = filepath.Clean(host)
	rel, err := filepath.Rel(src, host)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", "", fmt.Errorf("plan context %s is outside the source path %s (only the source path is mounted in the studio)", planContext, src)
	}
	fi, err := os.Stat(host)
	if err != nil {
		return "", "", fmt.Errorf("plan context %s: %w", planContext, err)
	}
	if !fi.IsDir() {
		return "", "", fmt.Errorf("plan context %s is not a directory", host)
	}
	found := false
	for _, p := range []string{"plan.sh", filepath.Join("habitat", "plan.sh")} {
		if _, err := os.Stat(filepath.Join(host, p)); err == nil {
			found = true
			break
		}
	}
	if !found {
		return "", "", fmt.Errorf("plan context %s: no plan.sh or habitat/plan.sh in it", host)
	}
	return host, path.Join(SrcMount, filepath.ToSlash(rel)), nil
}

// Build builds opts.PlanContext in st. A build that runs and fails is a
// *StatusError (Result.Status holds its status); other errors are a studio
// that could not be made or run, or a cancelled ctx: then the build is
// killed, the studio removed (unless Reuse), and the error wraps ctx's.
// The studio is removed (unless Reuse) whatever happens.
func Build(ctx context.Context, st studio.Studio, opts Options) (res Result, err error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if !filepath.IsAbs(opts.Src) {
		return res, fmt.Errorf("build in studio: source path %q is not absolute", opts.Src)
	}
	_, inside, err := PlanPath(opts.Src, opts.PlanContext)
	if err != nil {
		return res, err
	}
	res.Results = filepath.Join(opts.Src, "results")
	hab := opts.Hab
	if hab == "" {
		hab = DefaultHab
	}
	// The studio is this build's alone from here until it has been
	// removed (a second build from the same source path waits; see
	// Options.Waiting).
	waiting := opts.Waiting
	if waiting == nil {
		waiting = func() {}
	}
	if opts.Reuse {
		waiting = nil
	}
	lock, err := rootfs.Acquire(ctx, st.Root(), rootfs.Exclusive, waiting)
	if err != nil {
		return res, fmt.Errorf("build %s: %w", inside, err)
	}
	defer lock.Unlock()
	if !opts.Reuse {
		if err := st.Remove(ctx); err != nil {
			return res, fmt.Errorf("clean the previous studio: %w", err)
		}
		// Whatever happens from here on, the studio goes, even when ctx
		// is cancelled (a signal stopped the build).
		defer func() {
			rerr := st.Remove(context.WithoutCancel(ctx))
			if rerr != nil {
				err = errors.Join(err, fmt.Errorf("remove the studio after the build: %w", rerr))
				return
			}
			res.Removed = true
			log.Info("removed the studio", "root", st.Root())
		}()
	}
	if err := st.Create(ctx); err != nil {
		return res, fmt.Errorf("create the studio for %s: %w", inside, err)
	}
	argv := append([]string{hab, "plan", "build"}, opts.BuildArgs...)
	argv = append(argv, inside)
	log.Info("building in the studio", "root", st.Root(), "plan", inside)
	res.Status, err = st.Run(ctx, argv, opts.Stdio)
	if opts.Owner != nil {
		if herr := rootfs.HandOver(opts.Src, opts.Owner.UID, opts.Owner.GID); herr != nil {
			err = errors.Join(err, herr)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return res, fmt.Errorf("build of %s stopped: %w", inside, context.Cause(ctx))
		}
		return res, fmt.Errorf("build of %s: %w", inside, err)
	}
	if res.Status != 0 {
		return res, &StatusError{Plan: inside, Status: res.Status}
	}
	lb, err := ReadLastBuild(filepath.Join(res.Results, "last_build.env"))
	if err != nil {
		return res, fmt.Errorf("build of %s succeeded but its results are missing: %w", inside, err)
	}
	res.LastBuild = lb
	if a := lb["pkg_artifact"]; a != "" {
		res.Artifact = filepath.Join(res.Results, a)
		if _, err := os.Stat(res.Artifact); err != nil {
			return res, fmt.Errorf("build of %s succeeded but its artifact is missing: %w", inside, err)
		}
	}
	return res, nil
}

// ReadLastBuild reads a last_build.env file: KEY=VALUE lines.
func ReadLastBuild(file string) (map[string]string, error) {
	f, err := os.Open(file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read %s: no such file", file)
		}
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok || k == "" || strings.HasPrefix(k, "#") {
			continue
		}
		out[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"'`)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	return out, nil
}
