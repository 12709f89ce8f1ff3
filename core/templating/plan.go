package templating

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/habgo/hab/core/atomicfile"
)

// PlanRender is one `hab plan render`: a template file rendered with
// {"cfg": default.toml merged with user.toml}, with mock JSON data merged
// over the whole (for sys, pkg, svc, bind, or cfg overrides).
type PlanRender struct {
	TemplatePath string // the template file
	DefaultTOML  string // default.toml; required
	UserTOML     string // user.toml; optional
	MockData     string // JSON file; optional
	PkgsPath     string // where pkgPathFor points; DefaultPkgsPath when empty
}

// PlanData builds the data `hab plan render` renders with. Errors name the
// file, and the line and column for invalid TOML or JSON.
func PlanData(defaultTOML, userTOML, mockData string) (*Object, error) {
	data := NewObject()
	cfg, err := LoadTOML(defaultTOML)
	if err != nil {
		return nil, fmt.Errorf("default.toml: %w", err)
	}
	if userTOML != "" {
		user, err := LoadTOML(userTOML)
		if err != nil {
			return nil, fmt.Errorf("user.toml: %w", err)
		}
		Merge(cfg, user)
	}
	data.Set("cfg", cfg)
	if mockData != "" {
		mock, err := LoadJSONObject(mockData)
		if err != nil {
			return nil, fmt.Errorf("mock data: %w", err)
		}
		Merge(data, mock)
	}
	return data, nil
}

// LoadJSONObject reads a JSON file holding an object, keeping key order.
func LoadJSONObject(path string) (*Object, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read JSON file: %w", err)
	}
	v, err := DecodeJSON(b)
	if err != nil {
		return nil, fmt.Errorf("%s: invalid JSON: %w", path, err)
	}
	obj, ok := v.(*Object)
	if !ok {
		return nil, fmt.Errorf("%s: expected a JSON object, found %s", path, kindOf(v))
	}
	return obj, nil
}

// Render compiles the template and renders it with the plan's data.
func (p PlanRender) Render() (string, error) {
	pkgs := p.PkgsPath
	if pkgs == "" {
		pkgs = DefaultPkgsPath
	}
	r := New(WithPkgsPath(pkgs))
	name := p.TemplatePath
	if err := r.AddFile(name, p.TemplatePath); err != nil {
		return "", err
	}
	data, err := PlanData(p.DefaultTOML, p.UserTOML, p.MockData)
	if err != nil {
		return "", err
	}
	return r.Render(name, data)
}

// WriteRendered writes content to dir/name, creating dir. The file appears
// whole or not at all: it is written beside its final name and renamed.
func WriteRendered(dir, name, content string) (string, error) {
	dest := filepath.Join(dir, name)
	if err := atomicfile.WriteFile(dest, []byte(content), 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", dest, err)
	}
	return dest, nil
}
