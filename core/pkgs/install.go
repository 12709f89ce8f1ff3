package pkgs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/habgo/hab/core/closure"
	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgmeta"
)

// Errors of Install, wrapped so that callers can test them with errors.Is.
var (
	// ErrArtifactNotFound: no local hart provides a package that must be
	// installed (the depot is not consulted: there is none).
	ErrArtifactNotFound = errors.New("artifact not found")
	// ErrWrongTarget: the hart is built for another target.
	ErrWrongTarget = errors.New("package target is not the active target")
	// ErrIdentMismatch: a hart does not hold the package its name promises.
	ErrIdentMismatch = errors.New("artifact ident mismatch")
	// ErrNotRegular: a path given as a hart is not a regular file (a
	// directory, FIFO, socket or device), which cannot be a hart: a hart
	// is read several times (identifier, signature, payload).
	ErrNotRegular = errors.New("not a regular file")
)

// Installer installs signed .hart artifacts into a store, with their
// runtime dependencies, from local harts only: the files given to
// InstallAll and the artifact cache.
//
// Installation is atomic per package: each hart is verified and extracted
// in one streaming pass into a locked temporary directory inside the
// store (same file system), and renamed into place only once every hart
// of the closure has been staged. Anything that fails before that point
// (a missing dependency, a missing key, a bad signature, an unsafe entry,
// a full disk, a cancelled context) removes every temporary and installs
// nothing. Temporaries left by a crash are removed by the next install.
type Installer struct {
	Store *Store
	// Keys is the key cache the signer keys are looked up in; a key file
	// NAME-REV.pub beside a hart whose key is missing is imported into it.
	Keys crypto.Cache
	// Sources provide the harts and keys the store lacks, asked in
	// order; when empty, LocalSource{Dirs: {ArtifactCache}} is the one.
	Sources []Source
	// ArtifactCache is the directory of cached harts
	// (ORIGIN-NAME-VERSION-RELEASE-TARGET.hart); installed harts are
	// copied into it, as the original does.
	ArtifactCache string
	// Hooks runs install hooks (after the packages are in place, deepest
	// dependency first, each until it succeeds once); nil runs none.
	Hooks    HookRunner
	Reporter Reporter
	// XZ chooses the xz implementation (hart.XZAuto when empty).
	XZ hart.XZ
	// Limits bound what one hart may hold (hart.Limits' defaults when
	// zero); raise them for packages beyond the defaults.
	Limits hart.Limits
	// Progress, when set, is called while a hart is extracted with the
	// package, the compressed bytes read so far and the hart's size. It
	// may be called from another goroutine.
	Progress func(id ident.Ident, done, total int64)
	// IgnoreLocal resolves package identifiers from local harts only, not
	// from installed packages (--ignore-local).
	IgnoreLocal bool
}

// InstallResult is what InstallAll did for one argument.
type InstallResult struct {
	Package *Package
	// Installed lists the packages this install put in place (empty when
	// everything was already installed), dependencies first.
	Installed []ident.Ident
}

// artifact is a hart that provides one package.
type artifact struct {
	path    string
	id      ident.Ident // what the hart claims to hold (its file name or its first entries)
	claimed bool        // id was read from the payload, not guessed from the file name
	src     Source      // the source to fetch it from while path is empty
}

// sources returns the installer's sources, the artifact cache by default.
func (in *Installer) sources() []Source {
	if len(in.Sources) > 0 {
		return in.Sources
	}
	return []Source{LocalSource{Dirs: []string{in.ArtifactCache}}}
}

// where says where the sources look, for messages.
func (in *Installer) where() string {
	var out []string
	for _, s := range in.sources() {
		out = append(out, s.String())
	}
	return strings.Join(out, ", ")
}

// InstallAll installs each argument in turn, as `hab pkg install` does:
// an argument that names an existing file is a hart; one ending in .hart
// that does not exist is an error; anything else is a package identifier,
// resolved to the latest satisfying package that is installed or in a
// local hart. Harts given as arguments also provide dependencies of the
// others. It stops at the first failure.
//
// Each hart is read once: its package identifier is peeked from the first
// entries of the payload, and Extract then verifies, unpacks and returns
// the metadata (TDEPS, TARGET) in the same pass. Dependencies are looked
// for after the package is staged; when one is missing, the staged
// package is thrown away and nothing is installed.
func (in *Installer) InstallAll(ctx context.Context, args []string) ([]*InstallResult, error) {
	// Choose the xz implementation once for the whole closure: in auto
	// mode that probes the xz program, which costs a process start.
	if in.XZ == hart.XZAuto {
		mode, err := in.XZ.Mode()
		if err != nil {
			return nil, fmt.Errorf("install: %w", err)
		}
		resolved := *in
		resolved.XZ = mode
		in = &resolved
	}
	type source struct {
		a  *artifact
		id ident.Ident
	}
	var sources []source
	local := map[ident.Ident]*artifact{}
	for _, arg := range args {
		fi, err := os.Stat(arg)
		if err == nil && !fi.Mode().IsRegular() && !(fi.IsDir() && identArg(arg)) {
			return nil, fmt.Errorf("install %s: %w: it is %s, and a hart must be a regular file", arg, ErrNotRegular, fileKind(fi.Mode()))
		}
		if err == nil && fi.Mode().IsRegular() {
			id, err := peekIdent(ctx, arg)
			if err != nil {
				return nil, fmt.Errorf("install %s: %w", arg, in.explain(ctx, arg, err))
			}
			a := &artifact{path: arg, id: id, claimed: true}
			local[id] = a
			sources = append(sources, source{a: a})
			continue
		}
		if strings.HasSuffix(arg, ".hart") {
			return nil, fmt.Errorf("install %s: %w: file not found at: %s", arg, fs.ErrNotExist, arg)
		}
		id, err := ident.Parse(arg)
		if err != nil {
			return nil, fmt.Errorf("install %s: not a hart file, nor a package identifier: %w", arg, err)
		}
		sources = append(sources, source{id: id})
	}
	var results []*InstallResult
	for _, src := range sources {
		var (
			res *InstallResult
			err error
		)
		if src.a != nil {
			reporter(in.Reporter).Begin(fmt.Sprintf("Installing %s", src.a.path))
			res, err = in.install(ctx, src.a.id, src.a, local)
		} else {
			res, err = in.installIdent(ctx, src.id, local)
		}
		if err != nil {
			return results, err
		}
		results = append(results, res)
	}
	return results, nil
}

// identArg reports whether arg, which names an existing directory, is
// meant as a package identifier (as the original, which takes only
// files as harts): not ending in .hart, and parsing as an identifier.
func identArg(arg string) bool {
	if strings.HasSuffix(arg, ".hart") {
		return false
	}
	_, err := ident.Parse(arg)
	return err == nil
}

// fileKind names the kind of file a mode describes, for errors.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "not a regular file"
}

// Install installs one hart file or package identifier; see InstallAll.
func (in *Installer) Install(ctx context.Context, arg string) (*InstallResult, error) {
	res, err := in.InstallAll(ctx, []string{arg})
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// installIdent resolves a package identifier to an installed package or a
// local hart and installs it.
func (in *Installer) installIdent(ctx context.Context, want ident.Ident, local map[ident.Ident]*artifact) (*InstallResult, error) {
	r := reporter(in.Reporter)
	r.Begin(fmt.Sprintf("Installing %s", want))
	installed, err := in.Store.List(ctx, want)
	if err != nil {
		return nil, fmt.Errorf("install %s: %w", want, err)
	}
	if in.IgnoreLocal {
		installed = nil
	}
	candidates, err := in.candidates(ctx, want, local)
	if err != nil {
		return nil, fmt.Errorf("install %s: %w", want, err)
	}
	if !want.FullyQualified() {
		r.Status(StatusDetermining, fmt.Sprintf("latest version of %s locally installed or cached", want))
	}
	for {
		all := slices.Clone(installed)
		for id := range candidates {
			all = append(all, id)
		}
		latest, ok := ident.Latest(all)
		if !ok {
			return nil, fmt.Errorf("install %s: %w: no installed package and no hart in %s satisfies %s (for %s)", want, ErrArtifactNotFound, in.where(), want, in.Store.Target)
		}
		if slices.Contains(installed, latest) {
			return in.install(ctx, latest, nil, local)
		}
		a := candidates[latest]
		if a.path == "" {
			p, err := a.src.Fetch(ctx, latest, in.Store.Target)
			if err != nil {
				return nil, fmt.Errorf("install %s: fetch %s from %s: %w", want, latest, a.src, err)
			}
			a.path = p
		}
		if !a.claimed {
			id, err := peekIdent(ctx, a.path)
			if err != nil {
				return nil, fmt.Errorf("install %s: %w", want, in.explain(ctx, a.path, err))
			}
			if id != latest {
				// Misnamed file: it does not hold what its name says.
				r.Warn(fmt.Sprintf("Ignoring %s: it holds %s", a.path, id))
				delete(candidates, latest)
				continue
			}
			a.claimed = true
		}
		return in.install(ctx, latest, a, local)
	}
}

// candidates finds the harts that may satisfy want: those given as
// arguments, then what the sources offer (fetched only once chosen).
func (in *Installer) candidates(ctx context.Context, want ident.Ident, local map[ident.Ident]*artifact) (map[ident.Ident]*artifact, error) {
	out := map[ident.Ident]*artifact{}
	for id, a := range local {
		if id.Satisfies(want) {
			out[id] = a
		}
	}
	for _, src := range in.sources() {
		ids, err := src.Candidates(ctx, want, in.Store.Target)
		if err != nil {
			return nil, fmt.Errorf("look for %s in %s: %w", want, src, err)
		}
		for _, id := range ids {
			if _, ok := out[id]; !ok && id.Validate() == nil && id.FullyQualified() && id.Satisfies(want) {
				out[id] = &artifact{id: id, src: src}
			}
		}
	}
	return out, nil
}

// findArtifact finds the hart of the fully qualified id: a hart given as
// an argument, else one fetched from the first source that has it. None
// is (nil, nil).
func (in *Installer) findArtifact(ctx context.Context, id ident.Ident, local map[ident.Ident]*artifact) (*artifact, error) {
	if a, ok := local[id]; ok {
		return a, nil
	}
	for _, src := range in.sources() {
		p, err := src.Fetch(ctx, id, in.Store.Target)
		if errors.Is(err, ErrArtifactNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("fetch %s from %s: %w", id, src, err)
		}
		return &artifact{path: p, id: id}, nil
	}
	return nil, nil
}

// staged is a hart extracted into a temporary, waiting to be renamed into
// place.
type staged struct {
	a    *artifact
	meta *pkgmeta.Metadata
	tmp  *tempDir
	dir  string // the package directory inside tmp
}

// installation is the work of one install: what is staged and copied,
// undone together when anything fails before the commit.
type installation struct {
	in     *Installer
	staged []*staged
	copies []*cacheCopy
}

func (w *installation) abort() {
	for _, st := range w.staged {
		st.tmp.remove()
	}
	for _, c := range w.copies {
		c.abort()
	}
}

// stage checks the signer key, starts the copy into the artifact cache and
// extracts the hart into a temporary.
func (w *installation) stage(ctx context.Context, a *artifact) (*staged, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	reporter(w.in.Reporter).Status(StatusVerifying, a.id.String())
	c, err := w.in.startCacheCopy(ctx, a)
	if err != nil {
		return nil, err
	}
	if c != nil {
		w.copies = append(w.copies, c)
	}
	st, err := w.in.stage(ctx, a)
	if err != nil {
		return nil, err
	}
	w.staged = append(w.staged, st)
	return st, nil
}

// install installs the package root (from its hart a, or, when a is nil,
// an installed package whose dependencies may be missing) and the missing
// packages of its TDEPS.
func (in *Installer) install(ctx context.Context, rootID ident.Ident, a *artifact, local map[ident.Ident]*artifact) (*InstallResult, error) {
	r := reporter(in.Reporter)
	s := in.Store
	in.CleanStaleCache()
	if removed, err := s.CleanStale(); err != nil {
		return nil, err
	} else {
		for _, p := range removed {
			r.Warn(fmt.Sprintf("Removed %s left behind by an interrupted install", p))
		}
	}

	// Shared with other installs, exclusive of uninstalls, until the
	// packages are in place: what is seen installed now stays installed.
	unlock, err := s.lock(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("install %s: %w", rootID, err)
	}
	locked := true
	defer func() {
		if locked {
			unlock()
		}
	}()

	w := &installation{in: in}
	var (
		tdeps []ident.Ident
		root  *staged
	)
	if a != nil && s.IsInstalled(rootID) {
		// The hart claims a package that is installed: before it is
		// "used", it must be genuine (signed by a trusted key, its payload
		// what was signed), as it would have to be to be installed.
		if err := in.ensureKey(ctx, a); err != nil {
			return nil, fmt.Errorf("install %s: %w", rootID, err)
		}
		if _, err := hart.Verify(ctx, a.path, in.Keys); err != nil {
			return nil, fmt.Errorf("install %s: %w (nothing was installed)", rootID, err)
		}
		a = nil
	}
	if a == nil {
		p, err := s.Load(rootID)
		if err != nil {
			return nil, fmt.Errorf("install %s: %w", rootID, err)
		}
		r.Status(StatusUsing, fmt.Sprintf("%s (already installed)", rootID))
		m, err := p.Metadata()
		if err != nil {
			return nil, fmt.Errorf("install %s: %w", rootID, err)
		}
		tdeps = m.TDeps
	} else {
		// The signer key first: without it nothing about the hart can
		// be trusted. Then one pass: verify, extract, read the metadata.
		if err := in.ensureKey(ctx, a); err != nil {
			return nil, fmt.Errorf("install %s: %w", rootID, err)
		}
		st, err := w.stage(ctx, a)
		if err != nil {
			w.abort()
			return nil, fmt.Errorf("install %s: %w (nothing was installed)", rootID, err)
		}
		root = st
		tdeps = st.meta.TDeps
	}

	// The packages the root's TDEPS name, in TDEPS order.
	closureIDs, err := closure.TDeps(ctx, []ident.Ident{rootID}, func(context.Context, ident.Ident) ([]ident.Ident, error) { return tdeps, nil })
	if err != nil {
		w.abort()
		return nil, fmt.Errorf("install %s: %w (nothing was installed)", rootID, err)
	}
	rootDeps := closureIDs[1:]
	var missing []string
	var plan []*artifact // dependencies to install, deepest first
	for _, dep := range rootDeps {
		if s.IsInstalled(dep) {
			r.Status(StatusUsing, dep.String())
			continue
		}
		da, err := in.findArtifact(ctx, dep, local)
		if err != nil {
			w.abort()
			return nil, fmt.Errorf("install %s: %w (nothing was installed)", rootID, err)
		}
		if da == nil {
			missing = append(missing, dep.String())
			continue
		}
		// The original installs TDEPS deepest first: the reverse of
		// their order in the file.
		plan = append(plan, da)
	}
	slices.Reverse(plan)
	if len(missing) > 0 {
		w.abort()
		list := strings.Join(missing, ", ")
		if len(missing) > 10 {
			list = fmt.Sprintf("%s and %d more", strings.Join(missing[:10], ", "), len(missing)-10)
		}
		return nil, fmt.Errorf("install %s: %w: dependencies %s are not installed and have no hart in %s (nothing was installed)", rootID, ErrArtifactNotFound, list, in.where())
	}
	// Every signer key must be at hand before more work is done.
	for _, da := range plan {
		if err := in.ensureKey(ctx, da); err != nil {
			w.abort()
			return nil, fmt.Errorf("install %s: %w (nothing was installed)", rootID, err)
		}
	}
	for _, da := range plan {
		if _, err := w.stage(ctx, da); err != nil {
			w.abort()
			return nil, fmt.Errorf("install %s: %w (nothing was installed)", rootID, err)
		}
	}
	for _, c := range w.copies {
		if err := c.wait(); err != nil {
			w.abort()
			return nil, fmt.Errorf("install %s: %w (nothing was installed)", rootID, err)
		}
	}
	if err := ctx.Err(); err != nil {
		w.abort()
		return nil, fmt.Errorf("install %s: %w (nothing was installed)", rootID, err)
	}

	// Commit: every package is complete on disk; rename them into place,
	// dependencies first, the package last. From here on the context is
	// not consulted, so that an interruption cannot split the closure.
	order := slices.Clone(w.staged)
	if root != nil {
		order = append(order[1:], root)
	}
	res := &InstallResult{}
	for i, st := range order {
		done, err := in.commit(st)
		if err != nil {
			for _, rest := range order[i+1:] {
				rest.tmp.remove()
			}
			for _, c := range w.copies {
				c.abort()
			}
			return res, fmt.Errorf("install %s: %w (%s)", rootID, err, committed(res.Installed))
		}
		if done {
			res.Installed = append(res.Installed, st.a.id)
			r.Status(StatusInstalled, st.a.id.String())
		} else {
			r.Status(StatusUsing, st.a.id.String())
		}
	}
	locked = false
	unlock()
	for _, c := range w.copies {
		if err := c.commit(); err != nil {
			r.Warn(fmt.Sprintf("Could not store %s in the artifact cache: %v", c.src, err))
		}
	}
	if err := in.runHooks(ctx, rootID, rootDeps); err != nil {
		return res, fmt.Errorf("install %s: %w (%s)", rootID, err, committed(res.Installed))
	}
	r.End(fmt.Sprintf("Install of %s complete with %d new packages installed.", rootID, len(res.Installed)))
	p, err := s.Load(rootID)
	if err != nil {
		return res, err
	}
	res.Package = p
	return res, nil
}

// committed says which packages an install that failed after its commit
// began did put in place.
func committed(ids []ident.Ident) string {
	if len(ids) == 0 {
		return "no package was installed"
	}
	return "installed before the failure: " + joinIdents(ids)
}

// explain turns a payload that cannot be read (peeked at, unverified)
// into the signature failure it usually is: a hart altered after signing
// has a corrupt xz stream, which the decompressor notices first. The
// signature is checked (one more pass, on this error path only) and, when
// it fails, that is the error reported.
func (in *Installer) explain(ctx context.Context, path string, err error) error {
	if !errors.Is(err, hart.ErrFormat) || errors.Is(err, hart.ErrUnsafeEntry) || errors.Is(err, crypto.ErrBadSignature) {
		return err
	}
	if _, verr := hart.Verify(ctx, path, in.Keys); errors.Is(verr, crypto.ErrBadSignature) {
		return fmt.Errorf("%w (reading it failed with: %v)", verr, err)
	}
	return err
}

// ensureKey makes sure the signer key of a hart is in the key cache,
// importing NAME-REV.pub from the hart's directory when it is not.
func (in *Installer) ensureKey(ctx context.Context, a *artifact) error {
	h, err := hart.ReadHeaderFile(ctx, a.path)
	if err != nil {
		return err
	}
	_, err = in.Keys.SigningPublicKey(h.KeyName)
	if err == nil {
		return nil
	}
	if !errors.Is(err, crypto.ErrKeyNotFound) {
		return fmt.Errorf("%s: signing key %s: %w", a.path, h.KeyName, err)
	}
	// Beside the hart first, as the original looks; then the sources.
	pub := filepath.Join(filepath.Dir(a.path), h.KeyName+".pub")
	data, rerr := os.ReadFile(pub)
	if errors.Is(rerr, fs.ErrNotExist) {
		for _, src := range in.sources() {
			data, rerr = src.PublicKey(ctx, h.KeyName)
			if rerr == nil {
				pub = fmt.Sprintf("%s.pub from %s", h.KeyName, src)
				break
			}
			if !errors.Is(rerr, crypto.ErrKeyNotFound) {
				return fmt.Errorf("%s is signed by %s: %w", a.path, h.KeyName, rerr)
			}
		}
		if rerr != nil {
			return fmt.Errorf("%s is signed by %s: %w: the public origin key %s is not in the key cache %s, nor beside the hart (%s), nor in %s", a.path, h.KeyName, crypto.ErrKeyNotFound, h.KeyName, in.Keys.Dir, pub, in.where())
		}
	} else if rerr != nil {
		return fmt.Errorf("%s is signed by %s: %w", a.path, h.KeyName, rerr)
	}
	kf, err := crypto.ParseKeyFile(data, pub)
	if err != nil {
		return fmt.Errorf("import the signing key of %s: %w", a.path, err)
	}
	if kf.Type != crypto.SigPublic || kf.NamedRevision.String() != h.KeyName {
		return fmt.Errorf("import the signing key of %s: %s holds %s %s, not the public signing key %s", a.path, pub, kf.Type, kf.NamedRevision, h.KeyName)
	}
	if _, err := in.Keys.Write(kf); err != nil {
		return fmt.Errorf("import the signing key of %s: %w", a.path, err)
	}
	reporter(in.Reporter).Status(StatusCached, fmt.Sprintf("%s public origin key", h.KeyName))
	return nil
}

// stage verifies and extracts a hart into a fresh temporary.
func (in *Installer) stage(ctx context.Context, a *artifact) (*staged, error) {
	t, err := in.Store.newTemp(installTmpPrefix, a.id.Name+"-"+a.id.Release)
	if err != nil {
		return nil, err
	}
	opts := hart.ExtractOptions{XZ: in.XZ, Keep: pkgmeta.Known, Limits: in.Limits}
	if in.Progress != nil {
		var total int64
		if fi, err := os.Stat(a.path); err == nil {
			total = fi.Size()
		}
		opts.Progress = func(done int64) { in.Progress(a.id, done, total) }
	}
	// ExtractWith verifies the digest before it decompresses anything, so
	// its error needs no explain: an altered hart is already reported as a
	// bad signature.
	m, err := hart.ExtractWith(ctx, a.path, in.Keys, t.path, opts)
	if err != nil {
		t.remove()
		return nil, err
	}
	if m.Ident != a.id {
		t.remove()
		return nil, fmt.Errorf("%w: artifact ident %s for `%s' does not match expected ident %s", ErrIdentMismatch, m.Ident, a.path, a.id)
	}
	if m.Target != in.Store.Target {
		t.remove()
		return nil, fmt.Errorf("%s: %w: package target '%s' of %s is not supported as this system has a different active package target '%s'", a.path, ErrWrongTarget, m.Target, m.Ident, in.Store.Target)
	}
	dir := filepath.Join(t.path, "hab", "pkgs", a.id.Origin, a.id.Name, a.id.Version, a.id.Release)
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
		t.remove()
		return nil, fmt.Errorf("%s: %w: the payload has no package directory", a.path, hart.ErrFormat)
	}
	meta, err := pkgmeta.Parse(m.Ident, m.Files)
	if err != nil {
		t.remove()
		return nil, fmt.Errorf("%s: %w", a.path, err)
	}
	return &staged{a: a, meta: meta, tmp: t, dir: dir}, nil
}

// commit renames a staged package into place. It reports false when the
// package turned out to be installed already (by a concurrent install).
func (in *Installer) commit(st *staged) (bool, error) {
	defer st.tmp.remove()
	final := in.Store.PathFor(st.a.id)
	parent := filepath.Dir(final)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return false, fmt.Errorf("install %s: %w", st.a.id, err)
	}
	if err := os.Rename(st.dir, final); err != nil {
		if in.Store.IsInstalled(st.a.id) {
			return false, nil
		}
		return false, fmt.Errorf("install %s: move into place: %w", st.a.id, err)
	}
	if d, err := os.Open(parent); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return true, nil
}

// runHooks runs the install hooks of the dependencies (deepest first) and
// then of the package, skipping those that already succeeded once.
func (in *Installer) runHooks(ctx context.Context, root ident.Ident, tdeps []ident.Ident) error {
	if in.Hooks == nil {
		return nil
	}
	order := slices.Clone(tdeps)
	slices.Reverse(order)
	order = append(order, root)
	for _, id := range order {
		p, err := in.Store.Load(id)
		if err != nil {
			return fmt.Errorf("install hook of %s: %w", id, err)
		}
		if ok, err := hookSucceeded(p, pkgmeta.FileInstallHookStatus); err != nil {
			return err
		} else if ok {
			continue
		}
		if _, err := os.Stat(filepath.Join(p.HooksDir(), HookInstall)); err != nil {
			continue
		}
		reporter(in.Reporter).Status(StatusExecuting, fmt.Sprintf("install hook for '%s'", id))
		if _, err := in.Hooks.RunHook(ctx, in.Store, p, HookInstall); err != nil {
			return err
		}
	}
	return nil
}

// cacheCopy copies a hart into the artifact cache, concurrently with its
// extraction, into a locked temporary file renamed into place on commit.
type cacheCopy struct {
	src, dst string
	tmp      *os.File
	done     chan error
}

func (in *Installer) startCacheCopy(ctx context.Context, a *artifact) (*cacheCopy, error) {
	name, err := a.id.ArchiveName(in.Store.Target)
	if err != nil {
		return nil, err
	}
	dst := filepath.Join(in.ArtifactCache, name)
	if same(a.path, dst) {
		return nil, nil
	}
	if err := os.MkdirAll(in.ArtifactCache, 0o755); err != nil {
		return nil, fmt.Errorf("create artifact cache %s: %w", in.ArtifactCache, err)
	}
	tmp, err := os.CreateTemp(in.ArtifactCache, installTmpPrefix+name+"-")
	if err != nil {
		return nil, fmt.Errorf("store %s in the artifact cache: %w", a.path, err)
	}
	if err := syscall.Flock(int(tmp.Fd()), syscall.LOCK_EX); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("store %s in the artifact cache: %w", a.path, err)
	}
	c := &cacheCopy{src: a.path, dst: dst, tmp: tmp, done: make(chan error, 1)}
	go func() {
		c.done <- copyFile(ctx, tmp, a.path)
	}()
	return c, nil
}

func copyFile(ctx context.Context, dst *os.File, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := ctx.Err(); err != nil {
		return err
	}
	// *os.File to *os.File: the kernel copies (copy_file_range).
	if _, err := io.Copy(dst, f); err != nil {
		return fmt.Errorf("store %s in the artifact cache: %w", src, err)
	}
	if err := dst.Chmod(0o644); err != nil {
		return fmt.Errorf("store %s in the artifact cache: %w", src, err)
	}
	return nil
}

func (c *cacheCopy) wait() error {
	err := <-c.done
	c.done <- err // keep the result for later calls
	return err
}

func (c *cacheCopy) commit() error {
	if err := c.wait(); err != nil {
		c.abort()
		return err
	}
	defer c.tmp.Close()
	if err := os.Rename(c.tmp.Name(), c.dst); err != nil {
		os.Remove(c.tmp.Name())
		return err
	}
	return nil
}

func (c *cacheCopy) abort() {
	<-c.done
	c.done <- nil
	os.Remove(c.tmp.Name())
	c.tmp.Close()
}

// same reports whether two paths name the same existing file.
func same(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// CleanStaleCache removes temporary files left in the artifact cache by
// interrupted installs (those no running install holds).
func (in *Installer) CleanStaleCache() {
	entries, err := os.ReadDir(in.ArtifactCache)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasPrefix(e.Name(), installTmpPrefix) {
			continue
		}
		p := filepath.Join(in.ArtifactCache, e.Name())
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			os.Remove(p)
		}
		f.Close()
	}
}
