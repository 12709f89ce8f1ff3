package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/creack/pty"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/depot"
)

// newDepotCLIEnv is a store environment (FS_ROOT, key cache with the acme
// pair) and a real depot (embedded store, dev-auth) on a loopback port,
// named by HAB_BLDR_URL, with HAB_AUTH_TOKEN=bobo.
func newDepotCLIEnv(t *testing.T) *storeEnv {
	t.Helper()
	e := newStoreEnv(t)
	dp, err := depot.Open(context.Background(), depot.Options{DataDir: t.TempDir(), DevAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(dp.Server)
	t.Cleanup(func() { ts.Close(); dp.Close() })
	e.env["HAB_BLDR_URL"] = ts.URL
	e.env["HAB_AUTH_TOKEN"] = "bobo"
	if _, err := (crypto.Cache{Dir: e.keys}).Write(e.sec.KeyFile()); err != nil {
		t.Fatal(err)
	}
	return e
}

// jsonOut runs a command and decodes its standard output.
func (e *storeEnv) jsonOut(v any, args ...string) {
	e.t.Helper()
	out := e.mustRun(args...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		e.t.Fatalf("hab %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
}

const (
	cliLib = "acme/lib/1.0/20200101000000"
	cliApp = "acme/app/1.0/20200101000000"
)

// publish builds lib and app (which needs lib) beside each other and
// uploads app to stable, which carries lib along.
func (e *storeEnv) publish() (libHart, appHart string) {
	e.t.Helper()
	dir := e.t.TempDir()
	libHart = e.hart(dir, cliLib, map[string]string{"bin/lib": "#!/bin/sh\necho lib\n"})
	appHart = e.hart(dir, cliApp, map[string]string{"bin/app": "#!/bin/sh\necho app\n", "PATH": "/hab/pkgs/" + cliApp + "/bin\n", "DEPS": cliLib + "\n", "TDEPS": cliLib + "\n"})
	e.mustRun("origin", "create", "acme")
	out := e.mustRun("pkg", "upload", "--channel", "stable", appHart)
	for _, want := range []string{"» Uploaded acme-20200101000000", "» Uploading dependency " + cliLib, "» Uploaded " + cliApp, "» Promoted " + cliApp + " to stable", "★ Upload of 1 artifact(s) complete."} {
		if !strings.Contains(out, want) {
			e.t.Errorf("hab pkg upload output lacks %q:\n%s", want, out)
		}
	}
	return libHart, appHart
}

// TestDepotClientCommands runs every depot command against a real depot:
// origins, keys, uploads, channels, promotion, search, install, download,
// invitations, roles, secrets, deletion, and their errors.
func TestDepotClientCommands(t *testing.T) {
	e := newDepotCLIEnv(t)

	// Origins.
	e.publish()
	// An origin that exists is skipped, as the original does (exit 0).
	if out := e.mustRun("origin", "create", "acme"); !strings.Contains(out, "Skipping creation of origin acme. Origin already exists!") {
		t.Errorf("origin create of an existing origin:\n%s", out)
	}
	var again map[string]any
	e.jsonOut(&again, "origin", "create", "acme", "--json")
	if again["name"] != "acme" || again["owner_account"] != "bobo" {
		t.Errorf("origin create --json of an existing origin: %v", again)
	}
	var info map[string]any
	e.jsonOut(&info, "origin", "info", "acme", "--json")
	if info["name"] != "acme" || info["owner_account"] != "bobo" {
		t.Errorf("origin info --json: %v", info)
	}
	if out := e.mustRun("origin", "info", "acme"); !strings.Contains(out, "Origin [acme]:") || !strings.Contains(out, "Owner: bobo") {
		t.Errorf("origin info:\n%s", out)
	}

	// Keys: the upload of the pair, again (the depot has it), and
	// downloads into an empty cache, each stored under its own name.
	out := e.mustRun("origin", "key", "upload", "acme", "--secret")
	if !strings.Contains(out, "Using existing public origin key acme-20200101000000") || !strings.Contains(out, "Uploaded secret origin key acme-20200101000000") {
		t.Errorf("origin key upload:\n%s", out)
	}
	other := t.TempDir()
	e.mustRun("origin", "key", "download", "acme", "--cache-key-path", other)
	e.mustRun("origin", "key", "download", "acme", "--secret", "--cache-key-path", other)
	e.mustRun("origin", "key", "download", "acme", "--encryption", "--cache-key-path", other)
	got := storeDirNames(t, other)
	for _, want := range []string{"acme-20200101000000.pub", "acme-20200101000000.sig.key"} {
		if !slices.Contains(got, want) {
			t.Errorf("key download: %v lacks %s", got, want)
		}
	}
	if len(got) != 3 {
		t.Errorf("key download (public, secret, encryption): %v", got)
	}
	e.mustFail(1, "404", "origin", "key", "download", "acme", "20991231000000", "--cache-key-path", other)

	// Key files by path; the choice of ORIGIN or --pubfile is exclusive.
	neurosisKey := storeConformance(t, "builder", "neurosis-20171211220037.pub")
	e.mustRun("origin", "create", "neurosis")
	if out := e.mustRun("origin", "key", "upload", "--pubfile", neurosisKey); !strings.Contains(out, "Uploaded public origin key neurosis-20171211220037") {
		t.Errorf("key upload --pubfile:\n%s", out)
	}
	e.mustFail(2, "exactly one of ORIGIN or --pubfile", "origin", "key", "upload", "acme", "--pubfile", neurosisKey)
	e.mustFail(2, "exactly one of ORIGIN or --pubfile", "origin", "key", "upload")
	e.mustFail(2, "--secfile goes with --pubfile", "origin", "key", "upload", "acme", "--secfile", neurosisKey)
	e.mustFail(1, "not a public signing key", "origin", "key", "upload", "--pubfile", filepath.Join(e.keys, "acme-20200101000000.sig.key"))
	e.mustFail(1, "no public origin signing key for neurosis in the key cache", "origin", "key", "upload", "neurosis", "--secret")

	// A dependency the depot lacks and that is not beside the hart.
	// A hart whose signer's public key the cache lacks: refused here,
	// before any request, as the original does; a key file that is there
	// but unreadable is not called missing.
	signed := storeConformance(t, "builder", "neurosis-testapp-0.1.13-20190511004436-x86_64-linux.hart")
	if errOut := e.mustFail(1, "the public key neurosis-20171211220037 of its signer: key not found", "pkg", "upload", signed); !strings.Contains(errOut, "is not in the key cache "+e.keys) {
		t.Errorf("a missing signer key, not named with its cache:\n%s", errOut)
	}
	os.WriteFile(filepath.Join(e.keys, "neurosis-20171211220037.pub"), []byte("SIG-PUB-1\nneurosis-20171211220037\n\nnot base64!\n"), 0o644)
	if errOut := e.mustFail(1, "the public key neurosis-20171211220037 of its signer: ", "pkg", "upload", signed); strings.Contains(errOut, "not found") {
		t.Errorf("an unreadable key called missing:\n%s", errOut)
	}
	os.Remove(filepath.Join(e.keys, "neurosis-20171211220037.pub"))
	lone := e.hart(t.TempDir(), "acme/needy/1.0/20200101000000", map[string]string{"TDEPS": "acme/ghost/1.0/20200101000000\n"})
	e.mustFail(1, "missing artifact: the depot lacks its dependency acme/ghost/1.0/20200101000000", "pkg", "upload", lone)

	// Channels and promotion.
	var chs []string
	e.jsonOut(&chs, "pkg", "channels", cliApp, "--json")
	if !slices.Equal(chs, []string{"unstable", "stable"}) && !slices.Equal(chs, []string{"stable", "unstable"}) {
		t.Errorf("pkg channels: %v", chs)
	}
	e.mustRun("pkg", "promote", cliLib, "dev")
	e.jsonOut(&chs, "bldr", "channel", "list", "acme", "--json")
	if !slices.Contains(chs, "dev") {
		t.Errorf("bldr channel list after promote to dev: %v", chs)
	}
	e.mustRun("bldr", "channel", "create", "qa", "-o", "acme")
	e.mustFail(1, "already exists", "bldr", "channel", "create", "qa", "-o", "acme")
	e.mustRun("bldr", "channel", "promote", "dev", "qa", "-o", "acme")
	e.jsonOut(&chs, "pkg", "channels", cliLib, "--json")
	if !slices.Contains(chs, "qa") || !slices.Contains(chs, "dev") {
		t.Errorf("channels of lib after channel promotion: %v", chs)
	}
	e.mustRun("bldr", "channel", "demote", "dev", "qa", "-o", "acme")
	e.mustRun("pkg", "demote", cliLib, "dev")
	e.jsonOut(&chs, "pkg", "channels", cliLib, "--json")
	if slices.Contains(chs, "qa") || slices.Contains(chs, "dev") {
		t.Errorf("channels of lib after demotions: %v", chs)
	}
	e.mustRun("bldr", "channel", "destroy", "qa", "-o", "acme")
	e.mustFail(1, "403", "bldr", "channel", "destroy", "stable", "-o", "acme")

	// Search.
	var found struct {
		Total    int      `json:"total"`
		Packages []string `json:"packages"`
	}
	e.jsonOut(&found, "pkg", "search", "app", "--json")
	if !slices.Contains(found.Packages, "acme/app") {
		t.Errorf("search: %+v", found)
	}
	if out := e.mustRun("pkg", "search", "nothingmatches"); !strings.Contains(out, "No packages found") {
		t.Errorf("empty search: %s", out)
	}

	// Install into an empty root with an empty key cache, by both names.
	for _, cmd := range [][]string{{"pkg", "install"}, {"install"}} {
		f := newStoreEnv(t)
		os.RemoveAll(f.keys)
		f.env["HAB_BLDR_URL"] = e.env["HAB_BLDR_URL"]
		out := f.mustRun(append(cmd, "acme/app")...)
		for _, want := range []string{"✓ Installed " + cliLib, "✓ Installed " + cliApp, "☑ Cached acme-20200101000000 public origin key"} {
			if !strings.Contains(out, want) {
				t.Errorf("hab %s acme/app lacks %q:\n%s", strings.Join(cmd, " "), want, out)
			}
		}
		if _, err := os.Stat(filepath.Join(f.keys, "acme-20200101000000.pub")); err != nil {
			t.Error(err)
		}
		if names := storeDirNames(t, filepath.Join(f.root, "hab", "cache", "artifacts")); len(names) != 2 {
			t.Errorf("artifact cache after install: %v", names)
		}
	}
	// A root whose key cache holds another key of the signer's name: the
	// depot's hart does not verify with it, nothing is installed.
	f := newStoreEnv(t)
	f.env["HAB_BLDR_URL"] = e.env["HAB_BLDR_URL"]
	f.mustFail(1, "signature verification failed: not signed by acme-20200101000000", "pkg", "install", "acme/app")
	if names := storeDirNames(t, f.root+"/hab/pkgs"); len(names) != 0 {
		t.Errorf("installed with a foreign key: %v", names)
	}
	os.RemoveAll(f.keys)
	errOut := f.mustFail(1, "channel nosuch", "pkg", "install", "-c", "nosuch", "acme/app")
	if !strings.Contains(errOut, "No release of acme/app for x86_64-linux in channel nosuch of "+e.env["HAB_BLDR_URL"]+"/v1; it is in: stable, unstable") {
		t.Errorf("no suggestion of the channels that have acme/app:\n%s", errOut)
	}
	f.env["HAB_BLDR_CHANNEL"] = "nosuch"
	f.mustFail(1, "channel nosuch", "pkg", "install", "acme/app")
	f.env["HAB_BLDR_CHANNEL"] = ""
	f.mustFail(1, "no installed package and no hart in the artifact cache", "pkg", "install", "--offline", "acme/app")
	f.mustRun("pkg", "install", "-u", e.env["HAB_BLDR_URL"], "-c", "unstable", "acme/lib")
	if names := storeDirNames(t, f.root+"/hab/pkgs/acme"); !slices.Equal(names, []string{"lib"}) {
		t.Errorf("installed from unstable: %v", names)
	}

	// Download of a closure with its keys.
	dl := t.TempDir()
	var res struct {
		Packages []string `json:"packages"`
	}
	e.jsonOut(&res, "pkg", "download", "acme/app", "--download-directory", dl, "--verify", "--json")
	if !slices.Equal(res.Packages, []string{cliApp, cliLib}) {
		t.Errorf("download: %v", res.Packages)
	}
	if names := storeDirNames(t, filepath.Join(dl, "artifacts")); len(names) != 2 {
		t.Errorf("downloaded artifacts: %v", names)
	}
	if names := storeDirNames(t, filepath.Join(dl, "keys")); !slices.Equal(names, []string{"acme-20200101000000.pub"}) {
		t.Errorf("downloaded keys: %v", names)
	}
	list := filepath.Join(t.TempDir(), "idents")
	os.WriteFile(list, []byte("# the library\nacme/lib # only\n\n"), 0o644)
	e.mustRun("pkg", "download", "--file", list, "--download-directory", t.TempDir())
	e.mustFail(2, "give package identifiers or --file", "pkg", "download")
	// A package-set file: its channel wins over -c.
	sets := filepath.Join(t.TempDir(), "sets.toml")
	os.WriteFile(sets, []byte("format_version = 1\n\n[[x86_64-linux]]\nchannel = \"stable\"\npackages = [\"acme/app\"]\n"), 0o644)
	e.jsonOut(&res, "pkg", "download", "--file", sets, "-c", "nosuch", "--download-directory", t.TempDir(), "--json")
	if !slices.Equal(res.Packages, []string{cliApp, cliLib}) {
		t.Errorf("download of a package-set file: %v", res.Packages)
	}
	badSets := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(badSets, []byte("format_version = 1\n[[x86_64-linux]]\nchannel = \"stable\"\npackages = [\"acme\"]\n"), 0o644)
	e.mustFail(2, badSets+":4: packages: ", "pkg", "download", "--file", badSets)
	badList := filepath.Join(t.TempDir(), "idents")
	os.WriteFile(badList, []byte("acme/app\n\nacme/\n"), 0o644)
	e.mustFail(2, badList+":3: ", "pkg", "download", "--file", badList)
	// A package asked for that the depot lacks: an error naming it, or,
	// with --ignore-missing-seeds, a warning and the others downloaded.
	e.mustFail(1, "download acme/ghost (x86_64-linux)", "pkg", "download", "acme/ghost", "acme/lib", "--download-directory", t.TempDir())
	seeds := t.TempDir()
	if out := e.mustRun("pkg", "download", "acme/ghost", "acme/lib", "--ignore-missing-seeds", "--download-directory", seeds); !strings.Contains(out, "Skipping acme/ghost: no release for x86_64-linux") {
		t.Errorf("download --ignore-missing-seeds does not say what it skipped:\n%s", out)
	}
	if names := storeDirNames(t, filepath.Join(seeds, "artifacts")); len(names) != 1 || !strings.HasPrefix(names[0], "acme-lib-") {
		t.Errorf("downloaded with --ignore-missing-seeds: %v", names)
	}
	e.jsonOut(&res, "pkg", "download", "acme/ghost", "acme/app", "--ignore-missing-seeds", "--download-directory", t.TempDir(), "--json")
	if !slices.Equal(res.Packages, []string{cliApp, cliLib}) {
		t.Errorf("download --ignore-missing-seeds --json: %v", res.Packages)
	}

	// Invitations and roles (dev-auth accounts exist once they made a
	// request).
	for _, who := range []string{"mystique", "hank", "wesker"} {
		e.mustRun("origin", "invitations", "list", "-z", who)
	}
	e.mustRun("origin", "invitations", "send", "acme", "mystique")
	var invs []map[string]any
	e.jsonOut(&invs, "origin", "invitations", "list", "-z", "mystique", "--json")
	if len(invs) != 1 || invs[0]["origin"] != "acme" {
		t.Fatalf("invitations list: %v", invs)
	}
	e.jsonOut(&invs, "origin", "invitations", "pending", "acme", "--json")
	if len(invs) != 1 || invs[0]["account_name"] != "mystique" {
		t.Errorf("invitations pending: %v", invs)
	}
	e.mustRun("origin", "invitations", "accept", "acme", invs[0]["id"].(string), "-z", "mystique")
	var role map[string]string
	e.jsonOut(&role, "origin", "rbac", "show", "mystique", "-o", "acme", "--json")
	if role["role"] != "readonly_member" {
		t.Errorf("role after accepting: %v", role)
	}
	e.mustRun("origin", "rbac", "set", "mystique", "Maintainer", "-o", "acme", "-n")
	e.jsonOut(&role, "origin", "rbac", "show", "mystique", "-o", "acme", "--json")
	if role["role"] != "maintainer" {
		t.Errorf("role after set: %v", role)
	}
	e.mustFail(2, "invalid role", "origin", "rbac", "set", "mystique", "king", "-o", "acme")
	e.mustFail(2, "--origin ORIGIN is required", "origin", "rbac", "show", "mystique")
	e.mustRun("origin", "invitations", "send", "acme", "hank")
	e.jsonOut(&invs, "origin", "invitations", "pending", "acme", "--json")
	e.mustRun("origin", "invitations", "rescind", "acme", invs[0]["id"].(string))
	e.mustRun("origin", "invitations", "send", "acme", "hank")
	e.jsonOut(&invs, "origin", "invitations", "pending", "acme", "--json")
	e.mustRun("origin", "invitations", "ignore", "acme", invs[0]["id"].(string), "-z", "hank")
	e.jsonOut(&invs, "origin", "invitations", "list", "-z", "hank", "--json")
	if len(invs) != 0 {
		t.Errorf("ignored invitation still listed: %v", invs)
	}
	e.mustFail(2, "invalid invitation id", "origin", "invitations", "accept", "acme", "x1")
	e.mustRun("origin", "depart", "acme", "-z", "mystique")
	e.mustFail(1, "403", "origin", "depart", "acme")

	// Secrets: encrypted here for the origin's key.
	e.env["HAB_ORIGIN"] = "acme"
	e.mustRun("origin", "secret", "upload", "dbpass", "s3cr3t")
	var secrets []string
	e.jsonOut(&secrets, "origin", "secret", "list", "--json")
	if !slices.Equal(secrets, []string{"dbpass"}) {
		t.Errorf("secret list: %v", secrets)
	}
	e.mustRun("origin", "secret", "delete", "dbpass")
	e.jsonOut(&secrets, "origin", "secret", "list", "--json")
	if len(secrets) != 0 {
		t.Errorf("secret list after delete: %v", secrets)
	}
	e.mustFail(1, "invalid secret name", "origin", "secret", "upload", "bad/name", "x")

	// Deletion: refused while in stable, done once demoted.
	e.mustFail(1, "422", "pkg", "delete", cliApp)
	e.mustRun("pkg", "demote", cliApp, "stable")
	e.mustRun("pkg", "delete", cliApp)
	// As in Builder, the channels of a missing release are none, not 404.
	if out := e.mustRun("pkg", "channels", cliApp); out != "" {
		t.Errorf("channels of a deleted release: %q", out)
	}
	e.mustRun("origin", "create", "empty")
	e.mustRun("origin", "delete", "empty")
	e.mustFail(1, "409", "origin", "delete", "acme")

	// Transfer, last: bobo is no longer the owner.
	e.mustRun("origin", "invitations", "send", "acme", "wesker")
	e.jsonOut(&invs, "origin", "invitations", "pending", "acme", "--json")
	i := slices.IndexFunc(invs, func(inv map[string]any) bool { return inv["account_name"] == "wesker" })
	if i < 0 {
		t.Fatalf("no invitation for wesker: %v", invs)
	}
	e.mustRun("origin", "invitations", "accept", "acme", invs[i]["id"].(string), "-z", "wesker")
	e.mustRun("origin", "transfer", "acme", "wesker")
	e.jsonOut(&info, "origin", "info", "acme", "--json")
	if info["owner_account"] != "wesker" {
		t.Errorf("owner after transfer: %v", info)
	}

	// Errors said before any request, each naming the thing.
	e.env["HAB_AUTH_TOKEN"] = ""
	e.mustFail(1, "no auth token", "origin", "create", "other")
	e.mustFail(1, "no auth token", "pkg", "promote", cliLib, "stable")
	e.env["HAB_AUTH_TOKEN"] = "bobo"
	e.mustFail(2, "not an http:// or https:// URL", "origin", "info", "acme", "-u", "ftp://example.com")
	e.mustFail(2, "invalid origin name", "origin", "create", "Bad/Origin")
	e.mustFail(2, "invalid package identifier", "pkg", "promote", "acme/lib", "stable")
	e.mustFail(2, "invalid package target", "pkg", "channels", cliLib, "x86_64-plan9")
	e.mustFail(2, "not a file", "pkg", "upload", "/nonexistent.hart")
	e.mustFail(1, "404", "origin", "info", "nosuch")
	// A depot that is not there: a clear error naming it.
	e.mustFail(1, "127.0.0.1:1", "origin", "info", "acme", "-u", "http://127.0.0.1:1")
}

// TestDepotClientSettings: -u, HAB_BLDR_URL, the legacy HAB_DEPOT_URL and
// cli.toml's bldr_url, in that order; an empty variable counts as unset.
func TestDepotClientSettings(t *testing.T) {
	e := newDepotCLIEnv(t)
	good := e.env["HAB_BLDR_URL"]
	e.mustRun("origin", "create", "acme")
	cfg := filepath.Join(e.root, "hab", "etc", "cli.toml")
	for _, tc := range []struct {
		name     string
		env      map[string]string
		toml     string
		args     []string
		succeeds bool
	}{
		{name: "flag wins", env: map[string]string{"HAB_BLDR_URL": "http://127.0.0.1:1"}, args: []string{"-u", good}, succeeds: true},
		{name: "HAB_BLDR_URL", env: map[string]string{"HAB_BLDR_URL": good}, succeeds: true},
		{name: "HAB_BLDR_URL before HAB_DEPOT_URL", env: map[string]string{"HAB_BLDR_URL": "http://127.0.0.1:1", "HAB_DEPOT_URL": good}},
		{name: "legacy HAB_DEPOT_URL", env: map[string]string{"HAB_BLDR_URL": "", "HAB_DEPOT_URL": good}, succeeds: true},
		{name: "cli.toml", env: map[string]string{"HAB_BLDR_URL": ""}, toml: "bldr_url = \"" + good + "\"\n", succeeds: true},
		{name: "env before cli.toml", env: map[string]string{"HAB_BLDR_URL": "http://127.0.0.1:1"}, toml: "bldr_url = \"" + good + "\"\n"},
		{name: "default is localhost:9636", env: map[string]string{"HAB_BLDR_URL": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(cfg)
			if tc.toml != "" {
				os.MkdirAll(filepath.Dir(cfg), 0o755)
				if err := os.WriteFile(cfg, []byte(tc.toml), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			saved := map[string]string{}
			for k, v := range tc.env {
				saved[k] = e.env[k]
				e.env[k] = v
			}
			defer func() {
				for k, v := range saved {
					e.env[k] = v
				}
			}()
			code, _, stderr := e.run(append([]string{"origin", "info", "acme"}, tc.args...)...)
			if (code == 0) != tc.succeeds {
				t.Errorf("exit %d, want success %v: %s", code, tc.succeeds, stderr)
			}
			if tc.name == "default is localhost:9636" && !strings.Contains(stderr, "localhost:9636") && code != 0 {
				t.Errorf("the default depot is not named: %s", stderr)
			}
		})
	}
	// The token: -z before HAB_AUTH_TOKEN before cli.toml.
	os.WriteFile(cfg, []byte("auth_token = \"mystique\"\n"), 0o600)
	e.env["HAB_AUTH_TOKEN"] = ""
	e.mustFail(1, "403", "origin", "delete", "acme") // mystique is not the owner
	e.mustRun("origin", "create", "second", "-z", "bobo")
	e.env["HAB_AUTH_TOKEN"] = "bobo"
	e.mustRun("origin", "delete", "second")
}

// TestDepotProgress: downloads and uploads draw a progress bar on a
// terminal, and nothing (no carriage return, no escape) otherwise.
func TestDepotProgress(t *testing.T) {
	e := newDepotCLIEnv(t)
	_, appHart := e.publish()

	// Not a terminal: the output of upload, install and download has no
	// control character at all.
	f := newStoreEnv(t)
	os.RemoveAll(f.keys)
	f.env["HAB_BLDR_URL"] = e.env["HAB_BLDR_URL"]
	for _, args := range [][]string{
		{"pkg", "upload", "--force", appHart},
		{"pkg", "download", "acme/app", "--download-directory", t.TempDir()},
	} {
		code, out, errOut := e.run(args...)
		if code != 0 || strings.ContainsAny(out+errOut, "\r\x1b") {
			t.Errorf("hab %s (exit %d) wrote control characters off a terminal: %q %q", strings.Join(args, " "), code, out, errOut)
		}
	}
	code, out, errOut := f.run("pkg", "install", "acme/app")
	if code != 0 || strings.ContainsAny(out+errOut, "\r\x1b") {
		t.Errorf("install (exit %d) wrote control characters off a terminal: %q %q", code, out, errOut)
	}

	// On a terminal: a bar per transfer, ending at 100%.
	var stdout bytes.Buffer
	onTerminal := func(getenv func(string) string, args ...string) string {
		ptmx, tty, err := pty.Open()
		if err != nil {
			t.Skipf("no pseudo-terminal: %v", err)
		}
		defer ptmx.Close()
		var screen bytes.Buffer
		done := make(chan struct{})
		go func() { io.Copy(&screen, ptmx); close(done) }()
		code := run(context.Background(), args, strings.NewReader(""), &stdout, tty, getenv)
		tty.Close()
		<-done
		if code != 0 {
			t.Fatalf("hab %s on a terminal: exit %d %s %q", strings.Join(args, " "), code, stdout.String(), screen.String())
		}
		return screen.String()
	}
	bars := func(what, screen string, want ...string) {
		for _, w := range append(want, "100%") {
			if !strings.Contains(screen, w) {
				t.Errorf("%s: terminal output lacks %q: %q", what, w, screen)
			}
		}
	}
	getenv := func(k string) string { return e.env[k] }
	bars("download", onTerminal(getenv, "pkg", "download", "acme/app", "--download-directory", t.TempDir()),
		"\rDownloading acme-app-1.0-20200101000000-x86_64-linux.hart [", "\rDownloading acme-lib-1.0-20200101000000-x86_64-linux.hart [")
	bars("upload", onTerminal(getenv, "pkg", "upload", "--force", appHart), "\rUploading acme-app-1.0-20200101000000-x86_64-linux.hart [")
	g := newStoreEnv(t)
	os.RemoveAll(g.keys)
	g.env["HAB_BLDR_URL"] = e.env["HAB_BLDR_URL"]
	bars("install", onTerminal(func(k string) string { return g.env[k] }, "pkg", "install", "acme/app"),
		"\rDownloading acme-app-1.0-20200101000000-x86_64-linux.hart [", "\rDownloading acme-lib-1.0-20200101000000-x86_64-linux.hart [")
	if strings.ContainsAny(stdout.String(), "\r\x1b") {
		t.Errorf("stdout (not a terminal) has control characters: %q", stdout.String())
	}
}

// storeDirNames lists a directory's entries, without hidden ones.
func storeDirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, en := range entries {
		if !strings.HasPrefix(en.Name(), ".") {
			out = append(out, en.Name())
		}
	}
	return out
}

// TestDepotBulkUpload: every hart of a directory, its origin created only
// when asked; a second run finds them all there.
func TestDepotBulkUpload(t *testing.T) {
	e := newDepotCLIEnv(t)
	dir := t.TempDir()
	e.hart(dir, cliLib, nil)
	e.hart(dir, cliApp, map[string]string{"DEPS": cliLib + "\n", "TDEPS": cliLib + "\n"})
	e.hart(dir, "acme/other/2.0/20200101000000", nil)
	e.mustFail(1, "the depot has no origin acme (create them, or give --auto-create-origins)", "pkg", "bulkupload", dir)
	e.mustFail(2, "not a directory", "pkg", "bulkupload", filepath.Join(dir, "nope"))
	out := e.mustRun("pkg", "bulkupload", "--auto-create-origins", "-c", "stable", dir)
	for _, want := range []string{"» Creating origin acme", "» Uploaded " + cliLib, "» Uploaded " + cliApp, "» Uploaded acme/other/2.0/20200101000000", "★ Bulk upload of 3 artifact(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("bulkupload lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "» Uploaded "+cliLib) != 1 {
		t.Errorf("lib uploaded more than once:\n%s", out)
	}
	var chs []string
	e.jsonOut(&chs, "pkg", "channels", "acme/other/2.0/20200101000000", "--json")
	if !slices.Contains(chs, "stable") {
		t.Errorf("channels after bulkupload -c stable: %v", chs)
	}
	out = e.mustRun("pkg", "bulkupload", dir)
	if strings.Count(out, "is already in the depot") != 3 {
		t.Errorf("second bulkupload:\n%s", out)
	}
}
