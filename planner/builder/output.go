package builder

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"golang.org/x/crypto/blake2b"

	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgmeta"
)

const phaseMetadata = "metadata"

// writeMetadata renders the package's metadata files, as the original's
// _build_metadata does, with FS_ROOT removed from the paths.
func (b *builder) writeMetadata(ctx context.Context) error {
	b.line("Building package metadata")
	id := b.identOf()
	m := &pkgmeta.Metadata{Ident: id, Target: b.target, Other: map[string][]byte{}}
	for _, d := range b.deps.run {
		m.Deps = append(m.Deps, d.id)
	}
	for _, d := range b.deps.runT {
		m.TDeps = append(m.TDeps, d.id)
	}
	for _, d := range b.deps.build {
		m.BuildDeps = append(m.BuildDeps, d.id)
	}
	for _, d := range b.deps.buildT {
		m.BuildTDeps = append(m.BuildTDeps, d.id)
	}
	un := func(xs []string) []string {
		for i := range xs {
			xs[i] = b.unroot(xs[i])
		}
		return xs
	}
	libs := un(b.ownDirs("pkg_lib_dirs"))
	m.LDRunPath = strings.Join(libs, ":")
	var ld, inc []string
	for _, l := range libs {
		ld = append(ld, "-L"+l)
	}
	m.LDFlags = strings.Join(ld, " ")
	for _, i := range un(b.ownDirs("pkg_include_dirs")) {
		inc = append(inc, "-I"+i)
	}
	m.CFlags = strings.Join(inc, " ")
	m.CPPFlags, m.CXXFlags = m.CFlags, m.CFlags
	pc := b.ownDirs("pkg_pconfig_dirs")
	if len(pc) == 0 {
		for _, d := range []string{"lib/pkgconfig", "share/pkgconfig"} {
			if fi, err := os.Stat(filepath.Join(b.prefix, d)); err == nil && fi.IsDir() {
				pc = append(pc, b.prefix+"/"+d)
			}
		}
	}
	m.PkgConfigPath = strings.Join(un(pc), ":")
	m.Path = un(b.ownDirs("pkg_bin_dirs"))

	m.BuildtimeEnvironment = b.unrootMap(b.buildtimeEnv.vals)
	if len(b.buildtimeEnv.prov) > 0 {
		m.Other[pkgmeta.FileBuildtimeEnvironmentProvenance] = kvLines(b.buildtimeEnv.prov)
	}
	if rp := b.runtimePath(); rp != "" {
		m.RuntimePath = strings.Split(rp, ":")
		m.HasRuntimePath = true
		b.runtimeEnv.vals["PATH"] = b.root(rp)
	}
	m.RuntimeEnvironment = b.unrootMap(b.runtimeEnv.vals)
	if len(b.runtimeEnv.prov) > 0 {
		m.Other[pkgmeta.FileRuntimeEnvironmentProvenance] = kvLines(b.runtimeEnv.prov)
	}

	m.Exports = mapVar(b.p.Var("pkg_exports"))
	for _, s := range []struct {
		setting string
		dst     *[]pkgmeta.Bind
	}{{"pkg_binds", &m.Binds}, {"pkg_binds_optional", &m.BindsOptional}} {
		binds := mapVar(b.p.Var(s.setting))
		for _, k := range slices.Sorted(maps.Keys(binds)) {
			*s.dst = append(*s.dst, pkgmeta.Bind{Name: k, Exports: strings.Fields(binds[k])})
		}
	}
	exposes, err := b.exposes(m.Exports)
	if err != nil {
		return err
	}
	m.Exposes = exposes
	for _, i := range listVar(b.p.Var("pkg_interpreters")) {
		m.Interpreters = append(m.Interpreters, b.unroot(b.prefix+"/"+i))
	}
	if fileExists(filepath.Join(b.p.Meta.PlanContext, "hooks", "run")) || b.p.Get("pkg_svc_run") != "" {
		m.SvcUser, m.SvcGroup = b.p.Get("pkg_svc_user"), b.p.Get("pkg_svc_group")
	}
	m.ShutdownSignal = b.p.Get("pkg_shutdown_signal")
	if s := b.p.Get("pkg_shutdown_timeout_sec"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return b.fail(phaseMetadata, 1, "pkg_shutdown_timeout_sec %q is not a number of seconds", s)
		}
		m.ShutdownTimeout = &n
	}
	if b.p.Get("HAB_NATIVE_PACKAGE") != "" {
		m.PackageType = "native"
	}
	if err := m.Write(b.prefix); err != nil {
		return b.fail(phaseMetadata, 1, "%v", err)
	}
	if err := b.writeFiles(); err != nil {
		return err
	}
	return b.writeManifest()
}

func (b *builder) unrootMap(in map[string]string) map[string]string {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = b.unroot(v)
	}
	return out
}

func kvLines(m map[string]string) []byte {
	var buf bytes.Buffer
	for _, k := range slices.Sorted(maps.Keys(m)) {
		buf.WriteString(k + "=" + m[k] + "\n")
	}
	return buf.Bytes()
}

// exposes is EXPOSES: for each pkg_exposes entry (an export name), the
// port its configuration key has in default.toml.
func (b *builder) exposes(exports map[string]string) ([]string, error) {
	names := listVar(b.p.Var("pkg_exposes"))
	if len(names) == 0 {
		return nil, nil
	}
	var cfg map[string]any
	data, err := os.ReadFile(filepath.Join(b.p.Meta.PlanContext, "default.toml"))
	if err == nil {
		if err := toml.Unmarshal(data, &cfg); err != nil {
			return nil, b.fail(phaseMetadata, 1, "read %s: %v", filepath.Join(b.p.Meta.PlanContext, "default.toml"), err)
		}
	}
	var out []string
	for _, e := range names {
		key, ok := exports[e]
		if !ok {
			msg := "Bad value in pkg_exposes; No pkg_export found matching key: " + e
			b.errorLine("ERROR: " + msg)
			return nil, &Error{Phase: phaseMetadata, Status: 1, Msg: msg}
		}
		port := lookupTOML(cfg, key)
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			msg := fmt.Sprintf("Bad pkg_export in pkg_exposes; Value of key \"%s\" does not contain a valid TCP or UDP port number: %s", key, port)
			b.errorLine("ERROR: " + msg)
			return nil, &Error{Phase: phaseMetadata, Status: 1, Msg: msg}
		}
		out = append(out, port)
	}
	return out, nil
}

func lookupTOML(cfg map[string]any, key string) string {
	var cur any = cfg
	for _, part := range strings.Split(key, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[part]
	}
	switch v := cur.(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

// writeFiles writes FILES: the BLAKE2b sum of every file of the package
// (paths as installed, sorted), signed with the origin key.
func (b *builder) writeFiles() error {
	b.line("Generating blake2b hashes of all files in the package")
	var files []string
	err := filepath.WalkDir(b.prefix, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return b.fail(phaseMetadata, 1, "list package files: %v", err)
	}
	sort.Strings(files)
	var sums bytes.Buffer
	for _, f := range files {
		sum, err := blake2bFile(f)
		if err != nil {
			return b.fail(phaseMetadata, 1, "hash %s: %v", f, err)
		}
		fmt.Fprintf(&sums, "%s  %s\n", sum, b.unroot(f))
	}
	b.line("Generating signed metadata FILES")
	// Signed as `hab pkg sign` signs any file: a hart header carrying the
	// signed BLAKE2b digest of the content, then the content.
	digest, _ := blake2b.New256(nil)
	digest.Write(sums.Bytes())
	hdr := hart.Header{Format: hart.FormatVersion, KeyName: b.key.NamedRevision.String(), HashType: hart.HashType,
		Signature: b.key.Sign([]byte(hex.EncodeToString(digest.Sum(nil))))}
	signed := append(hdr.Encode(), sums.Bytes()...)
	if err := os.WriteFile(filepath.Join(b.prefix, pkgmeta.FileFiles), signed, 0o644); err != nil {
		return b.fail(phaseMetadata, 1, "write FILES: %v", err)
	}
	return nil
}

func blake2bFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h, _ := blake2b.New256(nil)
	if _, err := io.Copy(h, bufio.NewReaderSize(f, 1<<16)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeManifest writes MANIFEST, the human-readable summary.
func (b *builder) writeManifest() error {
	b.line("Creating manifest")
	g := b.p.Get
	or := func(v, none string) string {
		if v == "" {
			return none
		}
		return v
	}
	link := func(v, none string) string {
		if v == "" {
			return none
		}
		return "[" + v + "](" + v + ")"
	}
	list := func(setting, none string) string {
		l := listVar(b.p.Var(setting))
		if len(l) == 0 {
			return none
		}
		return "`" + strings.Join(l, " ") + " `"
	}
	sha := "SHA256 checksum not provided or required"
	if s := g("pkg_shasum"); s != "" {
		sha = "`" + s + "`"
	}
	planFile, _ := os.ReadFile(b.p.Path)
	var lic strings.Builder
	for _, l := range listVar(b.p.Var("pkg_license")) {
		lic.WriteString(l + " ")
	}
	text := fmt.Sprintf("# %s / %s\n%s\n\n* __Maintainer__: %s\n* __Version__: %s\n* __Release__: %s\n* __Target__: %s\n* __Upstream URL__: %s\n* __License__: %s\n* __Source__: %s\n* __SHA__: %s\n* __Path__: `%s`\n* __Build Dependencies__: %s\n* __Dependencies__: %s\n* __Interpreters__: %s\n\n# Plan\n\n## Build Flags\n\n```bash\nCFLAGS: %s\nCPPFLAGS: %s\nCXXFLAGS: %s\nLDFLAGS: %s\nLD_RUN_PATH: %s\n```\n\n## Plan Source\n\n```bash\n%s\n```\n",
		g("pkg_origin"), g("pkg_name"), g("pkg_description"),
		g("pkg_maintainer"), g("pkg_version"), g("pkg_release"), g("pkg_target"),
		link(g("pkg_upstream_url"), "upstream project's website or home page is not defined"),
		lic.String(),
		link(g("pkg_source"), "source URL not provided or required"),
		sha, b.unroot(b.prefix),
		list("pkg_build_deps", "no build dependencies or undefined"),
		list("pkg_deps", "no runtime dependencies or undefined"),
		list("pkg_interpreters", "no interpreters or undefined"),
		b.unroot(or(g("CFLAGS"), "no CFLAGS")), b.unroot(or(g("CPPFLAGS"), "no CPPFLAGS")),
		b.unroot(or(g("CXXFLAGS"), "no CXXFLAGS")), b.unroot(or(g("LDFLAGS"), "no LDFLAGS")),
		b.unroot(or(g("LD_RUN_PATH"), "no LD_RUN_PATH")),
		strings.TrimRight(string(planFile), "\n"))
	if err := os.WriteFile(filepath.Join(b.prefix, pkgmeta.FileManifest), []byte(text), 0o644); err != nil {
		return b.fail(phaseMetadata, 1, "write MANIFEST: %v", err)
	}
	return nil
}

// finish writes the metadata, signs the artifact, writes the build
// outputs and runs do_end and do_after_success.
func (b *builder) finish(ctx context.Context, metadata func(context.Context) error) (*Result, error) {
	if err := metadata(ctx); err != nil {
		return nil, err
	}
	id := b.identOf()
	res := &Result{Ident: id, Target: b.target, Prefix: b.prefix, Log: b.logBuf.path()}
	if err := b.generateArtifact(ctx, id, res); err != nil {
		return nil, err
	}
	if err := b.prepareOutputs(id, res); err != nil {
		return nil, err
	}
	b.line("hab-plan-build cleanup")
	if err := b.phase(ctx, "do_end", false); err != nil {
		return nil, err
	}
	b.success = true
	b.finalCallback(ctx, "do_after_success")
	b.line("")
	b.line("Source Path: " + b.p.Get("SRC_PATH"))
	b.line("Installed Path: " + b.prefix)
	b.line("Artifact: " + res.Artifact)
	b.line("Build Report: " + res.LastBuild)
	b.line("SHA256 Checksum: " + res.SHA256)
	b.line("Blake2b Checksum: " + res.Blake2b)
	b.line("")
	b.line("I love it when a plan.sh comes together.")
	b.line("")
	b.line(fmt.Sprintf("Build time: %s", formatElapsed(b.now().Sub(b.start).Seconds())))
	return res, nil
}

func formatElapsed(sec float64) string {
	s := int(sec)
	return fmt.Sprintf("%dm%ds", s/60, s%60)
}

func (b *builder) generateArtifact(ctx context.Context, id ident.Ident, res *Result) error {
	b.line("Generating package artifact")
	name, err := id.ArchiveName(b.target)
	if err != nil {
		return b.fail("artifact", 1, "%v", err)
	}
	cache := b.artifactCache()
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return b.fail("artifact", 1, "create %s: %v", cache, err)
	}
	dst := filepath.Join(cache, name)
	tmp, err := os.CreateTemp(cache, "."+name+"-*")
	if err != nil {
		return b.fail("artifact", 1, "create artifact: %v", err)
	}
	b.created = append(b.created, tmp.Name())
	opts := b.opts.Hart
	if opts.Level == 0 {
		if n, err := strconv.Atoi(b.p.Get("HAB_HART_COMPRESSION_LEVEL")); err == nil && n >= 1 && n <= 9 {
			opts.Level = n
		}
	}
	if opts.TempDir == "" {
		opts.TempDir = cache
	}
	w := bufio.NewWriterSize(tmp, 1<<16)
	start := time.Now()
	err = hart.Write(ctx, w, b.fsRoot, id, b.key, opts)
	if err == nil {
		err = w.Flush()
	}
	res.ArtifactTime = time.Since(start)
	if err == nil {
		// CreateTemp makes 0600: the cached hart is readable by others,
		// as the copy in results/ is.
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return b.fail("artifact", 1, "%v", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return b.fail("artifact", 1, "write %s: %v", dst, err)
	}
	b.created = append(b.created, dst)
	res.CachedArtifact = dst
	return nil
}

// prepareOutputs copies the artifact into pkg_output_path and writes
// last_build.env.
func (b *builder) prepareOutputs(id ident.Ident, res *Result) error {
	out := b.p.Get("pkg_output_path")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return b.fail("artifact", 1, "create %s: %v", out, err)
	}
	name := filepath.Base(res.CachedArtifact)
	dst := filepath.Join(out, name)
	b.created = append(b.created, dst)
	if err := copyFile(res.CachedArtifact, dst, 0o644); err != nil {
		return b.fail("artifact", 1, "copy artifact to %s: %v", dst, err)
	}
	res.Artifact = dst
	var err error
	if res.SHA256, err = sha256File(dst); err != nil {
		return b.fail("artifact", 1, "hash %s: %v", dst, err)
	}
	if res.Blake2b, err = hart.Hash(context.Background(), dst); err != nil {
		return b.fail("artifact", 1, "hash %s: %v", dst, err)
	}
	os.Remove(filepath.Join(out, "pre_build.env"))
	env := fmt.Sprintf("pkg_origin=%s\npkg_name=%s\npkg_version=%s\npkg_release=%s\npkg_target=%s\npkg_ident=%s\npkg_artifact=%s\npkg_sha256sum=%s\npkg_blake2bsum=%s\n",
		id.Origin, id.Name, id.Version, id.Release, b.target, id, name, res.SHA256, res.Blake2b)
	res.LastBuild = filepath.Join(out, "last_build.env")
	b.created = append(b.created, res.LastBuild)
	if err := os.WriteFile(res.LastBuild, []byte(env), 0o644); err != nil {
		return b.fail("artifact", 1, "write %s: %v", res.LastBuild, err)
	}
	return nil
}
