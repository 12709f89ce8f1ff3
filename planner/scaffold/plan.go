package scaffold

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
)

// A setting of plan.sh as init writes it.
type setting struct {
	name    string
	doc     string // comment written above it with documentation on
	array   bool   // a value given is written as is, e.g. (a b)
	def     string // value written when none is given; "" writes example commented out
	example string
	set     int // the smallest plan shape that always writes it
}

// Plan shapes, from the smallest.
const (
	shapeScaffolded = iota // a scaffolding does the work
	shapeMinimal           // --min
	shapeFull              // everything
)

var settings = []setting{
	{name: "pkg_name", doc: "Required. The package's name: with pkg_origin and pkg_version it makes the\npackage identifier, which names the install directory and the artifact.", set: shapeScaffolded},
	{name: "pkg_origin", doc: "Required, unless HAB_ORIGIN is set when building (it overrides this).\nThe origin the package belongs to; its key signs the artifact.", set: shapeScaffolded},
	{name: "pkg_version", doc: "Required. The version of the software packaged. A pkg_version() function\ncalled through update_pkg_version can compute it during the build instead.", def: DefaultVersion, set: shapeScaffolded},
	{name: "pkg_maintainer", doc: "Who maintains this plan: a name and an email address.", def: "The Habitat Maintainers <humans@habitat.sh>", set: shapeMinimal},
	{name: "pkg_license", doc: "The licenses of the software, as SPDX identifiers (https://spdx.org/licenses/).", array: true, def: `("Apache-2.0")`, set: shapeMinimal},
	{name: "pkg_scaffolding", doc: "A scaffolding package that provides the build phases for a kind of\napplication.", example: "some/scaffolding", set: shapeScaffolded},
	{name: "pkg_source", doc: "Where the source archive is downloaded from: any URL wget understands.", example: "http://some_source_url/releases/${pkg_name}-${pkg_version}.tar.gz", set: shapeMinimal},
	{name: "pkg_filename", doc: "The name the downloaded archive is saved as; the last part of pkg_source\nwhen not set.", example: "${pkg_name}-${pkg_version}.tar.gz", set: shapeMinimal},
	{name: "pkg_shasum", doc: "The SHA-256 digest of the downloaded archive, checked before it is\nunpacked (sha256sum prints it; a failed build shows the one it found).", def: "TODO", set: shapeMinimal},
	{name: "pkg_deps", doc: "Packages needed at run time: origin/name, origin/name/version or a\nfully qualified origin/name/version/release.", array: true, def: "(core/glibc)", set: shapeMinimal},
	{name: "pkg_build_deps", doc: "Packages needed only to build this one.", array: true, def: "(core/make core/gcc)", set: shapeMinimal},
	{name: "pkg_lib_dirs", doc: "Directories of the installed package holding libraries (added to\nLD_RUN_PATH and LDFLAGS of packages depending on it).", array: true, example: "(lib)", set: shapeMinimal},
	{name: "pkg_include_dirs", doc: "Directories of the installed package holding headers (added to CFLAGS of\npackages depending on it).", array: true, example: "(include)", set: shapeMinimal},
	{name: "pkg_bin_dirs", doc: "Directories of the installed package holding programs (added to PATH).", array: true, example: "(bin)", set: shapeMinimal},
	{name: "pkg_pconfig_dirs", doc: "Directories of the installed package holding pkg-config files (added to\nPKG_CONFIG_PATH).", array: true, example: "(lib/pkgconfig)", set: shapeMinimal},
	{name: "pkg_svc_run", doc: "The command the Supervisor runs to start the service, in the foreground.\nLeave it out when hooks/run starts the service, or for a library.", example: "bin/server --config $pkg_svc_config_path/server.conf", set: shapeFull},
	{name: "pkg_exports", doc: "Configuration this service shares with services bound to it: each key is\nthe name they see, each value a key path in default.toml.", array: true, example: "(\n#   [host]=srv.address\n#   [port]=srv.port\n# )", set: shapeFull},
	{name: "pkg_exposes", doc: "Exported keys holding the ports the service listens on (container\nexporters publish them).", array: true, example: "(port)", set: shapeFull},
	{name: "pkg_binds", doc: "Services this one needs, each with the exported keys it reads from them;\nthe service waits until they are bound.", array: true, example: "(\n#   [database]=\"port host\"\n# )", set: shapeFull},
	{name: "pkg_binds_optional", doc: "Like pkg_binds, for services this one can run without.", array: true, example: "(\n#   [cache]=\"port host\"\n# )", set: shapeFull},
	{name: "pkg_interpreters", doc: "Programs of this package that other packages' scripts may use in their\n#! lines (fix_interpreter rewrites them).", array: true, example: "(bin/bash)", set: shapeFull},
	{name: "pkg_svc_user", doc: "The user the service runs as.", example: "hab", set: shapeFull},
	{name: "pkg_svc_group", doc: "The group the service runs as.", example: "$pkg_svc_user", set: shapeFull},
	{name: "pkg_shutdown_signal", doc: "The signal that asks the service to stop.", example: "TERM", set: shapeFull},
	{name: "pkg_shutdown_timeout_sec", doc: "Seconds to wait after that signal before the service is killed.", example: "8", set: shapeFull},
	{name: "pkg_description", doc: "What the package is, in a sentence or in Markdown paragraphs.", example: "Some description.", set: shapeMinimal},
	{name: "pkg_upstream_url", doc: "The project's home page.", example: "http://example.com/project-name", set: shapeMinimal},
}

// A build phase callback and what it does by default.
type callback struct {
	name, body, doc string
}

var callbacks = []callback{
	{"do_begin", "do_default_begin", "Runs first, before dependencies are resolved."},
	{"do_download", "do_default_download", "Downloads pkg_source into $HAB_CACHE_SRC_PATH/$pkg_filename. Override it to\nclone a repository or to download nothing."},
	{"do_verify", "do_default_verify", "Checks the download against pkg_shasum."},
	{"do_clean", "do_default_clean", "Removes what a previous build left in $CACHE_PATH."},
	{"do_unpack", "do_default_unpack", "Unpacks the archive into $HAB_CACHE_SRC_PATH (tar, zip, 7z, ...)."},
	{"do_prepare", "do_default_prepare", "Runs in $SRC_PATH before the build: patch, set variables, link."},
	{"do_build", "do_default_build", "Builds: by default ./configure --prefix=$pkg_prefix && make."},
	{"do_check", "return 0", "Runs the tests, when DO_CHECK=true is set for the build."},
	{"do_install", "do_default_install", "Installs into $pkg_prefix: by default make install."},
	{"do_strip", "do_default_strip", "Strips debugging symbols from the installed binaries."},
	{"do_end", "do_default_end", "Runs last, once the package is built: clean up here."},
}

// Plan returns the plan.sh Init writes for opts.
func Plan(opts Options) ([]byte, error) {
	shape := shapeFull
	switch {
	case opts.WithAll:
	case opts.Scaffolding != "":
		shape = shapeScaffolded
	case opts.Minimal:
		shape = shapeMinimal
	}
	docs := shape == shapeFull || opts.WithDocs
	withCallbacks := shape == shapeFull || opts.WithCallbacks
	given := map[string]string{}
	for k, v := range opts.Values {
		given[k] = v
	}
	given["pkg_name"] = opts.Name
	given["pkg_origin"] = opts.Origin
	if opts.Scaffolding != "" {
		given["pkg_scaffolding"] = opts.Scaffolding
	}

	var b bytes.Buffer
	if docs {
		b.WriteString("# plan.sh: how to build and run this package with Habitat.\n")
		b.WriteString("# Each pkg_* setting below is explained above it; see the Habitat documentation\n")
		b.WriteString("# on plan settings and build phase callbacks for the full reference.\n\n")
	}
	known := map[string]bool{}
	for _, s := range settings {
		known[s.name] = true
		v, ok := given[s.name]
		if !ok && s.set > shape {
			continue
		}
		if docs {
			b.WriteString(comment(s.doc))
		}
		switch {
		case ok && s.array:
			fmt.Fprintf(&b, "%s=%s\n", s.name, v)
		case ok:
			fmt.Fprintf(&b, "%s=%s\n", s.name, quote(v))
		case s.def != "" && s.array:
			fmt.Fprintf(&b, "%s=%s\n", s.name, s.def)
		case s.def != "":
			fmt.Fprintf(&b, "%s=%s\n", s.name, quote(s.def))
		case s.array:
			fmt.Fprintf(&b, "# %s=%s\n", s.name, s.example)
		default:
			fmt.Fprintf(&b, "# %s=%s\n", s.name, quote(s.example))
		}
		if docs {
			b.WriteByte('\n')
		}
	}
	// Other pkg_* values given: written as they are, after the known ones.
	var extra []string
	for k := range given {
		if !known[k] && strings.HasPrefix(k, "pkg_") && validName(k) {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		fmt.Fprintf(&b, "%s=%s\n", k, given[k])
	}

	switch {
	case withCallbacks:
		if docs {
			b.WriteString("\n# Build phase callbacks. Each one here does what Habitat does when it is\n")
			b.WriteString("# left out; change the ones you need and delete the others.\n")
		}
		for _, c := range callbacks {
			b.WriteByte('\n')
			if docs {
				b.WriteString(comment(c.doc))
			}
			fmt.Fprintf(&b, "%s() {\n  %s\n}\n", c.name, c.body)
		}
	case shape == shapeMinimal:
		b.WriteString("\ndo_build() {\n  do_default_build\n}\n\ndo_install() {\n  do_default_install\n}\n")
	}
	return b.Bytes(), nil
}

func comment(text string) string {
	var b strings.Builder
	for _, l := range strings.Split(text, "\n") {
		b.WriteString("# ")
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

// quote writes v in double quotes, so that $pkg_name and the like in it
// still expand when the plan is sourced.
func quote(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "`", "\\`")
	return `"` + r.Replace(v) + `"`
}

func validName(s string) bool {
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

const defaultTOML = `# Default configuration of this service: the values templates in config/ and
# hooks/ read as {{cfg.KEY}}. Users override them with a user.toml, or with
# hab config apply for a whole service group.
# Delete this file if the package has no configuration.
`

func readme(name string) []byte {
	return []byte(fmt.Sprintf(`# %s

What %s is, in a sentence.

## Maintainers

Who maintains this plan, and how to reach them.

## Type of package

A service package (run by the Supervisor: it has hooks/run or sets
pkg_svc_run) or a binary package (programs or libraries that other packages
use).

## Usage

How to use the package: as a dependency, with hab pkg exec, or as a service
with hab svc load.

## Bindings

For a service: what it exports (pkg_exports) and what it binds to
(pkg_binds, pkg_binds_optional).

## Topologies and update strategies

For a service: whether it runs standalone or as leader and followers, and
which update strategy suits it.

## Configuration

The settings of default.toml worth knowing, and which of them need a
restart.
`, name, name))
}
