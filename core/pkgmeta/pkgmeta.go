// Package pkgmeta holds the metadata files every Habitat package carries
// (IDENT, TARGET, DEPS, TDEPS, RUNTIME_ENVIRONMENT, ...): their names, the
// typed Metadata they parse into, and their encoding, as the original's
// build writes them. The installer, the planner, the depot and the
// exporters read and write metadata through it, without importing the
// installer. Every file it reads is bounded in bytes and lines.
package pkgmeta

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/habgo/hab/core/atomicfile"
	"github.com/habgo/hab/core/ident"
)

// ErrMalformed is wrapped by every metadata parse error.
var ErrMalformed = errors.New("malformed package metadata")

// ErrTooLarge is wrapped when a metadata file, or a package's metadata as
// a whole, exceeds the bounds below.
var ErrTooLarge = errors.New("package metadata too large")

// Bounds on what metadata may hold. They are far above what real packages
// carry (core packages have TDEPS of a few hundred lines and FILES of a
// few megabytes), and they keep a hostile package from making every later
// query of the store slow or memory-hungry.
const (
	// MaxFileBytes is the largest metadata file read.
	MaxFileBytes = 64 << 20
	// MaxTotalBytes is the most read of one package's metadata files.
	MaxTotalBytes = 128 << 20
	// MaxLines is the most lines a metadata file parsed line by line
	// (DEPS, TDEPS, RUNTIME_ENVIRONMENT, BINDS, ...) may have.
	MaxLines = 1 << 20
)

// The metadata files a package directory may hold, as the original names them.
const (
	FileBinds                          = "BINDS"
	FileBindsOptional                  = "BINDS_OPTIONAL"
	FileBindMap                        = "BIND_MAP"
	FileBuildDeps                      = "BUILD_DEPS"
	FileBuildTDeps                     = "BUILD_TDEPS"
	FileBuildtimeEnvironment           = "BUILDTIME_ENVIRONMENT"
	FileBuildtimeEnvironmentPaths      = "BUILDTIME_ENVIRONMENT_PATHS"
	FileBuildtimeEnvironmentProvenance = "BUILDTIME_ENVIRONMENT_PROVENANCE"
	FileCFlags                         = "CFLAGS"
	FileCPPFlags                       = "CPPFLAGS"
	FileCXXFlags                       = "CXXFLAGS"
	FileDeps                           = "DEPS"
	FileEnvironment                    = "ENVIRONMENT"
	FileEnvironmentSep                 = "ENVIRONMENT_SEP"
	FileExports                        = "EXPORTS"
	FileExposes                        = "EXPOSES"
	FileFiles                          = "FILES"
	FileIdent                          = "IDENT"
	FileInterpreters                   = "INTERPRETERS"
	FileLDFlags                        = "LDFLAGS"
	FileLDRunPath                      = "LD_RUN_PATH"
	FileLibDirs                        = "LIB_DIRS"
	FileManifest                       = "MANIFEST"
	FilePackageType                    = "PACKAGE_TYPE"
	FilePath                           = "PATH"
	FilePkgConfigPath                  = "PKG_CONFIG_PATH"
	FileResolvedServices               = "RESOLVED_SERVICES"
	FileRuntimeEnvironment             = "RUNTIME_ENVIRONMENT"
	FileRuntimeEnvironmentPaths        = "RUNTIME_ENVIRONMENT_PATHS"
	FileRuntimeEnvironmentProvenance   = "RUNTIME_ENVIRONMENT_PROVENANCE"
	FileRuntimePath                    = "RUNTIME_PATH"
	FileRuntimeSandbox                 = "RUNTIME_SANDBOX"
	FileServices                       = "SERVICES"
	FileShutdownSignal                 = "SHUTDOWN_SIGNAL"
	FileShutdownTimeout                = "SHUTDOWN_TIMEOUT"
	FileSvcGroup                       = "SVC_GROUP"
	FileSvcUser                        = "SVC_USER"
	FileTarget                         = "TARGET"
	FileTDeps                          = "TDEPS"
	FileType                           = "TYPE"

	// FileDefaultConfig is the package's default configuration (not
	// upper case, so not part of Metadata; see Package.DefaultConfig).
	FileDefaultConfig = "default.toml"
	// FileInstallHookStatus and FileUninstallHookStatus record the exit
	// status of the install and uninstall hooks in an installed package.
	FileInstallHookStatus   = "INSTALL_HOOK_STATUS"
	FileUninstallHookStatus = "UNINSTALL_HOOK_STATUS"
)

// IsName reports whether name is the name of a metadata file: a
// top-level regular file of a package whose name is all upper case
// letters, digits and '_' (the rule hart.Metadata.Files follows).
func IsName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// Bind is one line of BINDS or BINDS_OPTIONAL: a bind name and the
// configuration keys the bound service group must export.
type Bind struct {
	Name    string   `json:"service"`
	Exports []string `json:"exports"`
}

func (b Bind) String() string { return b.Name + "=" + strings.Join(b.Exports, " ") }

// BindMapping is one entry of a composite package's BIND_MAP: which
// service of the composite satisfies the named bind.
type BindMapping struct {
	BindName          string
	SatisfyingService ident.Ident
}

// Metadata is the typed content of a package's metadata files. A field is
// the zero value when its file is absent. Parse it from raw file contents
// with Parse (from a hart or from the store), render it back with
// Encode or Write.
type Metadata struct {
	Ident  ident.Ident  // IDENT
	Target ident.Target // TARGET; x86_64-linux when absent (very old harts)

	Deps       []ident.Ident // DEPS: direct runtime dependencies, fully qualified
	TDeps      []ident.Ident // TDEPS: transitive runtime dependencies
	BuildDeps  []ident.Ident // BUILD_DEPS
	BuildTDeps []ident.Ident // BUILD_TDEPS

	Exposes       []string          // EXPOSES: port numbers, space separated
	Exports       map[string]string // EXPORTS: public name=configuration key
	Binds         []Bind            // BINDS
	BindsOptional []Bind            // BINDS_OPTIONAL

	// Path is PATH: the package's own binary directories (absolute, not
	// under FS_ROOT). RuntimePath is RUNTIME_PATH, the whole runtime PATH
	// the build computed (own and dependencies' binary directories, in
	// order); HasRuntimePath tells an absent file (older packages, whose
	// path is assembled from dependencies) from an empty one.
	Path           []string
	RuntimePath    []string
	HasRuntimePath bool

	RuntimeEnvironment        map[string]string // RUNTIME_ENVIRONMENT: VAR=value
	RuntimeEnvironmentPaths   map[string]string // RUNTIME_ENVIRONMENT_PATHS: VAR=path list rooted under FS_ROOT
	BuildtimeEnvironment      map[string]string // BUILDTIME_ENVIRONMENT
	BuildtimeEnvironmentPaths map[string]string // BUILDTIME_ENVIRONMENT_PATHS
	Environment               map[string]string // ENVIRONMENT (packages older than RUNTIME_ENVIRONMENT)
	EnvironmentSep            map[string]string // ENVIRONMENT_SEP

	LDRunPath     string // LD_RUN_PATH: colon-separated library directories
	LDFlags       string // LDFLAGS: -L flags
	CFlags        string // CFLAGS: -I flags
	CPPFlags      string // CPPFLAGS
	CXXFlags      string // CXXFLAGS
	PkgConfigPath string // PKG_CONFIG_PATH: colon-separated

	SvcUser         string // SVC_USER; a package with one is a service
	SvcGroup        string // SVC_GROUP
	ShutdownSignal  string // SHUTDOWN_SIGNAL, such as "TERM"
	ShutdownTimeout *int   // SHUTDOWN_TIMEOUT in seconds, nil when absent

	Interpreters []string // INTERPRETERS: absolute paths, one a line
	PackageType  string   // PACKAGE_TYPE: "native", or "" for a standard package
	Type         string   // TYPE: "standalone" or "composite" (composites are gone from current Habitat)

	Services         []ident.Ident                 // SERVICES (composites)
	ResolvedServices []ident.Ident                 // RESOLVED_SERVICES (composites)
	BindMap          map[ident.Ident][]BindMapping // BIND_MAP (composites)

	Manifest string // MANIFEST: the human-readable build summary
	Files    string // FILES: the signed BLAKE2b sums of every file

	// Other holds the content of metadata files this type has no field
	// for (BUILDTIME_ENVIRONMENT_PROVENANCE, RUNTIME_SANDBOX, LIB_DIRS,
	// ...), so that nothing is lost between Parse and Encode.
	Other map[string][]byte
}

// IsService reports whether the package runs as a service, as the
// original decides it: it has a SVC_USER.
func (m *Metadata) IsService() bool { return m.SvcUser != "" }

// Prefix is the package's install path without FS_ROOT:
// /hab/pkgs/ORIGIN/NAME/VERSION/RELEASE.
func (m *Metadata) Prefix() string { return InstallPrefix(m.Ident) }

// BinDirs is the package's own binary directories: the PATH entries that
// lie inside the package, as the original filters them, judged after
// cleaning (an entry whose ".." climbs out of the package is dropped) and
// given cleaned. Symbolic links are for the reader of the store to
// resolve.
func (m *Metadata) BinDirs() []string {
	prefix := m.Prefix()
	var out []string
	for _, p := range m.Path {
		if !path.IsAbs(p) {
			continue
		}
		p = path.Clean(p)
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			out = append(out, p)
		}
	}
	return out
}

// InstallPrefix is /hab/pkgs/ORIGIN/NAME/VERSION/RELEASE, the path a fully
// qualified package has inside a (chroot) file system.
func InstallPrefix(id ident.Ident) string {
	return "/hab/pkgs/" + id.Origin + "/" + id.Name + "/" + id.Version + "/" + id.Release
}

// Parse reads the raw metadata files of package id (as
// hart.Metadata.Files gives them, or as ReadDir reads them from the
// store). id names the package in errors; when it is zero, IDENT must be
// present. Every error names the package and the file.
func Parse(id ident.Ident, files map[string][]byte) (*Metadata, error) {
	p := metaParser{pkg: id.String(), files: files}
	if id == (ident.Ident{}) {
		p.pkg = "package"
	}
	m := &Metadata{Ident: id}

	if s, ok, err := p.text(FileIdent); err != nil {
		return nil, err
	} else if ok {
		got, err := ident.ParseFullyQualified(s)
		if err != nil {
			return nil, p.errf(FileIdent, "%v", err)
		}
		if id != (ident.Ident{}) && got != id {
			return nil, p.errf(FileIdent, "names %s, but the package is %s", got, id)
		}
		m.Ident = got
		p.pkg = got.String()
	} else if id == (ident.Ident{}) {
		return nil, fmt.Errorf("%w: package has no %s file", ErrMalformed, FileIdent)
	}

	m.Target = ident.X86_64Linux
	if s, ok, err := p.text(FileTarget); err != nil {
		return nil, err
	} else if ok {
		t, err := ident.ParseTarget(s)
		if err != nil {
			return nil, p.errf(FileTarget, "%v", err)
		}
		m.Target = t
	}

	var err error
	// Every list is fully qualified but SERVICES, which a composite's plan
	// may give as origin/name; RESOLVED_SERVICES holds their exact releases.
	deps := []struct {
		name    string
		dst     *[]ident.Ident
		partial bool
	}{{FileDeps, &m.Deps, false}, {FileTDeps, &m.TDeps, false}, {FileBuildDeps, &m.BuildDeps, false}, {FileBuildTDeps, &m.BuildTDeps, false}, {FileServices, &m.Services, true}, {FileResolvedServices, &m.ResolvedServices, false}}
	for _, d := range deps {
		if *d.dst, err = p.idents(d.name, d.partial); err != nil {
			return nil, err
		}
	}

	if s, ok, err := p.text(FileExposes); err != nil {
		return nil, err
	} else if ok {
		m.Exposes = strings.Fields(s)
	}
	maps := []struct {
		name string
		dst  *map[string]string
	}{
		{FileExports, &m.Exports},
		{FileRuntimeEnvironment, &m.RuntimeEnvironment},
		{FileRuntimeEnvironmentPaths, &m.RuntimeEnvironmentPaths},
		{FileBuildtimeEnvironment, &m.BuildtimeEnvironment},
		{FileBuildtimeEnvironmentPaths, &m.BuildtimeEnvironmentPaths},
		{FileEnvironment, &m.Environment},
		{FileEnvironmentSep, &m.EnvironmentSep},
	}
	for _, d := range maps {
		if *d.dst, err = p.keyValues(d.name); err != nil {
			return nil, err
		}
	}
	if m.Binds, err = p.binds(FileBinds); err != nil {
		return nil, err
	}
	if m.BindsOptional, err = p.binds(FileBindsOptional); err != nil {
		return nil, err
	}
	if m.BindMap, err = p.bindMap(FileBindMap); err != nil {
		return nil, err
	}

	if s, ok, err := p.text(FilePath); err != nil {
		return nil, err
	} else if ok && s != "" {
		m.Path = strings.Split(s, ":")
	}
	if s, ok, err := p.text(FileRuntimePath); err != nil {
		return nil, err
	} else if ok {
		m.HasRuntimePath = true
		if s != "" {
			m.RuntimePath = strings.Split(s, ":")
		}
	}

	strs := []struct {
		name string
		dst  *string
	}{
		{FileLDRunPath, &m.LDRunPath}, {FileLDFlags, &m.LDFlags}, {FileCFlags, &m.CFlags},
		{FileCPPFlags, &m.CPPFlags}, {FileCXXFlags, &m.CXXFlags}, {FilePkgConfigPath, &m.PkgConfigPath},
		{FileSvcUser, &m.SvcUser}, {FileSvcGroup, &m.SvcGroup}, {FileShutdownSignal, &m.ShutdownSignal},
		{FilePackageType, &m.PackageType}, {FileType, &m.Type}, {FileManifest, &m.Manifest}, {FileFiles, &m.Files},
	}
	for _, d := range strs {
		if *d.dst, _, err = p.text(d.name); err != nil {
			return nil, err
		}
	}
	if m.PackageType != "" && m.PackageType != "standard" && m.PackageType != "native" {
		return nil, p.errf(FilePackageType, "unknown package type %q (expected standard or native)", m.PackageType)
	}
	if m.PackageType == "standard" {
		m.PackageType = ""
	}
	if m.Type != "" && m.Type != "standalone" && m.Type != "composite" {
		return nil, p.errf(FileType, "unknown package type %q (expected standalone or composite)", m.Type)
	}
	if s, ok, err := p.text(FileShutdownTimeout); err != nil {
		return nil, err
	} else if ok {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return nil, p.errf(FileShutdownTimeout, "%q is not a number of seconds", s)
		}
		v := int(n)
		m.ShutdownTimeout = &v
	}
	if m.Interpreters, _, err = p.lines(FileInterpreters); err != nil {
		return nil, err
	}

	for name, data := range files {
		if known(name) {
			continue
		}
		if m.Other == nil {
			m.Other = map[string][]byte{}
		}
		m.Other[name] = slices.Clone(data)
	}
	return m, nil
}

// Recognized reports whether name is a metadata file the original writes:
// one Parse gives a field (Known), or one it keeps in Metadata.Other
// (provenance, LIB_DIRS, RUNTIME_SANDBOX).
func Recognized(name string) bool {
	switch name {
	case FileBuildtimeEnvironmentProvenance, FileRuntimeEnvironmentProvenance, FileLibDirs, FileRuntimeSandbox:
		return true
	}
	return known(name)
}

// Known reports whether name is a metadata file hab reads: Parse gives
// it a field (or, for the hook status files, deliberately ignores it).
// Readers of harts keep only these in memory (hart.ReadOptions.Keep).
func Known(name string) bool { return known(name) }

// known reports whether Parse gives the file a field (or, for the
// hook status files, deliberately ignores it).
func known(name string) bool {
	switch name {
	case FileBinds, FileBindsOptional, FileBindMap, FileBuildDeps, FileBuildTDeps,
		FileBuildtimeEnvironment, FileBuildtimeEnvironmentPaths, FileCFlags, FileCPPFlags, FileCXXFlags,
		FileDeps, FileEnvironment, FileEnvironmentSep, FileExports, FileExposes, FileFiles, FileIdent,
		FileInterpreters, FileLDFlags, FileLDRunPath, FileManifest, FilePackageType, FilePath,
		FilePkgConfigPath, FileResolvedServices, FileRuntimeEnvironment, FileRuntimeEnvironmentPaths,
		FileRuntimePath, FileServices, FileShutdownSignal, FileShutdownTimeout, FileSvcGroup, FileSvcUser,
		FileTarget, FileTDeps, FileType,
		FileInstallHookStatus, FileUninstallHookStatus:
		return true
	}
	return false
}

type metaParser struct {
	pkg   string
	files map[string][]byte
}

func (p *metaParser) errf(file, format string, a ...any) error {
	return fmt.Errorf("%w: %s: %s: %s", ErrMalformed, p.pkg, file, fmt.Sprintf(format, a...))
}

// text returns the trimmed content of a file, as the original reads every
// metadata file.
func (p *metaParser) text(name string) (string, bool, error) {
	data, ok := p.files[name]
	if !ok {
		return "", false, nil
	}
	if len(data) > MaxFileBytes {
		return "", false, fmt.Errorf("%w: %s: %s: %d bytes, more than the %d a metadata file may hold", ErrTooLarge, p.pkg, name, len(data), MaxFileBytes)
	}
	if !utf8.Valid(data) {
		return "", false, p.errf(name, "not valid UTF-8 text")
	}
	return strings.TrimSpace(string(data)), true, nil
}

// lines splits the trimmed text of file name into lines, dropping a
// trailing CR (harts built on Windows) and blank lines; ok is false when
// the file is absent. More than MaxLines lines is an error naming the
// package and the file.
func (p *metaParser) lines(name string) (out []string, ok bool, err error) {
	s, ok, err := p.text(name)
	if err != nil || !ok {
		return nil, ok, err
	}
	if n := strings.Count(s, "\n") + 1; n > MaxLines {
		return nil, false, fmt.Errorf("%w: %s: %s: %d lines, more than the %d a metadata file may hold", ErrTooLarge, p.pkg, name, n, MaxLines)
	}
	for l := range strings.SplitSeq(s, "\n") {
		l = strings.TrimRight(l, "\r")
		if strings.TrimSpace(l) == "" {
			continue
		}
		out = append(out, l)
	}
	return out, true, nil
}

func (p *metaParser) idents(name string, partial bool) ([]ident.Ident, error) {
	parse := ident.ParseFullyQualified
	if partial {
		parse = ident.Parse
	}
	ls, ok, err := p.lines(name)
	if err != nil || !ok {
		return nil, err
	}
	var out []ident.Ident
	for i, l := range ls {
		id, err := parse(strings.TrimSpace(l))
		if err != nil {
			return nil, p.errf(name, "line %d: %v", i+1, err)
		}
		out = append(out, id)
	}
	return out, nil
}

func (p *metaParser) keyValues(name string) (map[string]string, error) {
	ls, ok, err := p.lines(name)
	if err != nil || !ok {
		return nil, err
	}
	out := map[string]string{}
	for i, l := range ls {
		k, v, found := strings.Cut(l, "=")
		if !found {
			return nil, p.errf(name, "line %d: %q is not KEY=VALUE", i+1, l)
		}
		out[k] = v
	}
	return out, nil
}

func (p *metaParser) binds(name string) ([]Bind, error) {
	ls, ok, err := p.lines(name)
	if err != nil || !ok {
		return nil, err
	}
	var out []Bind
	for i, l := range ls {
		k, v, found := strings.Cut(l, "=")
		if !found || k == "" {
			return nil, p.errf(name, "line %d: %q is not NAME=EXPORT...", i+1, l)
		}
		out = append(out, Bind{Name: k, Exports: strings.Fields(v)})
	}
	return out, nil
}

func (p *metaParser) bindMap(name string) (map[ident.Ident][]BindMapping, error) {
	ls, ok, err := p.lines(name)
	if err != nil || !ok {
		return nil, err
	}
	out := map[ident.Ident][]BindMapping{}
	for i, l := range ls {
		svc, rest, found := strings.Cut(l, "=")
		if !found {
			return nil, p.errf(name, "line %d: %q is not SERVICE=BIND:SERVICE...", i+1, l)
		}
		id, err := ident.Parse(svc)
		if err != nil {
			return nil, p.errf(name, "line %d: %v", i+1, err)
		}
		var ms []BindMapping
		for _, f := range strings.Fields(rest) {
			b, sat, found := strings.Cut(f, ":")
			if !found {
				return nil, p.errf(name, "line %d: %q is not BIND:SERVICE", i+1, f)
			}
			sid, err := ident.Parse(sat)
			if err != nil {
				return nil, p.errf(name, "line %d: %v", i+1, err)
			}
			ms = append(ms, BindMapping{BindName: b, SatisfyingService: sid})
		}
		out[id] = ms
	}
	return out, nil
}

// Encode renders the metadata as the files the original build writes: one
// ident a line for dependency lists, KEY=VALUE lines (sorted by key) for
// maps, NAME=EXPORT EXPORT lines for binds, colon-separated paths, each
// file ending with a newline. Files with nothing to say are left out, as
// the original leaves them out; IDENT and TARGET are always present.
func (m *Metadata) Encode() map[string][]byte {
	out := map[string][]byte{}
	for name, data := range m.Other {
		out[name] = slices.Clone(data)
	}
	put := func(name, s string) {
		if s != "" {
			out[name] = []byte(s + "\n")
		}
	}
	put(FileIdent, m.Ident.String())
	t := m.Target
	if t == "" {
		t = ident.X86_64Linux
	}
	put(FileTarget, string(t))
	// putLines writes one line for each element, and no file for none.
	putLines := func(name string, lines []string) {
		if len(lines) > 0 {
			out[name] = []byte(strings.Join(lines, "\n") + "\n")
		}
	}
	idents := func(ids []ident.Ident) []string {
		var ls []string
		for _, id := range ids {
			ls = append(ls, id.String())
		}
		return ls
	}
	keyValues := func(kv map[string]string) []string {
		var ls []string
		for _, k := range slices.Sorted(maps.Keys(kv)) {
			ls = append(ls, k+"="+kv[k])
		}
		return ls
	}
	binds := func(bs []Bind) []string {
		var ls []string
		for _, b := range bs {
			ls = append(ls, b.String())
		}
		return ls
	}
	putLines(FileDeps, idents(m.Deps))
	putLines(FileTDeps, idents(m.TDeps))
	putLines(FileBuildDeps, idents(m.BuildDeps))
	putLines(FileBuildTDeps, idents(m.BuildTDeps))
	putLines(FileServices, idents(m.Services))
	putLines(FileResolvedServices, idents(m.ResolvedServices))
	put(FileExposes, strings.Join(m.Exposes, " "))
	putLines(FileExports, keyValues(m.Exports))
	putLines(FileRuntimeEnvironment, keyValues(m.RuntimeEnvironment))
	putLines(FileRuntimeEnvironmentPaths, keyValues(m.RuntimeEnvironmentPaths))
	putLines(FileBuildtimeEnvironment, keyValues(m.BuildtimeEnvironment))
	putLines(FileBuildtimeEnvironmentPaths, keyValues(m.BuildtimeEnvironmentPaths))
	putLines(FileEnvironment, keyValues(m.Environment))
	putLines(FileEnvironmentSep, keyValues(m.EnvironmentSep))
	putLines(FileBinds, binds(m.Binds))
	putLines(FileBindsOptional, binds(m.BindsOptional))
	var bindMap []string
	for _, k := range slices.SortedFunc(maps.Keys(m.BindMap), ident.Compare) {
		var fs []string
		for _, bm := range m.BindMap[k] {
			fs = append(fs, bm.BindName+":"+bm.SatisfyingService.String())
		}
		bindMap = append(bindMap, k.String()+"="+strings.Join(fs, " "))
	}
	putLines(FileBindMap, bindMap)
	put(FilePath, strings.Join(m.Path, ":"))
	if m.HasRuntimePath || len(m.RuntimePath) > 0 {
		out[FileRuntimePath] = []byte(strings.Join(m.RuntimePath, ":") + "\n")
	}
	put(FileLDRunPath, m.LDRunPath)
	put(FileLDFlags, m.LDFlags)
	put(FileCFlags, m.CFlags)
	put(FileCPPFlags, m.CPPFlags)
	put(FileCXXFlags, m.CXXFlags)
	put(FilePkgConfigPath, m.PkgConfigPath)
	put(FileSvcUser, m.SvcUser)
	put(FileSvcGroup, m.SvcGroup)
	put(FileShutdownSignal, m.ShutdownSignal)
	if m.ShutdownTimeout != nil {
		put(FileShutdownTimeout, strconv.Itoa(*m.ShutdownTimeout))
	}
	if len(m.Interpreters) > 0 {
		put(FileInterpreters, strings.Join(m.Interpreters, "\n"))
	}
	put(FilePackageType, m.PackageType)
	put(FileType, m.Type)
	put(FileManifest, m.Manifest)
	put(FileFiles, m.Files)
	return out
}

// Write writes the encoded metadata files into the package directory dir
// (each file written whole then renamed into place, mode 0644). Files that
// Encode leaves out are not removed.
func (m *Metadata) Write(dir string) error {
	files := m.Encode()
	for _, name := range slices.Sorted(maps.Keys(files)) {
		p := filepath.Join(dir, name)
		if err := atomicfile.WriteFile(p, files[name], 0o644); err != nil {
			return fmt.Errorf("write metadata of %s: write %s: %w", m.Ident, p, err)
		}
	}
	return nil
}

// ReadDir reads the raw metadata files of the package directory dir: the
// top-level regular files with the names this package recognises (see
// Recognized); files of other names are not read. A file larger than
// MaxFileBytes, or more than MaxTotalBytes in all, is an error wrapping
// ErrTooLarge that names the file.
func ReadDir(dir string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read package directory: %w", err)
	}
	files := map[string][]byte{}
	total := 0
	for _, e := range entries {
		if !e.Type().IsRegular() || !Recognized(e.Name()) {
			continue
		}
		data, err := readBounded(filepath.Join(dir, e.Name()), MaxTotalBytes-total)
		if err != nil {
			return nil, err
		}
		total += len(data)
		files[e.Name()] = data
	}
	return files, nil
}

// ReadFile reads the metadata file name of the package directory dir,
// bounded by MaxFileBytes; a file that does not exist gives nil and no
// error.
func ReadFile(dir, name string) ([]byte, error) {
	data, err := readBounded(filepath.Join(dir, name), MaxFileBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

// readBounded reads the file p, refusing one larger than MaxFileBytes or
// than room (what is left of the package's total).
func readBounded(p string, room int) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("read metadata: %w", err)
	}
	defer f.Close()
	limit := min(MaxFileBytes, room)
	data, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("read metadata %s: %w", p, err)
	}
	if len(data) > limit {
		if limit < MaxFileBytes {
			return nil, fmt.Errorf("%w: %s: the package's metadata files hold more than %d bytes in all", ErrTooLarge, p, MaxTotalBytes)
		}
		return nil, fmt.Errorf("%w: %s: more than the %d bytes a metadata file may hold", ErrTooLarge, p, MaxFileBytes)
	}
	return data, nil
}
