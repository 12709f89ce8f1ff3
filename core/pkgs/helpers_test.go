package pkgs

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/core/pkgmeta"
)

// testStore is a store under a fresh temporary FS_ROOT.
func testStore(t *testing.T) *Store {
	t.Helper()
	return New(paths.At(t.TempDir()), ident.X86_64Linux)
}

// fakePkg describes a package written straight into a store.
type fakePkg struct {
	id    string
	files map[string]string // metadata and other files, relative to the package directory
	deps  []string
	tdeps []string
	path  string // PATH metafile content; "bin" means the package's own bin directory
}

// put writes a package directory into the store as an install would leave
// it, with IDENT, TARGET (x86_64-linux unless given) and DEPS/TDEPS.
func put(t *testing.T, s *Store, p fakePkg) *Package {
	t.Helper()
	id := ident.MustParse(p.id)
	dir := s.PathFor(id)
	files := map[string]string{pkgmeta.FileIdent: p.id + "\n", pkgmeta.FileTarget: "x86_64-linux\n"}
	if len(p.deps) > 0 {
		files[pkgmeta.FileDeps] = strings.Join(p.deps, "\n") + "\n"
	}
	if len(p.tdeps) > 0 {
		files[pkgmeta.FileTDeps] = strings.Join(p.tdeps, "\n") + "\n"
	}
	if p.path == "bin" {
		files[pkgmeta.FilePath] = pkgmeta.InstallPrefix(id) + "/bin\n"
	} else if p.path != "" {
		files[pkgmeta.FilePath] = p.path
	}
	maps.Copy(files, p.files)
	for name, content := range files {
		f := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(name, "bin/") || strings.HasPrefix(name, "hooks/") {
			mode = 0o755
		}
		if err := os.WriteFile(f, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	return &Package{Ident: id, Path: dir, Prefix: pkgmeta.InstallPrefix(id)}
}

// recorder is a Reporter that keeps every line.
type recorder struct{ lines []string }

func (r *recorder) Begin(m string)            { r.lines = append(r.lines, "begin "+m) }
func (r *recorder) Status(s Status, m string) { r.lines = append(r.lines, string(s)+" "+m) }
func (r *recorder) Warn(m string)             { r.lines = append(r.lines, "warn "+m) }
func (r *recorder) End(m string)              { r.lines = append(r.lines, "end "+m) }
func (r *recorder) String() string            { return strings.Join(r.lines, "\n") }

func idents(ss ...string) []ident.Ident {
	var out []ident.Ident
	for _, s := range ss {
		out = append(out, ident.MustParse(s))
	}
	return out
}

func identStrings(ids []ident.Ident) []string {
	var out []string
	for _, id := range ids {
		out = append(out, id.String())
	}
	return out
}
