package server_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/habgo/hab/core/crypto"
)

// TestOriginLifecycle: create, show, update, the delete refusals, delete.
func TestOriginLifecycle(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		var o map[string]any
		e.json(e.want(e.do("POST", "/v1/depot/origins", "bobo", strings.NewReader(`{"name":"acme","default_package_visibility":"private"}`)), 201, "create"), &o)
		for _, k := range []string{"owner_id", "name", "created_at", "updated_at", "default_package_visibility"} {
			if _, ok := o[k]; !ok {
				t.Errorf("origin JSON lacks %s: %v", k, o)
			}
		}
		if _, ok := o["owner_id"].(string); !ok || o["default_package_visibility"] != "private" {
			t.Errorf("origin JSON %v", o)
		}
		bad := []struct {
			body   string
			status int
		}{
			{`{"name":"acme"}`, 409},
			{`{"name":"Acme"}`, 417},
			{`{"name":"-acme"}`, 417},
			{`{"name":"` + strings.Repeat("a", 256) + `"}`, 417},
			{`{"name":"../x"}`, 417},
			{`{"name":"ok","default_package_visibility":"secret"}`, 422},
			{`{"name":`, 400},
			{`[]`, 400},
		}
		for _, b := range bad {
			e.want(e.do("POST", "/v1/depot/origins", "bobo", strings.NewReader(b.body)), b.status, "create "+b.body)
		}
		e.want(e.do("POST", "/v1/depot/origins", "", strings.NewReader(`{"name":"anon"}`)), 401, "anonymous create")
		e.want(e.do("GET", "/v1/depot/origins/ok", "", nil), 404, "origin of a refused create")

		var show map[string]any
		e.json(e.want(e.do("GET", "/v1/depot/origins/acme", "", nil), 200, "show"), &show)
		if show["owner_account"] != "bobo" || show["private_key_name"] != nil || show["name"] != "acme" {
			t.Errorf("show %v", show)
		}
		e.want(e.do("GET", "/v1/depot/origins/nope", "", nil), 404, "unknown origin")
		e.want(e.do("PUT", "/v1/depot/origins/acme", "bobo", strings.NewReader(`{"default_package_visibility":"hidden"}`)), 204, "update")
		e.want(e.do("PUT", "/v1/depot/origins/acme", "bobo", strings.NewReader(`{"default_package_visibility":"x"}`)), 422, "update bad")
		e.want(e.do("PUT", "/v1/depot/origins/acme", "bobo", strings.NewReader(`nope`)), 400, "update bad JSON")
		e.want(e.do("PUT", "/v1/depot/origins/acme", "bobo", strings.NewReader(`{}`)), 204, "update to the default")
		e.json(e.want(e.do("GET", "/v1/depot/origins/acme", "", nil), 200, "show"), &show)
		if show["default_package_visibility"] != "public" {
			t.Errorf("visibility after {}: %v", show["default_package_visibility"])
		}

		// Channels, members and secrets each block deletion.
		e.want(e.do("POST", "/v1/depot/channels/acme/extra", "bobo", nil), 201, "channel")
		r := e.want(e.do("DELETE", "/v1/depot/origins/acme", "bobo", nil), 409, "delete with an extra channel")
		if !strings.Contains(r.String(), "channels") {
			t.Errorf("refusal %q does not say what is left", r)
		}
		e.want(e.do("DELETE", "/v1/depot/channels/acme/extra", "bobo", nil), 200, "delete channel")
		e.do("GET", "/v1/profile", "hank", nil)
		var inv struct{ ID string }
		e.json(e.want(e.do("POST", "/v1/depot/origins/acme/users/hank/invitations", "bobo", nil), 201, "invite"), &inv)
		e.want(e.do("PUT", "/v1/depot/origins/acme/invitations/"+inv.ID, "hank", nil), 204, "accept")
		e.want(e.do("DELETE", "/v1/depot/origins/acme", "bobo", nil), 409, "delete with a member")
		e.want(e.do("DELETE", "/v1/depot/origins/acme/users/bobo", "bobo", nil), 422, "owner removes self")
		e.want(e.do("DELETE", "/v1/depot/origins/acme/users/nobody", "bobo", nil), 404, "remove unknown")
		e.want(e.do("DELETE", "/v1/depot/origins/acme/users/hank", "bobo", nil), 204, "remove member")
		e.want(e.do("DELETE", "/v1/depot/origins/acme", "bobo", nil), 204, "delete")
		e.want(e.do("GET", "/v1/depot/origins/acme", "", nil), 404, "deleted")
		var chs []any
		e.json(e.want(e.do("GET", "/v1/depot/channels/acme", "", nil), 200, "channels of a deleted origin"), &chs)
		if len(chs) != 0 {
			t.Errorf("channels of a deleted origin: %v", chs)
		}

		// An origin with a package cannot be deleted.
		e.neurosis()
		e.want(e.upload("bobo", builderPath(t, "neurosis-testapp-0.1.13-20190511004436-x86_64-linux.hart"), ""), 201, "upload")
		e.want(e.do("DELETE", "/v1/depot/origins/neurosis", "bobo", nil), 409, "delete with packages")
	})
}

// TestMembership: invitations, roles, transfer and depart.
func TestMembership(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.neurosis()
		for _, u := range []string{"hank", "wesker"} {
			e.do("GET", "/v1/profile", u, nil)
		}
		var inv map[string]any
		e.json(e.want(e.do("POST", "/v1/depot/origins/neurosis/users/hank/invitations", "bobo", nil), 201, "invite"), &inv)
		for _, k := range []string{"id", "origin", "account_id", "account_name", "owner_id", "ignored", "created_at", "updated_at"} {
			if _, ok := inv[k]; !ok {
				t.Errorf("invitation lacks %s: %v", k, inv)
			}
		}
		e.want(e.do("POST", "/v1/depot/origins/neurosis/users/hank/invitations", "bobo", nil), 409, "invite twice")
		e.want(e.do("POST", "/v1/depot/origins/neurosis/users/nobody/invitations", "bobo", nil), 404, "invite unknown")
		var mine []map[string]any
		e.json(e.want(e.do("GET", "/v1/user/invitations", "hank", nil), 200, "user invitations"), &mine)
		if len(mine) != 1 || mine[0]["origin"] != "neurosis" {
			t.Errorf("hank's invitations %v", mine)
		}
		var winv map[string]any
		e.json(e.want(e.do("POST", "/v1/depot/origins/neurosis/users/wesker/invitations", "bobo", nil), 201, "invite"), &winv)
		e.want(e.do("PUT", "/v1/depot/origins/neurosis/invitations/"+winv["id"].(string)+"/ignore", "wesker", nil), 204, "ignore")
		e.json(e.want(e.do("GET", "/v1/user/invitations", "wesker", nil), 200, "ignored invitations"), &mine)
		if len(mine) != 0 {
			t.Errorf("ignored invitations listed: %v", mine)
		}
		e.want(e.do("DELETE", "/v1/depot/origins/neurosis/invitations/"+winv["id"].(string), "bobo", nil), 204, "rescind")
		e.want(e.do("PUT", "/v1/depot/origins/neurosis/invitations/x1", "hank", nil), 422, "non-numeric id")
		e.want(e.do("PUT", "/v1/depot/origins/neurosis/invitations/"+inv["id"].(string), "hank", nil), 204, "accept")
		e.want(e.do("PUT", "/v1/depot/origins/neurosis/invitations/"+inv["id"].(string), "hank", nil), 404, "accept twice")

		var members struct {
			Origin  string
			Members []string
		}
		e.json(e.want(e.do("GET", "/v1/depot/origins/neurosis/users", "hank", nil), 200, "members"), &members)
		if strings.Join(members.Members, ",") != "bobo,hank" {
			t.Errorf("members %v", members)
		}
		var uo []map[string]any
		e.json(e.want(e.do("GET", "/v1/user/origins", "hank", nil), 200, "user origins"), &uo)
		if len(uo) != 1 || uo[0]["name"] != "neurosis" {
			t.Errorf("hank's origins %v", uo)
		}

		e.want(e.do("PUT", "/v1/depot/origins/neurosis/users/hank/role?role=king", "", nil), 422, "invalid role before auth")
		e.want(e.do("PUT", "/v1/depot/origins/neurosis/users/hank/role?role=owner", "bobo", nil), 403, "role owner")
		e.want(e.do("PUT", "/v1/depot/origins/neurosis/users/bobo/role?role=member", "bobo", nil), 403, "own role")
		e.want(e.do("PUT", "/v1/depot/origins/neurosis/users/wesker/role?role=member", "bobo", nil), 404, "not a member")
		e.want(e.do("PUT", "/v1/depot/origins/neurosis/users/hank/role?role=administrator", "bobo", nil), 204, "promote hank")
		e.want(e.do("PUT", "/v1/depot/origins/neurosis/users/bobo/role?role=member", "hank", nil), 403, "admin changes the owner")

		// Transfer and depart.
		e.want(e.do("POST", "/v1/depot/origins/neurosis/transfer/hank", "hank", nil), 403, "non-owner transfers")
		e.want(e.do("POST", "/v1/depot/origins/neurosis/transfer/bobo", "bobo", nil), 422, "transfer to self")
		e.want(e.do("POST", "/v1/depot/origins/neurosis/transfer/wesker", "bobo", nil), 403, "transfer to a non-member")
		e.want(e.do("POST", "/v1/depot/origins/neurosis/transfer/nobody", "bobo", nil), 404, "transfer to unknown")
		e.want(e.do("POST", "/v1/depot/origins/neurosis/transfer/hank", "bobo", nil), 204, "transfer")
		var show map[string]any
		e.json(e.want(e.do("GET", "/v1/depot/origins/neurosis", "", nil), 200, "show"), &show)
		if show["owner_account"] != "hank" {
			t.Errorf("owner after transfer: %v", show["owner_account"])
		}
		var role struct{ Role string }
		e.json(e.want(e.do("GET", "/v1/depot/origins/neurosis/users/bobo/role", "hank", nil), 200, "role"), &role)
		if role.Role != "maintainer" {
			t.Errorf("old owner is %s, want maintainer", role.Role)
		}
		e.want(e.do("POST", "/v1/depot/origins/neurosis/depart", "hank", nil), 403, "owner departs")
		e.want(e.do("POST", "/v1/depot/origins/neurosis/depart", "wesker", nil), 422, "non-member departs")
		e.want(e.do("POST", "/v1/depot/origins/neurosis/depart", "bobo", nil), 204, "depart")
		e.json(e.want(e.do("GET", "/v1/depot/origins/neurosis/users", "hank", nil), 200, "members"), &members)
		if strings.Join(members.Members, ",") != "hank" {
			t.Errorf("members after depart %v", members)
		}
	})
}

// TestKeys: public keys (upload, 409 again, list, latest, x-filename),
// server generation, secret key, encryption key, and secrets encrypted
// for it.
func TestKeys(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.neurosis()
		key, _ := os.ReadFile(builderPath(t, neurosisKey+".pub"))
		e.want(e.do("POST", "/v1/depot/origins/neurosis/keys/20171211220037", "bobo", bytes.NewReader(key)), 409, "upload again")
		e.want(e.do("POST", "/v1/depot/origins/neurosis/keys/20171211220038", "bobo", bytes.NewReader(key)), 422, "revision differs from the URL")
		e.want(e.do("POST", "/v1/depot/origins/neurosis/keys/20171211220038", "bobo", strings.NewReader("garbage")), 422, "unparsable")
		e.createOrigin("bobo", "xmen")
		e.want(e.do("POST", "/v1/depot/origins/xmen/keys/20171211220037", "bobo", bytes.NewReader(key)), 422, "another origin's key")
		r := e.want(e.do("GET", "/v1/depot/origins/neurosis/keys/latest", "", nil), 200, "latest")
		if !bytes.Equal(bytes.TrimSpace(r.body), bytes.TrimSpace(key)) || r.header.Get("X-Filename") != neurosisKey+".pub" {
			t.Errorf("latest key %q x-filename %q", r, r.header.Get("X-Filename"))
		}
		e.want(e.do("GET", "/v1/depot/origins/neurosis/keys/20000101000000", "", nil), 404, "missing revision")
		e.want(e.do("POST", "/v1/depot/origins/neurosis/keys", "bobo", nil), 201, "generate")
		var keys []struct{ Origin, Revision, Location string }
		e.json(e.want(e.do("GET", "/v1/depot/origins/neurosis/keys", "", nil), 200, "list"), &keys)
		if len(keys) != 2 || keys[1].Revision != "20171211220037" || keys[0].Location != "/origins/neurosis/keys/"+keys[0].Revision {
			t.Errorf("keys %+v", keys)
		}
		var none []any
		e.json(e.want(e.do("GET", "/v1/depot/origins/nope/keys", "", nil), 200, "keys of unknown origin"), &none)
		if len(none) != 0 {
			t.Errorf("keys of an unknown origin: %v", none)
		}
		sk := e.want(e.do("GET", "/v1/depot/origins/neurosis/secret_keys/latest", "bobo", nil), 200, "secret key")
		if sk.header.Get("X-Filename") != "neurosis-"+keys[0].Revision+".sig.key" {
			t.Errorf("secret key x-filename %q", sk.header.Get("X-Filename"))
		}
		kf, err := crypto.ParseKeyFile(sk.body, "downloaded secret key")
		if err != nil || kf.Type != crypto.SigSecret {
			t.Fatalf("downloaded secret key: %v", err)
		}
		var show map[string]any
		e.json(e.want(e.do("GET", "/v1/depot/origins/neurosis", "", nil), 200, "show"), &show)
		if show["private_key_name"] != "neurosis-"+keys[0].Revision {
			t.Errorf("private_key_name %v", show["private_key_name"])
		}
		// An uploaded secret key: the newest revision wins.
		_, sec, _ := crypto.GenerateSigningPair("neurosis", mustTime("2099-01-01T00:00:00Z"))
		e.want(e.do("POST", "/v1/depot/origins/neurosis/secret_keys/ignored", "bobo", bytes.NewReader(sec.KeyFile().Encode())), 201, "upload secret key")
		sk = e.want(e.do("GET", "/v1/depot/origins/neurosis/secret_keys/latest", "bobo", nil), 200, "secret key")
		if !bytes.Equal(sk.body, sec.KeyFile().Encode()) {
			t.Errorf("latest secret key is not the uploaded one")
		}

		// Encryption key: generated once, then the same.
		a := e.want(e.do("GET", "/v1/depot/origins/neurosis/encryption_key", "bobo", nil), 200, "encryption key")
		b := e.want(e.do("GET", "/v1/depot/origins/neurosis/encryption_key", "bobo", nil), 200, "encryption key")
		if !bytes.Equal(a.body, b.body) || a.header.Get("X-Filename") == "" {
			t.Fatalf("encryption key changed or has no x-filename")
		}
		ekf, err := crypto.ParseKeyFile(a.body, "encryption key")
		if err != nil {
			t.Fatal(err)
		}
		bpk, err := crypto.BoxPublicKeyFrom(ekf)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := bpk.EncryptAnonymous([]byte("hunter2"))
		if err != nil {
			t.Fatal(err)
		}
		body := `{"name":"db_password","value":"` + strings.ReplaceAll(msg.String(), "\n", `\n`) + `"}`
		e.want(e.do("POST", "/v1/depot/origins/neurosis/secret", "bobo", strings.NewReader(body)), 201, "secret")
		e.want(e.do("POST", "/v1/depot/origins/neurosis/secret", "bobo", strings.NewReader(`{"name":"x","value":"plain text"}`)), 422, "unencrypted secret")
		e.want(e.do("POST", "/v1/depot/origins/neurosis/secret", "bobo", strings.NewReader(`{"name":"../x","value":"v"}`)), 400, "bad secret name")
		var secrets []map[string]any
		e.json(e.want(e.do("GET", "/v1/depot/origins/neurosis/secret", "bobo", nil), 200, "secrets"), &secrets)
		if len(secrets) != 1 || secrets[0]["name"] != "db_password" {
			t.Errorf("secrets %v", secrets)
		}
		e.want(e.do("DELETE", "/v1/depot/origins/neurosis/secret/db_password", "bobo", nil), 204, "delete secret")
		e.want(e.do("DELETE", "/v1/depot/origins/neurosis/secret/db_password", "bobo", nil), 404, "delete secret again")
	})
}

// TestPackageSettings: an upload creates its name's settings row from the
// origin's default visibility; rows are created, updated and read; and,
// as in Builder, a row is deleted only once no package of that name
// remains (409 naming them, the row kept).
func TestPackageSettings(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.neurosis()
		e.want(e.upload("bobo", builderPath(t, "neurosis-testapp-0.1.13-20190511004436-x86_64-linux.hart"), ""), 201, "upload")
		var row struct{ ID, Origin, Name, Visibility, OwnerID string }
		e.json(e.want(e.do("GET", "/v1/settings/neurosis/testapp", "bobo", nil), 200, "settings made by the upload"), &row)
		if row.Origin != "neurosis" || row.Name != "testapp" || row.Visibility != "public" || row.ID == "" {
			t.Errorf("settings row %+v", row)
		}
		r := e.want(e.do("DELETE", "/v1/settings/neurosis/testapp", "bobo", nil), 409, "delete while a package remains")
		if !strings.Contains(r.String(), "1 packages of testapp remain") {
			t.Errorf("refusal %q does not say what remains", r)
		}
		e.want(e.do("GET", "/v1/settings/neurosis/testapp", "bobo", nil), 200, "settings kept")

		e.want(e.do("POST", "/v1/settings/neurosis/other", "bobo", strings.NewReader(`{"visibility":"private"}`)), 201, "create")
		e.want(e.do("POST", "/v1/settings/neurosis/other", "bobo", strings.NewReader(`{"visibility":"private"}`)), 409, "create again")
		e.json(e.want(e.do("PUT", "/v1/settings/neurosis/other", "bobo", strings.NewReader(`{"visibility":"hidden"}`)), 200, "update"), &row)
		if row.Visibility != "hidden" {
			t.Errorf("updated row %+v", row)
		}
		e.want(e.do("PUT", "/v1/settings/neurosis/other", "bobo", strings.NewReader(`{}`)), 422, "update without a visibility")
		e.want(e.do("PUT", "/v1/settings/neurosis/other", "bobo", nil), 400, "update without a body")
		e.want(e.do("DELETE", "/v1/settings/neurosis/other", "bobo", nil), 204, "delete without packages")
		e.want(e.do("DELETE", "/v1/settings/neurosis/other", "bobo", nil), 404, "delete again")
		// Created without a body, as Builder's own tests do: the origin's
		// default visibility.
		e.want(e.do("PUT", "/v1/depot/origins/neurosis", "bobo", strings.NewReader(`{"default_package_visibility":"private"}`)), 204, "origin default private")
		e.json(e.want(e.do("POST", "/v1/settings/neurosis/wittr", "bobo", nil), 201, "create without a body"), &row)
		if row.Name != "wittr" || row.Visibility != "private" {
			t.Errorf("row created without a body %+v, want the origin's default visibility", row)
		}

		e.want(e.do("DELETE", "/v1/depot/pkgs/neurosis/testapp/0.1.13/20190511004436", "bobo", nil), 204, "delete the package")
		e.want(e.do("DELETE", "/v1/settings/neurosis/testapp", "bobo", nil), 204, "delete once no package remains")
		e.want(e.do("GET", "/v1/settings/neurosis/testapp", "bobo", nil), 404, "settings gone")
	})
}

// TestIntegrationRoutes: as Builder, an integration is created once (201,
// then 409), read back inside its names without its password, listed,
// and deleted (204, then 404).
func TestIntegrationRoutes(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.neurosis()
		const path = "/v1/depot/origins/neurosis/integrations/docker/hub"
		e.want(e.do("PUT", path, "bobo", strings.NewReader(`{"username":"bobo","password":"hunter2","registry":"r.example"}`)), 201, "create")
		e.want(e.do("PUT", path, "bobo", strings.NewReader(`{"username":"other"}`)), 409, "create again")
		r := e.want(e.do("GET", path, "bobo", nil), 200, "read")
		if strings.Contains(r.String(), "hunter2") {
			t.Errorf("the password is read back: %s", r)
		}
		var got struct {
			Origin, Integration, Name string
			Body                      map[string]string
		}
		e.json(r, &got)
		if got.Origin != "neurosis" || got.Integration != "docker" || got.Name != "hub" || len(got.Body) != 2 || got.Body["username"] != "bobo" || got.Body["registry"] != "r.example" {
			t.Errorf("read %+v", got)
		}
		var names struct{ Names []string }
		e.json(e.want(e.do("GET", "/v1/depot/origins/neurosis/integrations/docker/names", "bobo", nil), 200, "names"), &names)
		if len(names.Names) != 1 || names.Names[0] != "hub" {
			t.Errorf("names %v", names.Names)
		}
		e.want(e.do("DELETE", path, "bobo", nil), 204, "delete")
		e.want(e.do("DELETE", path, "bobo", nil), 404, "delete again")
		e.want(e.do("GET", path, "bobo", nil), 404, "read deleted")
		e.want(e.do("PUT", path, "bobo", strings.NewReader(`{"username":"other"}`)), 201, "create after delete")
	})
}
