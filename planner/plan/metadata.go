package plan

import (
	"github.com/habgo/hab/core/ident"
)

// VersionUnset is the placeholder pkg_version holds after evaluation when
// the plan computes its version with a pkg_version() function that a
// build phase calls through update_pkg_version.
const VersionUnset = "__pkg__version__unset__"

// Metadata is a plan's settings after evaluation and defaults, named after
// the plan variables (pkg_name is Name, pkg_build_deps is BuildDeps, ...).
type Metadata struct {
	Name        string
	Origin      string
	Version     string // VersionUnset when computed later by pkg_version()
	Release     string
	Target      ident.Target
	Maintainer  string
	Description string
	UpstreamURL string
	License     []string

	Source   string
	Shasum   string
	Filename string
	Dirname  string

	Deps         []string
	BuildDeps    []string
	LibDirs      []string
	BinDirs      []string
	IncludeDirs  []string
	PconfigDirs  []string
	Interpreters []string
	Scaffolding  string

	SvcRun                string
	SvcUser               string
	SvcGroup              string
	Exposes               []string
	Exports               map[string]string
	Binds                 map[string]string
	BindsOptional         map[string]string
	ShutdownSignal        string
	ShutdownTimeoutSec    string
	Type                  string // "" means standalone
	Services              []string
	BindMap               map[string]string
	SvcPath               string
	SvcDataPath           string
	SvcFilesPath          string
	SvcVarPath            string
	SvcConfigPath         string
	SvcConfigInstallPath  string
	SvcStaticPath         string
	Prefix                string
	Artifact              string
	PlanContext           string
	SrcPath               string
	CachePath             string
	HasPkgVersionFunction bool
	DirnameInitiallyUnset bool
	OriginFromEnvironment bool
}

// Ident is origin/name/version/release.
func (m *Metadata) Ident() ident.Ident {
	return ident.Ident{Origin: m.Origin, Name: m.Name, Version: m.Version, Release: m.Release}
}

// IsComposite reports whether the plan declares a composite package.
func (m *Metadata) IsComposite() bool { return m.Type == "composite" }

func metadataFrom(get lookupFunc) Metadata {
	s := func(n string) string { v, _ := elem0(get(n)); return v }
	l := func(n string) []string { return listOf(get(n)) }
	mp := func(n string) map[string]string {
		vr := get(n)
		if !vr.Declared() {
			return nil
		}
		return mapOf(vr)
	}
	return Metadata{
		Name:                  s("pkg_name"),
		Origin:                s("pkg_origin"),
		Version:               s("pkg_version"),
		Release:               s("pkg_release"),
		Target:                ident.Target(s("pkg_target")),
		Maintainer:            s("pkg_maintainer"),
		Description:           s("pkg_description"),
		UpstreamURL:           s("pkg_upstream_url"),
		License:               l("pkg_license"),
		Source:                s("pkg_source"),
		Shasum:                s("pkg_shasum"),
		Filename:              s("pkg_filename"),
		Dirname:               s("pkg_dirname"),
		Deps:                  l("pkg_deps"),
		BuildDeps:             l("pkg_build_deps"),
		LibDirs:               l("pkg_lib_dirs"),
		BinDirs:               l("pkg_bin_dirs"),
		IncludeDirs:           l("pkg_include_dirs"),
		PconfigDirs:           l("pkg_pconfig_dirs"),
		Interpreters:          l("pkg_interpreters"),
		Scaffolding:           s("pkg_scaffolding"),
		SvcRun:                s("pkg_svc_run"),
		SvcUser:               s("pkg_svc_user"),
		SvcGroup:              s("pkg_svc_group"),
		Exposes:               l("pkg_exposes"),
		Exports:               mp("pkg_exports"),
		Binds:                 mp("pkg_binds"),
		BindsOptional:         mp("pkg_binds_optional"),
		ShutdownSignal:        s("pkg_shutdown_signal"),
		ShutdownTimeoutSec:    s("pkg_shutdown_timeout_sec"),
		Type:                  s("pkg_type"),
		Services:              l("pkg_services"),
		BindMap:               mp("pkg_bind_map"),
		SvcPath:               s("pkg_svc_path"),
		SvcDataPath:           s("pkg_svc_data_path"),
		SvcFilesPath:          s("pkg_svc_files_path"),
		SvcVarPath:            s("pkg_svc_var_path"),
		SvcConfigPath:         s("pkg_svc_config_path"),
		SvcConfigInstallPath:  s("pkg_svc_config_install_path"),
		SvcStaticPath:         s("pkg_svc_static_path"),
		Prefix:                s("pkg_prefix"),
		Artifact:              s("pkg_artifact"),
		PlanContext:           s("PLAN_CONTEXT"),
		SrcPath:               s("SRC_PATH"),
		CachePath:             s("CACHE_PATH"),
		DirnameInitiallyUnset: s("_pkg_dirname_initially_unset") == "true",
	}
}
