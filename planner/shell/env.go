package shell

import (
	"maps"
	"slices"
	"strings"

	"mvdan.cc/sh/v3/expand"
)

// Env is the environment a runner starts from: exported variables (what
// programs the shell runs will see) and shell variables, including indexed
// and associative arrays. It implements expand.Environ; the runner writes
// its changes to an overlay and never modifies an Env.
type Env struct {
	vars map[string]expand.Variable
}

// NewEnv returns an environment holding the exported variables in pairs,
// each "NAME=value" as in os.Environ; malformed pairs are ignored.
func NewEnv(pairs ...string) *Env {
	e := &Env{vars: make(map[string]expand.Variable, len(pairs)+32)}
	for _, kv := range pairs {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			continue
		}
		e.Export(name, value)
	}
	return e
}

// Export sets an exported string variable.
func (e *Env) Export(name, value string) {
	e.vars[name] = expand.Variable{Set: true, Exported: true, Kind: expand.String, Str: value}
}

// SetString sets a shell (not exported) string variable.
func (e *Env) SetString(name, value string) {
	e.vars[name] = expand.Variable{Set: true, Kind: expand.String, Str: value}
}

// SetArray sets an indexed array, as name=(values...) does. The list is
// never nil: the interpreter expands "${name[@]}" of a nil list as one
// empty word (as for a string), of an empty one as no word, as bash does
// for an empty array.
func (e *Env) SetArray(name string, values ...string) {
	e.vars[name] = expand.Variable{Set: true, Kind: expand.Indexed, List: append([]string{}, values...)}
}

// DeclareAssoc declares an empty associative array, as declare -A name does.
func (e *Env) DeclareAssoc(name string) {
	e.vars[name] = expand.Variable{Kind: expand.Associative, Map: map[string]string{}}
}

// SetAssoc sets an associative array.
func (e *Env) SetAssoc(name string, m map[string]string) {
	e.vars[name] = expand.Variable{Set: true, Kind: expand.Associative, Map: maps.Clone(m)}
}

// Unset removes name.
func (e *Env) Unset(name string) { delete(e.vars, name) }

// Get implements expand.Environ. Values are copied, so that a runner can
// never modify the Env through a shared slice or map.
func (e *Env) Get(name string) expand.Variable {
	return cloneVar(e.vars[name])
}

// Each implements expand.Environ.
func (e *Env) Each(f func(name string, vr expand.Variable) bool) {
	for name, vr := range e.vars {
		if !f(name, cloneVar(vr)) {
			return
		}
	}
}

func cloneVar(vr expand.Variable) expand.Variable {
	vr.List = slices.Clone(vr.List) // keeps an empty list non-nil
	vr.Indexes = slices.Clone(vr.Indexes)
	if vr.Map != nil {
		vr.Map = maps.Clone(vr.Map)
	}
	return vr
}
