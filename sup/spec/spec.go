// Package spec holds what the supervisor keeps about a loaded service: the
// spec file (specs/NAME.spec, TOML, the original's keys), service group
// names (SERVICE.GROUP[@ORG]) and binds (NAME:SERVICE.GROUP[@ORG]).
package spec

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/habgo/hab/core/atomicfile"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/svcgroup"
)

// Desired states of a service.
const (
	StateUp   = "up"
	StateDown = "down"
)

// Defaults of the load options, as the original's.
const (
	DefaultGroup               = "default"
	DefaultChannel             = "stable"
	DefaultURL                 = "https://bldr.habitat.sh"
	DefaultTopology            = "standalone"
	DefaultStrategy            = "none"
	DefaultUpdateCondition     = "latest"
	DefaultBindingMode         = "strict"
	DefaultHealthCheckInterval = 30
)

// Duration is the original's {secs, nanos} table.
type Duration struct {
	Secs  uint64 `toml:"secs" json:"secs"`
	Nanos uint32 `toml:"nanos" json:"nanos"`
}

// Spec is one loaded service (specs/NAME.spec).
type Spec struct {
	Ident           string   `toml:"ident"`
	Group           string   `toml:"group"`
	BldrURL         string   `toml:"bldr_url"`
	Channel         string   `toml:"channel"`
	Topology        string   `toml:"topology"`
	UpdateStrategy  string   `toml:"update_strategy"`
	UpdateCondition string   `toml:"update_condition"`
	Binds           []string `toml:"binds"`
	BindingMode     string   `toml:"binding_mode"`
	ConfigFrom      string   `toml:"config_from,omitempty"`
	DesiredState    string   `toml:"desired_state"`
	ShutdownTimeout *uint32  `toml:"shutdown_timeout,omitempty"`
	// Composite names the composite package this service was loaded
	// with (ours: the original dropped composites).
	Composite           string   `toml:"composite,omitempty"`
	HealthCheckInterval Duration `toml:"health_check_interval"`
}

// New returns a spec for ident with the original's defaults.
func New(id string) Spec {
	return Spec{
		Ident:               id,
		Group:               DefaultGroup,
		BldrURL:             DefaultURL,
		Channel:             DefaultChannel,
		Topology:            DefaultTopology,
		UpdateStrategy:      DefaultStrategy,
		UpdateCondition:     DefaultUpdateCondition,
		Binds:               []string{},
		BindingMode:         DefaultBindingMode,
		DesiredState:        StateUp,
		HealthCheckInterval: Duration{Secs: DefaultHealthCheckInterval},
	}
}

// Name is the service name: the ident's name, which names the spec file.
func (s Spec) Name() string {
	id, err := ident.Parse(s.Ident)
	if err != nil {
		return ""
	}
	return id.Name
}

// ServiceGroup is the spec's NAME.GROUP.
func (s Spec) ServiceGroup() svcgroup.Group {
	return svcgroup.Group{Service: s.Name(), Group: s.Group}
}

var choices = map[string][]string{
	"topology":         {"standalone", "leader"},
	"update_strategy":  {"none", "at-once", "rolling"},
	"update_condition": {"latest", "track-channel"},
	"binding_mode":     {"strict", "relaxed"},
	"desired_state":    {StateUp, StateDown},
}

// Validate checks every field; errors name the key.
func (s Spec) Validate() error {
	id, err := ident.Parse(s.Ident)
	if err != nil {
		return fmt.Errorf("ident: %w", err)
	}
	if id.Origin == "" || id.Name == "" {
		return fmt.Errorf("ident: %q is not ORIGIN/NAME[/VERSION[/RELEASE]]", s.Ident)
	}
	if !groupRE.MatchString(s.Group) {
		return fmt.Errorf("group: %q is not a valid group name", s.Group)
	}
	for key, v := range map[string]string{"topology": s.Topology, "update_strategy": s.UpdateStrategy, "update_condition": s.UpdateCondition, "binding_mode": s.BindingMode, "desired_state": s.DesiredState} {
		ok := false
		for _, c := range choices[key] {
			ok = ok || v == c
		}
		if !ok {
			return fmt.Errorf("%s: %q is not one of %s", key, v, strings.Join(choices[key], ", "))
		}
	}
	for _, b := range s.Binds {
		if _, err := ParseBind(b); err != nil {
			return fmt.Errorf("binds: %w", err)
		}
	}
	return nil
}

// Parse reads a spec file's content; name is the file, for errors.
// Missing keys take the defaults; unknown keys are errors.
func Parse(name string, data []byte) (Spec, error) {
	s := New("")
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		var sme *toml.StrictMissingError
		if errors.As(err, &sme) && len(sme.Errors) > 0 {
			e := sme.Errors[0]
			row, col := e.Position()
			return Spec{}, fmt.Errorf("spec file %s:%d:%d: unknown key %q", name, row, col, strings.Join(e.Key(), "."))
		}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return Spec{}, fmt.Errorf("spec file %s:%d:%d: %s", name, row, col, de.Error())
		}
		return Spec{}, fmt.Errorf("spec file %s: %w", name, err)
	}
	if s.Binds == nil {
		s.Binds = []string{}
	}
	if err := s.Validate(); err != nil {
		return Spec{}, fmt.Errorf("spec file %s: %w", name, err)
	}
	return s, nil
}

// Marshal renders the spec file.
func (s Spec) Marshal() ([]byte, error) {
	if s.Binds == nil {
		s.Binds = []string{}
	}
	b, err := toml.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode spec of %s: %w", s.Ident, err)
	}
	return b, nil
}

// Dir is the specs directory (FS_ROOT/hab/sup/default/specs).
type Dir string

// Path is the spec file of service name.
func (d Dir) Path(name string) string { return filepath.Join(string(d), name+".spec") }

// Write writes the spec atomically (a temporary file renamed over).
func (d Dir) Write(s Spec) error {
	if err := s.Validate(); err != nil {
		return fmt.Errorf("write spec of %s: %w", s.Ident, err)
	}
	data, err := s.Marshal()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(string(d), 0o755); err != nil {
		return fmt.Errorf("write spec of %s: %w", s.Ident, err)
	}
	dest := d.Path(s.Name())
	if err := atomicfile.WriteFile(dest, data, 0o600, atomicfile.Durable()); err != nil {
		return fmt.Errorf("write spec %s: %w", dest, err)
	}
	return nil
}

// Remove deletes the spec of service name; a missing one is not an error.
func (d Dir) Remove(name string) error {
	if err := os.Remove(d.Path(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove spec of %s: %w", name, err)
	}
	return nil
}

// Read reads the spec of service name.
func (d Dir) Read(name string) (Spec, error) {
	p := d.Path(name)
	data, err := os.ReadFile(p)
	if err != nil {
		return Spec{}, fmt.Errorf("read spec: %w", err)
	}
	s, err := Parse(p, data)
	if err != nil {
		return Spec{}, err
	}
	if s.Name() != name {
		return Spec{}, fmt.Errorf("spec file %s: ident %s does not name service %s", p, s.Ident, name)
	}
	return s, nil
}

// Problem is a spec file that could not be read.
type Problem struct {
	File string
	Err  error
}

// ReadAll reads every *.spec file: the good specs by service name, and
// the files that could not be read, each with its error.
func (d Dir) ReadAll() (map[string]Spec, []Problem, error) {
	entries, err := os.ReadDir(string(d))
	if errors.Is(err, os.ErrNotExist) {
		return map[string]Spec{}, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read specs directory: %w", err)
	}
	out := map[string]Spec{}
	var problems []Problem
	for _, e := range entries {
		n := e.Name()
		if !strings.HasSuffix(n, ".spec") || strings.HasPrefix(n, ".") || !e.Type().IsRegular() {
			continue
		}
		name := strings.TrimSuffix(n, ".spec")
		s, err := d.Read(name)
		if err != nil {
			problems = append(problems, Problem{File: d.Path(name), Err: err})
			continue
		}
		out[name] = s
	}
	sort.Slice(problems, func(i, j int) bool { return problems[i].File < problems[j].File })
	return out, problems, nil
}

var groupRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
var serviceRE = regexp.MustCompile(`^[A-Za-z0-9_+-]+$`)

// Bind is NAME:SERVICE.GROUP[@ORG], or SERVICE:NAME:SERVICE.GROUP[@ORG]
// for a service of a composite.
type Bind struct {
	Service string // only in the three-part form
	Name    string
	Group   svcgroup.Group
}

func (b Bind) String() string {
	s := b.Name + ":" + b.Group.String()
	if b.Service != "" {
		s = b.Service + ":" + s
	}
	return s
}

var bindNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// ParseBind parses a bind as --bind takes it.
func ParseBind(s string) (Bind, error) {
	parts := strings.Split(s, ":")
	var b Bind
	switch len(parts) {
	case 2:
		b.Name = parts[0]
	case 3:
		b.Service, b.Name = parts[0], parts[1]
		if !serviceRE.MatchString(b.Service) {
			return Bind{}, fmt.Errorf("invalid bind %q: bad service name %q", s, b.Service)
		}
	default:
		return Bind{}, fmt.Errorf("invalid bind %q: expected NAME:SERVICE.GROUP[@ORG] (or SERVICE:NAME:SERVICE.GROUP[@ORG] in a composite)", s)
	}
	if !bindNameRE.MatchString(b.Name) {
		return Bind{}, fmt.Errorf("invalid bind %q: bad bind name %q", s, b.Name)
	}
	g, err := svcgroup.Parse(parts[len(parts)-1])
	if err != nil {
		return Bind{}, fmt.Errorf("invalid bind %q: %w", s, err)
	}
	b.Group = g
	return b, nil
}
