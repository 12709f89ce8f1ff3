package plan

import (
	"slices"
	"strconv"

	"mvdan.cc/sh/v3/expand"
)

// Kind tells how a plan variable is shown: a string, a list or a map.
type Kind int

// The kinds of Value.
const (
	Scalar Kind = iota
	Array
	Map
)

// Value is a plan variable as the metadata shows it.
type Value struct {
	Kind Kind
	Str  string
	List []string
	Map  map[string]string
}

// The variables the metadata shows, by the way each is shown: strings;
// variables shown as lists when the plan made them indexed arrays and as
// strings otherwise; associative arrays. This is the set, and the
// representation, of the reference bash evaluation
// (shared/tools/plan-oracle.sh).
var (
	scalarNames = []string{"pkg_name", "pkg_origin", "pkg_version", "pkg_maintainer", "pkg_description", "pkg_upstream_url", "pkg_source", "pkg_shasum", "pkg_filename", "pkg_dirname", "pkg_svc_run", "pkg_svc_user", "pkg_svc_group", "pkg_type"}
	listNames   = []string{"pkg_license", "pkg_deps", "pkg_build_deps", "pkg_lib_dirs", "pkg_bin_dirs", "pkg_include_dirs", "pkg_pconfig_dirs", "pkg_exposes", "pkg_interpreters"}
	mapNames    = []string{"pkg_exports", "pkg_binds", "pkg_binds_optional"}
	// extraNames are settings of the plan reference that the reference
	// evaluation does not show; AllValues adds them when set.
	extraScalarNames = []string{"pkg_scaffolding", "pkg_shutdown_signal", "pkg_shutdown_timeout_sec", "pkg_target", "pkg_release", "pkg_prefix", "pkg_artifact", "pkg_svc_path", "pkg_svc_data_path", "pkg_svc_files_path", "pkg_svc_var_path", "pkg_svc_config_path", "pkg_svc_config_install_path", "pkg_svc_static_path", "PLAN_CONTEXT", "SRC_PATH", "CACHE_PATH", "HAB_CACHE_SRC_PATH"}
	extraListNames   = []string{"pkg_services", "pkg_build_tdeps"}
	extraMapNames    = []string{"pkg_bind_map"}
)

// lookupFunc reads a shell variable.
type lookupFunc func(name string) expand.Variable

// values returns the metadata variables in their shown form, exactly as
// the reference evaluation shows them.
func values(get lookupFunc) map[string]Value {
	out := make(map[string]Value, len(scalarNames)+len(listNames)+len(mapNames))
	for _, n := range scalarNames {
		addScalar(out, n, get(n))
	}
	for _, n := range listNames {
		addListOrScalar(out, n, get(n))
	}
	for _, n := range mapNames {
		out[n] = Value{Kind: Map, Map: mapOf(get(n))}
	}
	return out
}

// allValues is values plus the settings and derived paths it leaves out.
func allValues(get lookupFunc) map[string]Value {
	out := values(get)
	for _, n := range extraScalarNames {
		addScalar(out, n, get(n))
	}
	for _, n := range extraListNames {
		addListOrScalar(out, n, get(n))
	}
	for _, n := range extraMapNames {
		if vr := get(n); vr.Declared() {
			if m := mapOf(vr); len(m) > 0 {
				out[n] = Value{Kind: Map, Map: m}
			}
		}
	}
	return out
}

// addScalar shows name as "${name}" does, when "${name+x}" is non-empty.
func addScalar(out map[string]Value, name string, vr expand.Variable) {
	if s, ok := elem0(vr); ok {
		out[name] = Value{Kind: Scalar, Str: s}
	}
}

// addListOrScalar shows an indexed array as a list of its elements, and any
// other declared variable as addScalar does.
func addListOrScalar(out map[string]Value, name string, vr expand.Variable) {
	if !vr.Declared() {
		return
	}
	if vr.Kind == expand.Indexed {
		out[name] = Value{Kind: Array, List: append([]string{}, vr.List...)}
		return
	}
	addScalar(out, name, vr)
}

// elem0 is what "${name}" expands to for any kind of variable, and whether
// the variable counts as set ("${name+x}" non-empty).
func elem0(vr expand.Variable) (string, bool) {
	switch vr.Kind {
	case expand.String:
		return vr.Str, vr.Set
	case expand.Indexed:
		if !vr.Set {
			return "", false
		}
		if vr.Indexes == nil {
			if len(vr.List) > 0 {
				return vr.List[0], true
			}
			return "", false
		}
		if i, ok := slices.BinarySearch(vr.Indexes, 0); ok {
			return vr.List[i], true
		}
		return "", false
	case expand.Associative:
		s, ok := vr.Map["0"]
		return s, ok && vr.Set
	}
	return "", false
}

// mapOf is the map a nameref to the variable would iterate: an associative
// array's entries, an indexed array's indexes and elements, a string's
// value under the key "0".
func mapOf(vr expand.Variable) map[string]string {
	m := map[string]string{}
	switch vr.Kind {
	case expand.Associative:
		for k, v := range vr.Map {
			m[k] = v
		}
	case expand.Indexed:
		for i, v := range vr.List {
			idx := i
			if vr.Indexes != nil {
				idx = vr.Indexes[i]
			}
			m[strconv.Itoa(idx)] = v
		}
	case expand.String:
		if vr.Set {
			m["0"] = vr.Str
		}
	}
	return m
}

// listOf is "${name[@]}": the elements of an indexed array, the value of a
// set string, the values of an associative array (in key order here).
func listOf(vr expand.Variable) []string {
	switch vr.Kind {
	case expand.Indexed:
		return append([]string(nil), vr.List...)
	case expand.String:
		if vr.Set {
			return []string{vr.Str}
		}
	case expand.Associative:
		keys := make([]string, 0, len(vr.Map))
		for k := range vr.Map {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		out := make([]string, 0, len(keys))
		for _, k := range keys {
			out = append(out, vr.Map[k])
		}
		return out
	}
	return nil
}
