package service

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/habgo/hab/core/atomicfile"
	"github.com/habgo/hab/core/templating"
	"github.com/habgo/hab/sup/spec"
)

// The lifecycle hooks the supervisor renders and runs.
const (
	HookInit        = "init"
	HookRun         = "run"
	HookPostRun     = "post-run"
	HookHealthCheck = "health-check"
	HookReconfigure = "reconfigure"
	HookSuitability = "suitability"
	HookFileUpdated = "file-updated"
	HookPostStop    = "post-stop"
)

var hookNames = []string{HookInit, HookRun, HookPostRun, HookHealthCheck, HookReconfigure, HookSuitability, HookFileUpdated, HookPostStop}

// rendered is everything rendered for a service: config files and hooks by
// name, the run script, and the merged configuration.
type rendered struct {
	config map[string]string
	hooks  map[string]string
	run    string
	cfg    *templating.Object
}

// changes says what differs between two renders.
type changes struct {
	config      bool
	restartHook bool // init, run or post-run changed
	reconfigure bool // the reconfigure hook changed
	any         bool
}

func diff(old, now *rendered) changes {
	if old == nil {
		return changes{config: true, restartHook: true, any: true}
	}
	var c changes
	c.config = !equalMaps(old.config, now.config)
	c.restartHook = old.run != now.run || old.hooks[HookInit] != now.hooks[HookInit] || old.hooks[HookPostRun] != now.hooks[HookPostRun]
	c.reconfigure = old.hooks[HookReconfigure] != now.hooks[HookReconfigure]
	c.any = c.config || c.restartHook || c.reconfigure || !equalMaps(old.hooks, now.hooks)
	return c
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || v != w {
			return false
		}
	}
	return true
}

// findHook is the template of a hook in dir: NAME, or the old spelling
// with underscores (health_check) that some plans still use.
func findHook(dir, name string) (string, bool) {
	for _, n := range []string{name, strings.ReplaceAll(name, "-", "_")} {
		p := filepath.Join(dir, n)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, true
		}
	}
	return "", false
}

// renderAll renders the config templates and hooks with ctx. A template
// error names the file and line; nothing is written.
func renderAll(pkgsPath, configDir, hooksDir, pkgRun string, ctx templating.RenderContext) (*rendered, error) {
	data, err := ctx.Value()
	if err != nil {
		return nil, err
	}
	out := &rendered{config: map[string]string{}, hooks: map[string]string{}, cfg: ctx.Cfg}
	if fi, err := os.Stat(configDir); err == nil && fi.IsDir() {
		r := templating.New(templating.WithPkgsPath(pkgsPath))
		names, err := r.AddDir(configDir)
		if err != nil {
			return nil, fmt.Errorf("config templates: %w", err)
		}
		for _, n := range names {
			text, err := r.Render(n, data)
			if err != nil {
				return nil, fmt.Errorf("render config %s: %w", filepath.Join(configDir, n), err)
			}
			out.config[n] = text
		}
	}
	for _, h := range hookNames {
		p, ok := findHook(hooksDir, h)
		if !ok {
			continue
		}
		r := templating.New(templating.WithPkgsPath(pkgsPath))
		if err := r.AddFile(h, p); err != nil {
			return nil, fmt.Errorf("hook %s: %w", h, err)
		}
		text, err := r.Render(h, data)
		if err != nil {
			return nil, fmt.Errorf("render hook %s: %w", p, err)
		}
		out.hooks[h] = text
	}
	if run, ok := out.hooks[HookRun]; ok {
		out.run = run
	} else if pkgRun != "" {
		b, err := os.ReadFile(pkgRun)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("read run script: %w", err)
		}
		out.run = string(b)
	}
	return out, nil
}

// write writes what changed: config files 0740 (owned by the service's
// user), hooks and the run script 0755. Files of the config directory
// that are no longer rendered are removed.
func (r *rendered) write(d Dirs, id Identity) error {
	for name, text := range r.config {
		p := filepath.Join(d.Config(), filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o770); err != nil {
			return fmt.Errorf("write config %s: %w", p, err)
		}
		if err := writeIfChanged(p, text, 0o740, id); err != nil {
			return err
		}
	}
	for name, text := range r.hooks {
		if err := writeIfChanged(filepath.Join(d.Hooks(), name), text, 0o755, Identity{}); err != nil {
			return err
		}
	}
	if r.run != "" {
		if err := writeIfChanged(d.Run(), r.run, 0o755, Identity{}); err != nil {
			return err
		}
	}
	return nil
}

func writeIfChanged(p, text string, mode os.FileMode, id Identity) error {
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, []byte(text)) {
		return nil
	}
	err := atomicfile.Create(p, mode, func(f *os.File) error {
		if _, err := f.WriteString(text); err != nil {
			return err
		}
		if id.Switch {
			return f.Chown(int(id.UID), int(id.GID))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

// exported is the subset of cfg a package exports (EXPORTS: name →
// dotted key), what its service rumor carries.
func exported(cfg *templating.Object, exports map[string]string) *templating.Object {
	out := templating.NewObject()
	names := make([]string, 0, len(exports))
	for n := range exports {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if v, ok := cfg.Path(exports[n]); ok {
			out.Set(n, v)
		}
	}
	return out
}

// bindExports returns the keys a bind requires of the bound group, and
// whether the bind is required, from the package's BINDS and
// BINDS_OPTIONAL; ok is false for a bind the package does not declare.
func bindExports(b spec.Bind, binds, optional map[string][]string) (exports []string, required, ok bool) {
	if e, ok := binds[b.Name]; ok {
		return e, true, true
	}
	if e, ok := optional[b.Name]; ok {
		return e, false, true
	}
	return nil, false, false
}
