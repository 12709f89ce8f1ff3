package server_test

import (
	"bytes"
	"net/http"
	"os"
	"strings"
	"testing"
)

// roles names the dev-auth account holding each role in origin neurosis
// after withMembers.
var roleHolders = []struct{ role, user string }{
	{"readonly_member", "mystique"},
	{"member", "hank"},
	{"maintainer", "wesker"},
	{"administrator", "lkennedy"},
	{"owner", "bobo"},
}

// withMembers invites each account to neurosis, has it accept, and gives it
// its role.
func (e *env) withMembers() {
	e.t.Helper()
	for _, h := range roleHolders[:4] {
		e.do("GET", "/v1/profile", h.user, nil) // dev-auth creates the account on first use
		var inv struct{ ID string }
		e.json(e.want(e.do("POST", "/v1/depot/origins/neurosis/users/"+h.user+"/invitations", "bobo", nil), 201, "invite "+h.user), &inv)
		e.want(e.do("PUT", "/v1/depot/origins/neurosis/invitations/"+inv.ID, h.user, nil), 204, "accept")
		if h.role != "readonly_member" {
			e.want(e.do("PUT", "/v1/depot/origins/neurosis/users/"+h.user+"/role?role="+h.role, "bobo", nil), 204, "set role")
		}
		var role struct{ Role string }
		e.json(e.want(e.do("GET", "/v1/depot/origins/neurosis/users/"+h.user+"/role", "bobo", nil), 200, "role"), &role)
		if role.Role != h.role {
			e.t.Fatalf("%s has role %s, want %s", h.user, role.Role, h.role)
		}
	}
	e.do("GET", "/v1/profile", "outsider", nil) // the account exists
}

func rank(role string) int {
	for i, h := range roleHolders {
		if h.role == role {
			return i
		}
	}
	panic(role)
}

// TestAuthorizationMatrix sends every write (and member-only read) route as
// an anonymous caller, a non-member, and each role below the one it needs:
// 401 without a session, 403 otherwise (401 on the channel routes, as the
// original); the roles at or above it are not refused.
func TestAuthorizationMatrix(t *testing.T) {
	hartFile := builderPath(t, "neurosis-testapp-0.1.13-20190511004436-x86_64-linux.hart")
	hartBytes, _ := os.ReadFile(hartFile)
	sum := blakeHex(hartBytes)
	const rel = "testapp/0.1.13/20190511004436"
	newKey := "SIG-PUB-1\nneurosis-20990101000000\n\n" + strings.Repeat("A", 43) + "=\n"
	routes := []struct {
		method, path, body string
		min                string
		always401          bool
	}{
		{"PUT", "/v1/depot/origins/neurosis", `{}`, "administrator", false},
		{"GET", "/v1/depot/origins/neurosis/users", "", "readonly_member", false},
		{"DELETE", "/v1/depot/origins/neurosis/users/nobody", "", "owner", false},
		{"GET", "/v1/depot/origins/neurosis/users/hank/role", "", "member", false},
		{"PUT", "/v1/depot/origins/neurosis/users/hank/role?role=member", "", "administrator", false},
		{"GET", "/v1/depot/origins/neurosis/invitations", "", "readonly_member", false},
		{"POST", "/v1/depot/origins/neurosis/users/outsider/invitations", "", "maintainer", false},
		{"GET", "/v1/depot/origins/neurosis/secret", "", "administrator", false},
		{"POST", "/v1/depot/origins/neurosis/secret", `{"name":"x","value":"y"}`, "administrator", false},
		{"DELETE", "/v1/depot/origins/neurosis/secret/x", "", "administrator", false},
		{"GET", "/v1/depot/origins/neurosis/integrations", "", "readonly_member", false},
		{"PUT", "/v1/depot/origins/neurosis/integrations/docker/hub", `{"a":1}`, "maintainer", false},
		{"DELETE", "/v1/depot/origins/neurosis/integrations/docker/hub", "", "maintainer", false},
		{"GET", "/v1/settings/neurosis/testapp", "", "readonly_member", false},
		{"POST", "/v1/settings/neurosis/other", `{"visibility":"public"}`, "maintainer", false},
		{"PUT", "/v1/settings/neurosis/testapp", `{"visibility":"public"}`, "maintainer", false},
		{"DELETE", "/v1/settings/neurosis/other", "", "maintainer", false},
		{"POST", "/v1/depot/origins/neurosis/keys/20990101000000", newKey, "administrator", false},
		{"POST", "/v1/depot/origins/neurosis/keys", "", "administrator", false},
		{"POST", "/v1/depot/origins/neurosis/secret_keys/20990101000000", "x", "administrator", false},
		{"GET", "/v1/depot/origins/neurosis/secret_keys/latest", "", "member", false},
		{"GET", "/v1/depot/origins/neurosis/encryption_key", "", "readonly_member", false},
		{"POST", "/v1/depot/pkgs/neurosis/" + rel + "?checksum=" + sum, string(hartBytes), "member", false},
		{"PATCH", "/v1/depot/pkgs/neurosis/" + rel + "/public", "", "maintainer", false},
		{"POST", "/v1/depot/channels/neurosis/foo", "", "maintainer", true},
		{"PUT", "/v1/depot/channels/neurosis/stable/pkgs/" + rel + "/promote", "", "maintainer", true},
		{"PUT", "/v1/depot/channels/neurosis/stable/pkgs/" + rel + "/demote", "", "maintainer", true},
		{"PUT", "/v1/depot/channels/neurosis/unstable/pkgs/promote?channel=bar", "", "maintainer", true},
		{"PUT", "/v1/depot/channels/neurosis/bar/pkgs/demote?channel=baz", "", "maintainer", true},
		{"DELETE", "/v1/depot/channels/neurosis/foo", "", "maintainer", true},
		{"DELETE", "/v1/depot/pkgs/neurosis/" + rel, "", "member", false},
		{"GET", "/v1/depot/origins/neurosis/integrations/docker/names", "", "readonly_member", false},
		{"GET", "/v1/depot/origins/neurosis/integrations/docker/hub", "", "readonly_member", false},
		{"POST", "/v1/depot/origins/neurosis/transfer/nobody", "", "owner", false},
		{"DELETE", "/v1/depot/origins/neurosis", "", "owner", false},
	}
	// Routes for any signed-in user: refused (401) only without a session.
	userRoutes := []struct{ method, path, body string }{
		{"GET", "/v1/profile", ""},
		{"PATCH", "/v1/profile", `{"email":"x@example.com"}`},
		{"GET", "/v1/profile/access-tokens", ""},
		{"POST", "/v1/profile/access-tokens", ""},
		{"DELETE", "/v1/profile/access-tokens/1", ""},
		{"GET", "/v1/user/invitations", ""},
		{"GET", "/v1/user/origins", ""},
		{"POST", "/v1/depot/origins", `{"name":"other"}`},
		{"POST", "/v1/depot/origins/neurosis/depart", ""},
		{"PUT", "/v1/depot/origins/neurosis/invitations/1", ""},
		{"PUT", "/v1/depot/origins/neurosis/invitations/1/ignore", ""},
		{"DELETE", "/v1/depot/origins/neurosis/invitations/1", ""},
	}
	eachStore(t, func(t *testing.T, e *env) {
		e.neurosis()
		e.withMembers()
		for _, rt := range routes {
			name := rt.method + " " + rt.path
			if len(name) > 90 {
				name = name[:90]
			}
			deny := 403
			if rt.always401 {
				deny = 401
			}
			callers := []struct {
				token string
				want  int
			}{{"", 401}, {"outsider", deny}}
			for _, h := range roleHolders {
				if rank(h.role) < rank(rt.min) {
					callers = append(callers, struct {
						token string
						want  int
					}{h.user, deny})
				}
			}
			for _, c := range callers {
				r := e.do(rt.method, rt.path, c.token, bytes.NewReader([]byte(rt.body)))
				if r.status != c.want {
					t.Errorf("%s as %q: %d %q, want %d", name, c.token, r.status, r, c.want)
				}
			}
			for _, h := range roleHolders {
				if rank(h.role) >= rank(rt.min) {
					r := e.do(rt.method, rt.path, h.user, bytes.NewReader([]byte(rt.body)))
					if r.status == 401 || r.status == 403 {
						t.Errorf("%s as %s (%s): refused %d %q", name, h.user, h.role, r.status, r)
					}
				}
			}
		}
		for _, rt := range userRoutes {
			if r := e.do(rt.method, rt.path, "", strings.NewReader(rt.body)); r.status != 401 {
				t.Errorf("%s %s without a session: %d %q, want 401", rt.method, rt.path, r.status, r)
			}
		}
		e.want(e.do("GET", "/v1/depot/origins/other", "", nil), 404, "origin created without a session")
		// The refused calls changed nothing: every member keeps its role, and
		// the origin is still there (the owner's delete was refused with 409
		// while it has members).
		for _, h := range roleHolders {
			var role struct{ Role string }
			e.json(e.want(e.do("GET", "/v1/depot/origins/neurosis/users/"+h.user+"/role", "bobo", nil), 200, "role"), &role)
			if role.Role != h.role {
				t.Errorf("%s is now %s, want %s", h.user, role.Role, h.role)
			}
		}
		e.want(e.do("GET", "/v1/depot/origins/neurosis", "", nil), 200, "origin still there")
	})
}

// TestBadTokens: a malformed Authorization header or an unknown token is
// 401 on every route, public ones included.
func TestBadTokens(t *testing.T) {
	e := newEnv(t, "", 0)
	e.neurosis()
	for _, hdr := range []string{"Basic Ym9ibw==", "Bearer", "Bearer _nosuchtoken", "Bearer bad name", "Bearer _"} {
		for _, path := range []string{"/v1/status", "/v1/depot/origins/neurosis", "/v1/depot/pkgs/neurosis"} {
			req := e.url + path
			r := doRaw(t, "GET", req, hdr)
			if r != 401 {
				t.Errorf("GET %s with Authorization %q: %d, want 401", path, hdr, r)
			}
		}
	}
	// A real token works, and a new one replaces it.
	tok := e.tokenFor("bobo")
	if r := doRaw(t, "GET", e.url+"/v1/profile", "Bearer "+tok); r != 200 {
		t.Errorf("profile with a token: %d", r)
	}
	var nt struct{ Token string }
	e.json(e.want(e.do("POST", "/v1/profile/access-tokens", tok, nil), 200, "new token"), &nt)
	if r := doRaw(t, "GET", e.url+"/v1/profile", "Bearer "+tok); r != 401 {
		t.Errorf("old token after replacement: %d, want 401", r)
	}
	if r := doRaw(t, "GET", e.url+"/v1/profile", "Bearer "+nt.Token); r != 200 {
		t.Errorf("new token: %d, want 200", r)
	}
	var list struct {
		Tokens []struct{ ID, Token string }
	}
	e.json(e.want(e.do("GET", "/v1/profile/access-tokens", nt.Token, nil), 200, "list tokens"), &list)
	if len(list.Tokens) != 1 || list.Tokens[0].Token != "" {
		t.Errorf("tokens listed %+v: want one, its value not shown (only its hash is stored)", list.Tokens)
	}
	e.want(e.do("DELETE", "/v1/profile/access-tokens/abc", nt.Token, nil), 422, "non-numeric token id")
	e.want(e.do("DELETE", "/v1/profile/access-tokens/987654321", nt.Token, nil), 401, "no such token")
	e.want(e.do("DELETE", "/v1/profile/access-tokens/"+list.Tokens[0].ID, nt.Token, nil), 200, "revoke")
	if r := doRaw(t, "GET", e.url+"/v1/profile", "Bearer "+nt.Token); r != 401 {
		t.Errorf("revoked token: %d, want 401", r)
	}
}

func doRaw(t *testing.T, method, url, auth string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", auth)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func (e *env) tokenFor(name string) string {
	e.t.Helper()
	var tok struct{ Token string }
	e.json(e.want(e.do("POST", "/v1/profile/access-tokens", name, nil), 200, "token for "+name), &tok)
	if !strings.HasPrefix(tok.Token, "_") {
		e.t.Fatalf("token %q does not start with _", tok.Token)
	}
	return tok.Token
}
