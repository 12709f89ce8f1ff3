// Package templating is the handlebars engine that renders Habitat config
// templates (config/*) and hooks (hooks/*), shared by `hab plan render`
// and the supervisor.
//
// It renders the way the original supervisor does: values are JSON-like
// (objects keep their key order), nothing is HTML-escaped, the original's
// helpers are registered (eachAlive, pkgPathFor, strConcat, strJoin,
// strReplace, toUppercase, toLowercase, toJson, toToml, toYaml, and the
// built-ins if, unless, each, with, lookup, raw, log, eq, ne, gt, gte, lt,
// lte, and, or, not, len), and the grammar and white-space rules are those
// of the original's handlebars engine.
package templating

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// DefaultPkgsPath is where pkgPathFor points when no other store is given.
const DefaultPkgsPath = "/hab/pkgs"

// Renderer holds compiled templates and renders them. Add templates first;
// after that, Render may be called from several goroutines.
type Renderer struct {
	templates map[string]*Template
	helpers   map[string]helperDef
	pkgsPath  string
	logger    *slog.Logger
}

// Option configures a Renderer.
type Option func(*Renderer)

// WithPkgsPath sets the package store pkgPathFor resolves into
// (FS_ROOT/hab/pkgs).
func WithPkgsPath(dir string) Option { return func(r *Renderer) { r.pkgsPath = dir } }

// WithLogger sets where the log helper and deprecation warnings go.
func WithLogger(l *slog.Logger) Option { return func(r *Renderer) { r.logger = l } }

// New returns a Renderer with the original's helpers and no templates.
func New(opts ...Option) *Renderer {
	r := &Renderer{
		templates: map[string]*Template{},
		helpers:   builtinHelpers(),
		pkgsPath:  DefaultPkgsPath,
		logger:    slog.New(slog.DiscardHandler),
	}
	for name, h := range habitatHelpers() {
		r.helpers[name] = h
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Helpers lists the names of the registered helpers.
func (r *Renderer) Helpers() []string { return sortedKeys(r.helpers) }

// AddTemplate compiles source under name. Templates can include each other
// as partials by name ({{> name}}).
func (r *Renderer) AddTemplate(name, source string) error {
	t, err := Compile(name, source)
	if err != nil {
		return err
	}
	r.templates[name] = t
	return nil
}

// deprecatedIndexRE finds "object[index]" access, which the original warns
// about (habitat-sh/habitat#6323): it must be written "object.[index]".
var deprecatedIndexRE = regexp.MustCompile(`(\{\{[^}]+[^.])(\[)`)

// AddFile compiles the file at path under name; errors name the file.
func (r *Renderer) AddFile(name, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read template: %w", err)
	}
	for i, line := range strings.Split(string(data), "\n") {
		if deprecatedIndexRE.MatchString(line) {
			r.logger.Warn("deprecated object access syntax in handlebars template: use 'object.[index]' instead of 'object[index]' (see habitat-sh/habitat#6323)",
				"file", path, "line", i+1)
		}
	}
	t, err := Compile(path, string(data))
	if err != nil {
		return err
	}
	t.name = name
	r.templates[name] = t
	return nil
}

// AddDir compiles every file under dir, named by its path relative to dir
// with "/" separators ("conf/nginx.conf"), as the supervisor names the files
// of a package's config directory. It returns the names added.
func (r *Renderer) AddDir(dir string) ([]string, error) {
	var names []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read template directory: %w", err)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if err := r.AddFile(name, path); err != nil {
			return err
		}
		names = append(names, name)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

// Names lists the templates, sorted.
func (r *Renderer) Names() []string { return sortedKeys(r.templates) }

// Template returns a compiled template by name.
func (r *Renderer) Template(name string) (*Template, bool) {
	t, ok := r.templates[name]
	return t, ok
}

// valuer is implemented by data that knows its engine value
// (*RenderContext).
type valuer interface {
	Value() (*Object, error)
}

// Value converts data to what templates see: *Object and other engine
// values as they are, a *RenderContext by its Value method, anything else
// through encoding/json.
func Value(data any) (any, error) {
	if v, ok := data.(valuer); ok {
		return v.Value()
	}
	return ToValue(data)
}

// Render renders the named template with data (see Value). Errors name the
// template, and the line and column of the failing expression.
func (r *Renderer) Render(name string, data any) (string, error) {
	t, ok := r.templates[name]
	if !ok {
		return "", fmt.Errorf("render: no template named %q", name)
	}
	return r.RenderTemplate(t, data)
}

// RenderTemplate renders a compiled template, which need not be added, with
// data; added templates are its partials.
func (r *Renderer) RenderTemplate(t *Template, data any) (string, error) {
	v, err := Value(data)
	if err != nil {
		return "", fmt.Errorf("render %s: %w", t.name, err)
	}
	s := &renderState{r: r, root: v, tmplName: t.name}
	s.push(&blockCtx{base: v, locals: map[string]any{}})
	var out output
	if err := s.renderProgram(t.root, &out); err != nil {
		return "", err
	}
	return out.b.String(), nil
}

// RenderAll renders every template with the same data, by name.
func (r *Renderer) RenderAll(data any) (map[string]string, error) {
	v, err := Value(data)
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	out := make(map[string]string, len(r.templates))
	for _, name := range r.Names() {
		text, err := r.RenderTemplate(r.templates[name], v)
		if err != nil {
			return nil, err
		}
		out[name] = text
	}
	return out, nil
}
