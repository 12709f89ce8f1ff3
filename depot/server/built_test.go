package server_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/core/ident"
)

// buildHart writes a package tree with the given metadata files and packs
// it into a hart signed with key.
func buildHart(t *testing.T, key *crypto.SigningSecretKey, id string, files map[string]string) []byte {
	t.Helper()
	root := t.TempDir()
	pid := ident.MustParse(id)
	dir := filepath.Join(append([]string{root, "hab", "pkgs"}, pid.Parts()...)...)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files["IDENT"] = id + "\n"
	if _, ok := files["TARGET"]; !ok {
		files["TARGET"] = "x86_64-linux\n"
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	epoch := time.Unix(1700000000, 0)
	var b bytes.Buffer
	if err := hart.Write(context.Background(), &b, root, pid, key, hart.WriteOptions{SourceDateEpoch: &epoch, XZ: hart.XZGo}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func (e *env) post(token, id string, data []byte, extra string) resp {
	e.t.Helper()
	return e.do("POST", "/v1/depot/pkgs/"+id+"?checksum="+blakeHex(data)+extra, token, bytes.NewReader(data))
}

// generatedKey has the depot generate origin's key pair and returns its
// secret key, fetched as token.
func (e *env) generatedKey(token, origin string) *crypto.SigningSecretKey {
	e.t.Helper()
	e.want(e.do("POST", "/v1/depot/origins/"+origin+"/keys", token, nil), 201, "generate keys")
	kf, err := crypto.ParseKeyFile(e.want(e.do("GET", "/v1/depot/origins/"+origin+"/secret_keys/latest", token, nil), 200, "secret key").body, "secret key")
	if err != nil {
		e.t.Fatal(err)
	}
	key, err := crypto.SigningSecretKeyFrom(kf)
	if err != nil {
		e.t.Fatal(err)
	}
	return key
}

// TestBuiltPackages uses a key pair the depot generates: forced
// re-uploads, dependents blocking a delete, reverse dependencies, package
// type mismatches, and hidden packages (downloadable, never listed).
func TestBuiltPackages(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.createOrigin("bobo", "acme")
		key := e.generatedKey("bobo", "acme")
		lib := buildHart(t, key, "acme/lib/1.0.0/20240101000000", map[string]string{"MANIFEST": "lib"})
		app := buildHart(t, key, "acme/app/2.0.0/20240101000000", map[string]string{
			"DEPS": "acme/lib/1.0.0/20240101000000\n", "TDEPS": "acme/lib/1.0.0/20240101000000\n",
			"MANIFEST": "pkg_exposes=(port)", "EXPOSES": "8080 8443",
		})
		e.want(e.post("bobo", "acme/lib/1.0.0/20240101000000", lib, ""), 201, "upload lib")
		e.want(e.post("bobo", "acme/app/2.0.0/20240101000000", app, ""), 201, "upload app")
		var p struct {
			Deps, Tdeps []struct{ Origin, Name, Version, Release string }
			Exposes     []int
			IsAService  bool `json:"is_a_service"`
		}
		e.json(e.want(e.do("GET", "/v1/depot/pkgs/acme/app/2.0.0/20240101000000", "", nil), 200, "show app"), &p)
		if len(p.Deps) != 1 || p.Deps[0].Name != "lib" || len(p.Tdeps) != 1 || len(p.Exposes) != 2 || p.Exposes[1] != 8443 || !p.IsAService {
			t.Errorf("app: %+v", p)
		}

		// Forced: the same bytes again are accepted and stored once; other
		// bytes under the same ident are refused.
		e.want(e.post("bobo", "acme/lib/1.0.0/20240101000000", lib, "&forced=true"), 201, "forced, same checksum")
		other := buildHart(t, key, "acme/lib/1.0.0/20240101000000", map[string]string{"MANIFEST": "changed"})
		r := e.want(e.post("bobo", "acme/lib/1.0.0/20240101000000", other, "&forced=true"), 422, "forced, other checksum")
		if !strings.Contains(r.String(), "ds:up:4") {
			t.Errorf("refusal %q", r)
		}
		d := e.want(e.do("GET", "/v1/depot/pkgs/acme/lib/1.0.0/20240101000000/download", "", nil), 200, "download lib")
		if !bytes.Equal(d.body, lib) {
			t.Error("the refused forced upload replaced the package")
		}

		// Reverse dependencies, and a dependency cannot be deleted.
		var rd struct{ Rdeps []string }
		e.json(e.want(e.do("GET", "/v1/rdeps/acme/lib", "", nil), 200, "rdeps"), &rd)
		if strings.Join(rd.Rdeps, ",") != "acme/app" {
			t.Errorf("rdeps %v", rd.Rdeps)
		}
		r = e.want(e.do("DELETE", "/v1/depot/pkgs/acme/lib/1.0.0/20240101000000", "bobo", nil), 422, "delete a dependency")
		if !strings.Contains(r.String(), "acme/app") {
			t.Errorf("refusal %q does not name the dependent", r)
		}
		e.want(e.do("DELETE", "/v1/depot/pkgs/acme/app/2.0.0/20240101000000", "bobo", nil), 204, "delete the dependent")
		e.want(e.do("DELETE", "/v1/depot/pkgs/acme/lib/1.0.0/20240101000000", "bobo", nil), 204, "then the dependency")

		// A native release after standard ones is refused.
		e.want(e.post("bobo", "acme/tool/1.0.0/20240101000000", buildHart(t, key, "acme/tool/1.0.0/20240101000000", map[string]string{}), ""), 201, "standard tool")
		native := buildHart(t, key, "acme/tool/1.1.0/20240101000000", map[string]string{"PACKAGE_TYPE": "native\n"})
		r = e.want(e.post("bobo", "acme/tool/1.1.0/20240101000000", native, ""), 422, "native after standard")
		if !strings.Contains(r.String(), "Package type mismatch") {
			t.Errorf("refusal %q", r)
		}

		// Hidden (by the origin's default): downloadable by anyone who
		// knows the ident, listed to members only.
		e.want(e.do("PUT", "/v1/depot/origins/acme", "bobo", strings.NewReader(`{"default_package_visibility":"hidden"}`)), 204, "default hidden")
		secret := buildHart(t, key, "acme/secret/1.0.0/20240101000000", map[string]string{})
		e.want(e.post("bobo", "acme/secret/1.0.0/20240101000000", secret, ""), 201, "upload hidden")
		e.want(e.do("GET", "/v1/depot/pkgs/acme/secret/1.0.0/20240101000000/download", "", nil), 200, "download hidden anonymously")
		e.want(e.do("GET", "/v1/depot/pkgs/acme/secret/1.0.0/20240101000000", "", nil), 404, "show hidden anonymously")
		e.want(e.do("GET", "/v1/depot/pkgs/acme/secret/latest", "mystique", nil), 404, "latest hidden to a non-member")
		var page idPage
		e.json(e.want(e.do("GET", "/v1/depot/pkgs/acme/secret", "", nil), 200, "list hidden"), &page)
		if page.TotalCount != 0 {
			t.Errorf("hidden package listed to anonymous: %+v", page)
		}
		e.json(e.want(e.do("GET", "/v1/depot/pkgs/acme/secret", "bobo", nil), 200, "list hidden as member"), &page)
		if page.TotalCount != 1 {
			t.Errorf("hidden package not listed to its owner: %+v", page)
		}
	})
}
