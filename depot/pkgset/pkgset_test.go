package pkgset

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/habgo/hab/core/ident"
)

func ids(s ...string) []ident.Ident {
	var out []ident.Ident
	for _, x := range s {
		out = append(out, ident.MustParse(x))
	}
	return out
}

// header is what a valid package-set file starts with.
const header = "format_version = 1\nfile_descriptor = \"fooa\"\n\n"

// TestParseTOML: the original's package-set files (its end-to-end
// fixtures: happy_path, no_target accepted; bad_header, bad_ident,
// bad_target, no_header refused) and more, each refusal naming the file
// and the line.
func TestParseTOML(t *testing.T) {
	cases := []struct {
		name string
		text string
		want []Set
		err  string // with the file name and line: "f.toml:LINE: ..."
	}{
		{"happy path", header + "# option 1,\n# complex, target first\n[[x86_64-linux]]\nchannel = \"stable\"\n" +
			"packages = [\"core/gzip\", \"core/grep/3.1\", \"core/redis/4.0.14/20190319155852\"]\n\n" +
			"[[x86_64-linux]]\nchannel = \"unstable\"\npackages = [\"chef/chef-client\", \"chef/inspec/4.18.30/20191107165916\"]\n\n" +
			"[[x86_64-windows]]\nchannel = \"stable\"\npackages = [\"core/powershell\"]\n",
			[]Set{
				{ident.X86_64Linux, "stable", ids("core/gzip", "core/grep/3.1", "core/redis/4.0.14/20190319155852")},
				{ident.X86_64Linux, "unstable", ids("chef/chef-client", "chef/inspec/4.18.30/20191107165916")},
				{ident.X86_64Windows, "stable", ids("core/powershell")},
			}, ""},
		{"no target", header, nil, ""},
		{"inline array of sets", "format_version = 1\nx86_64-linux = [{channel = \"stable\", packages = [\"core/gzip\"]}, {channel = \"dev\", packages = []}]\n",
			[]Set{{ident.X86_64Linux, "stable", ids("core/gzip")}, {ident.X86_64Linux, "dev", nil}}, ""},
		{"packages over several lines", header + "[[aarch64-linux]]\nchannel = \"stable\"\npackages = [\n  \"core/gzip\",\n  \"core/grep\",\n]\n",
			[]Set{{ident.AArch64Linux, "stable", ids("core/gzip", "core/grep")}}, ""},

		{"bad header", "this_is_garbage=true\n\n[[x86_64-linux]]\nchannel = \"stable\"\npackages = [\"core/gzip\"]\n", nil,
			"f.toml:1: this_is_garbage is neither format_version, file_descriptor nor a package target"},
		{"bad ident", header + "# option 1,\n# complex, target first\n[[x86_64-windows]]\nchannel = \"stable\"\npackages = [\"core/powershell/not/a/real/ident\"]\n", nil,
			"f.toml:8: packages: "},
		{"bad ident on its own line", header + "[[x86_64-linux]]\nchannel = \"stable\"\npackages = [\n  \"core/gzip\",\n  \"core/\",\n]\n", nil,
			"f.toml:8: packages: "},
		{"bad target", header + "# we do not support PDP 11 builds.\n[[pdp11-ultrix]]\nchannel = \"stable\"\npackages = [\"core/gzip\"]\n", nil,
			"f.toml:5: pdp11-ultrix is neither format_version, file_descriptor nor a package target"},
		{"no header", "[[x86_64-linux]]\nchannel = \"stable\"\npackages = [\"core/gzip\"]\n", nil, "f.toml: format_version = 1 is missing"},
		{"version 2", "format_version = 2\n", nil, "f.toml:1: format_version is 2: only version 1 exists"},
		{"version as text", "format_version = \"1\"\n", nil, "f.toml:1: format_version is \"1\""},
		{"descriptor not text", "format_version = 1\nfile_descriptor = 3\n", nil, "f.toml:2: file_descriptor must be a string"},
		{"a table, not a list", header + "[x86_64-linux]\nchannel = \"stable\"\npackages = [\"core/gzip\"]\n", nil,
			"f.toml:4: [x86_64-linux]: a target holds a list of package sets: write [[x86_64-linux]]"},
		{"no channel", header + "[[x86_64-linux]]\npackages = [\"core/gzip\"]\n", nil, "f.toml:4: the package set for x86_64-linux has no channel"},
		{"no packages", header + "[[x86_64-linux]]\nchannel = \"stable\"\n\n[[x86_64-windows]]\n", nil, "f.toml:4: the package set for x86_64-linux has no packages"},
		{"empty channel", header + "[[x86_64-linux]]\nchannel = \"\"\npackages = []\n", nil, "f.toml:5: channel must be a channel name"},
		{"packages not a list", header + "[[x86_64-linux]]\nchannel = \"stable\"\npackages = \"core/gzip\"\n", nil, "f.toml:6: packages must be a list"},
		{"a package not a string", header + "[[x86_64-linux]]\nchannel = \"stable\"\npackages = [3]\n", nil, "f.toml:6: packages must be a list"},
		{"unknown key in a set", header + "[[x86_64-linux]]\nchannel = \"stable\"\npackages = []\nrelease = \"x\"\n", nil,
			"f.toml:7: unknown key release in a package set for x86_64-linux"},
		{"target not a list", "format_version = 1\nx86_64-linux = \"core/gzip\"\n", nil, "f.toml:2: x86_64-linux: expected a list of package sets"},
		{"list of strings", "format_version = 1\nx86_64-linux = [\"core/gzip\"]\n", nil, "f.toml:2: x86_64-linux: each element is a package set"},
		{"dotted target", header + "[[x86_64.linux]]\nchannel = \"stable\"\npackages = []\n", nil, "f.toml:4: x86_64.linux is not a package target"},
		{"invalid TOML", header + "[[x86_64-linux]]\nchannel = stable\n", nil, "f.toml:5:11: invalid TOML"},
		{"duplicate key", header + "[[x86_64-linux]]\nchannel = \"a\"\nchannel = \"b\"\npackages = []\n", nil, "f.toml:6:1: invalid TOML"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseTOML("f.toml", []byte(c.text))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %v, %v; want an error containing %q", got, err, c.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

// TestRead: a file named .toml is a package-set file (its channels win);
// any other is a list of identifiers (# comments, blank lines) that makes
// one set in the given channel and target; errors name the file and line.
func TestRead(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	list := write("idents", "# the library\nacme/lib # only\n\n  acme/app/1.0  \n")
	got, err := Read(list, "beta", ident.X86_64Windows)
	if err != nil || !reflect.DeepEqual(got, []Set{{ident.X86_64Windows, "beta", ids("acme/lib", "acme/app/1.0")}}) {
		t.Errorf("list: %+v %v", got, err)
	}
	sets := write("sets.toml", header+"[[x86_64-linux]]\nchannel = \"stable\"\npackages = [\"acme/lib\"]\n")
	got, err = Read(sets, "beta", ident.X86_64Windows)
	if err != nil || !reflect.DeepEqual(got, []Set{{ident.X86_64Linux, "stable", ids("acme/lib")}}) {
		t.Errorf("package-set file: %+v %v", got, err)
	}
	bad := write("bad", "acme/lib\n\n# fine\nacme/lib/1/2/3\n")
	if _, err := Read(bad, "beta", ident.X86_64Linux); err == nil || !strings.Contains(err.Error(), bad+":4: ") {
		t.Errorf("bad list: %v, want the file and line 4", err)
	}
	// A list in a .toml file is read as TOML, and refused as such.
	if _, err := Read(write("list.toml", "acme/lib\n"), "beta", ident.X86_64Linux); err == nil || !strings.Contains(err.Error(), "list.toml:1:") {
		t.Errorf("list named .toml: %v", err)
	}
	missing := filepath.Join(dir, "missing.toml")
	if _, err := Read(missing, "beta", ident.X86_64Linux); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
}
