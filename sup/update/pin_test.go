package update

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testPin() Pin {
	return Pin{Release: "acme/app/1.0/20200101000000", Ident: "acme/app", BldrURL: "http://127.0.0.1:9636", Channel: "stable",
		Strategy: "at-once", Condition: "track-channel"}
}

// names lists the entries of dir.
func names(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// A pin written reads back the same, replaces the one before whole, and
// leaves no temporary file; no file is no pin and no error.
func TestPinRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := PinPath(dir, "app")
	if filepath.Base(path) != "app.pin" {
		t.Fatalf("PinPath = %s", path)
	}
	if _, found, err := ReadPin(path); found || err != nil {
		t.Fatalf("no file: found %v, err %v", found, err)
	}
	p := testPin()
	for _, rel := range []string{"acme/app/1.1/20200102000000", p.Release} {
		p.Release = rel
		if err := WritePin(path, p); err != nil {
			t.Fatal(err)
		}
		got, found, err := ReadPin(path)
		if err != nil || !found || got != p {
			t.Fatalf("ReadPin = %+v, %v, %v; want %+v", got, found, err, p)
		}
		if got.ReleaseIdent().String() != rel {
			t.Errorf("ReleaseIdent = %s, want %s", got.ReleaseIdent(), rel)
		}
		if n := names(t, dir); len(n) != 1 || n[0] != "app.pin" {
			t.Errorf("the directory holds %v", n)
		}
	}
	if err := RemovePin(path); err != nil {
		t.Fatal(err)
	}
	if err := RemovePin(path); err != nil {
		t.Fatalf("removing a missing pin: %v", err)
	}
	if n := names(t, dir); len(n) != 0 {
		t.Errorf("after RemovePin the directory holds %v", n)
	}
}

// A pin file that is not a whole, valid pin is an error naming the file.
func TestReadPinBad(t *testing.T) {
	good := `{"release": "acme/app/1.0/20200101000000", "ident": "acme/app", "bldr_url": "u", "channel": "stable", "update_strategy": "at-once", "update_condition": "latest"}`
	for _, c := range []struct {
		name, content, want string
	}{
		{"empty", "", "unexpected EOF"},
		{"cut short", good[:len(good)/2], "unexpected EOF"},
		{"not JSON", "release = \"acme/app/1.0/20200101000000\"\n", "invalid character"},
		{"an unknown key", strings.Replace(good, `"channel"`, `"chanel"`, 1), `unknown field "chanel"`},
		{"two pins", good + good, "more than one pin"},
		{"a partial release", strings.Replace(good, "acme/app/1.0/20200101000000", "acme/app/1.0", 1), "not ORIGIN/NAME/VERSION/RELEASE"},
		{"no release", strings.Replace(good, `"release": "acme/app/1.0/20200101000000", `, "", 1), "release"},
		{"another package's release", strings.Replace(good, "acme/app/1.0/", "acme/other/1.0/", 1), "is not a release of acme/app"},
		{"a bad ident", strings.Replace(good, `"ident": "acme/app"`, `"ident": "acme/a b"`, 1), "ident"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app.pin")
			if err := os.WriteFile(path, []byte(c.content), 0o644); err != nil {
				t.Fatal(err)
			}
			p, found, err := ReadPin(path)
			if err == nil || found || p != (Pin{}) {
				t.Fatalf("ReadPin = %+v, %v, %v; want an error", p, found, err)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not name %s and say %q", err, path, c.want)
			}
		})
	}
	// A pin file that cannot be read at all (a directory) names it too.
	dir := t.TempDir()
	if _, _, err := ReadPin(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("ReadPin of a directory: %v", err)
	}
}

// A pin that is no pin is never written, and a write that fails leaves
// neither a file nor a temporary behind; the pin before stays whole.
func TestWritePinRefused(t *testing.T) {
	dir := t.TempDir()
	path := PinPath(dir, "app")
	before := testPin()
	if err := WritePin(path, before); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		edit func(*Pin)
		want string
	}{
		{"a partial release", func(p *Pin) { p.Release = "acme/app" }, "not ORIGIN/NAME/VERSION/RELEASE"},
		{"another package's release", func(p *Pin) { p.Release = "acme/other/1.0/20200101000000" }, "not a release of acme/app"},
		{"no ident", func(p *Pin) { p.Ident = "" }, "ident"},
	} {
		p := testPin()
		c.edit(&p)
		err := WritePin(path, p)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: WritePin = %v; want an error naming %s and saying %q", c.name, err, path, c.want)
		}
		if got, _, err := ReadPin(path); err != nil || got != before {
			t.Errorf("%s: the pin before became %+v, %v", c.name, got, err)
		}
	}
	// Where the file cannot be: its directory is a file; or it is a
	// directory itself, so that the rename fails after the temporary
	// was written.
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	occupied := filepath.Join(dir, "busy.pin")
	if err := os.MkdirAll(filepath.Join(occupied, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{PinPath(notDir, "app"), occupied} {
		if err := WritePin(bad, testPin()); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("WritePin(%s) = %v; want an error naming it", bad, err)
		}
	}
	if n := names(t, dir); strings.Join(n, " ") != "app.pin busy.pin file" {
		t.Errorf("after the failed writes the directory holds %v", n)
	}
}
