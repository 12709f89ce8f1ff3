package server_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// routeTemplates lists every route with its path parameters in braces.
var routeTemplates = []struct{ method, path string }{
	{"GET", "/v1/depot/origins/{o}"},
	{"PUT", "/v1/depot/origins/{o}"},
	{"DELETE", "/v1/depot/origins/{o}"},
	{"GET", "/v1/depot/origins/{o}/users"},
	{"DELETE", "/v1/depot/origins/{o}/users/{user}"},
	{"GET", "/v1/depot/origins/{o}/users/{user}/role"},
	{"PUT", "/v1/depot/origins/{o}/users/{user}/role?role=member"},
	{"POST", "/v1/depot/origins/{o}/transfer/{user}"},
	{"POST", "/v1/depot/origins/{o}/depart"},
	{"GET", "/v1/depot/origins/{o}/invitations"},
	{"POST", "/v1/depot/origins/{o}/users/{user}/invitations"},
	{"PUT", "/v1/depot/origins/{o}/invitations/{id}"},
	{"PUT", "/v1/depot/origins/{o}/invitations/{id}/ignore"},
	{"DELETE", "/v1/depot/origins/{o}/invitations/{id}"},
	{"GET", "/v1/depot/origins/{o}/secret"},
	{"DELETE", "/v1/depot/origins/{o}/secret/{name}"},
	{"GET", "/v1/depot/origins/{o}/integrations/{kind}/{name}"},
	{"PUT", "/v1/depot/origins/{o}/integrations/{kind}/{name}"},
	{"GET", "/v1/settings/{o}/{name}"},
	{"POST", "/v1/settings/{o}/{name}"},
	{"GET", "/v1/depot/{o}/pkgs"},
	{"GET", "/v1/depot/origins/{o}/keys"},
	{"GET", "/v1/depot/origins/{o}/keys/{rev}"},
	{"POST", "/v1/depot/origins/{o}/keys/{rev}"},
	{"POST", "/v1/depot/origins/{o}/secret_keys/{rev}"},
	{"GET", "/v1/depot/origins/{o}/secret_keys/latest"},
	{"GET", "/v1/depot/origins/{o}/encryption_key"},
	{"POST", "/v1/depot/pkgs/{o}/{n}/{v}/{r}?checksum=00"},
	{"GET", "/v1/depot/pkgs/{o}/{n}/{v}/{r}"},
	{"DELETE", "/v1/depot/pkgs/{o}/{n}/{v}/{r}"},
	{"GET", "/v1/depot/pkgs/{o}/{n}/latest"},
	{"GET", "/v1/depot/pkgs/{o}/{n}/{v}/latest"},
	{"GET", "/v1/depot/pkgs/{o}"},
	{"GET", "/v1/depot/pkgs/{o}/{n}/versions"},
	{"GET", "/v1/depot/pkgs/search/{q}"},
	{"GET", "/v1/depot/pkgs/{o}/{n}/{v}/{r}/download"},
	{"GET", "/v1/depot/pkgs/{o}/{n}/{v}/{r}/channels"},
	{"PATCH", "/v1/depot/pkgs/{o}/{n}/{v}/{r}/{visibility}"},
	{"GET", "/v1/rdeps/{o}/{n}"},
	{"GET", "/v1/depot/channels/{o}"},
	{"POST", "/v1/depot/channels/{o}/{ch}"},
	{"DELETE", "/v1/depot/channels/{o}/{ch}"},
	{"GET", "/v1/depot/channels/{o}/{ch}/pkgs/{n}/{v}"},
	{"GET", "/v1/depot/channels/{o}/{ch}/pkgs/_latest?target=x86_64-linux"},
	{"GET", "/v1/depot/channels/{o}/{ch}/pkgs/{n}/latest"},
	{"GET", "/v1/depot/channels/{o}/{ch}/pkgs/{n}/{v}/{r}"},
	{"PUT", "/v1/depot/channels/{o}/{ch}/pkgs/{n}/{v}/{r}/promote"},
	{"PUT", "/v1/depot/channels/{o}/{ch}/pkgs/{n}/{v}/{r}/demote"},
	{"PUT", "/v1/depot/channels/{o}/{ch}/pkgs/promote?channel=beta"},
	{"DELETE", "/v1/profile/access-tokens/{id}"},
	{"GET", "/v1/depot/origins/{o}/integrations"},
	{"GET", "/v1/depot/origins/{o}/integrations/{kind}/names"},
	{"DELETE", "/v1/depot/origins/{o}/integrations/{kind}/{name}"},
	{"PUT", "/v1/settings/{o}/{name}"},
	{"DELETE", "/v1/settings/{o}/{name}"},
	{"GET", "/v1/depot/origins/{o}/keys/latest"},
	{"POST", "/v1/depot/origins/{o}/keys"},
	{"GET", "/v1/depot/pkgs/{o}/{n}"},
	{"GET", "/v1/depot/pkgs/{o}/{n}/{v}"},
	{"GET", "/v1/depot/channels/{o}/{ch}/pkgs"},
	{"GET", "/v1/depot/channels/{o}/{ch}/pkgs/{n}"},
	{"GET", "/v1/depot/channels/{o}/{ch}/pkgs/{n}/{v}/latest"},
	{"PUT", "/v1/depot/channels/{o}/{ch}/pkgs/demote?channel=beta"},
	// The web page's.
	{"GET", "/pkgs/{o}"},
	{"GET", "/pkgs/{o}/{n}"},
	{"GET", "/pkgs/{o}/{n}/{v}/{r}"},
	{"GET", "/pkgs/{o}/{n}/{v}/{r}/graph.dot"},
	{"GET", "/channels/{o}/{ch}"},
}

// defaults fill the parameters not under test with valid values.
var defaults = map[string]string{
	"o": "neurosis", "user": "hank", "id": "1", "name": "testapp", "kind": "docker", "rev": "20171211220037",
	"n": "testapp", "v": "0.1.13", "r": "20190511004436", "q": "testapp", "visibility": "private", "ch": "beta",
}

// TestPathTraversal puts traversal and junk in every path parameter of
// every route, as the owner: always a 4xx, never a success or a server
// error, and nothing stored.
func TestPathTraversal(t *testing.T) {
	bad := []string{"%2e%2e", "..%2F..%2Fetc%2Fpasswd", "%2e", "a%00b", "a%5Cb", "%20", "..%5C..", "%2Fetc"}
	eachStore(t, func(t *testing.T, e *env) {
		e.neurosis()
		e.want(e.do("POST", "/v1/depot/channels/neurosis/beta", "bobo", nil), 201, "channel")
		n := 0
		for _, rt := range routeTemplates {
			for param := range defaults {
				if !strings.Contains(rt.path, "{"+param+"}") {
					continue
				}
				for _, b := range bad {
					path := rt.path
					for k, v := range defaults {
						if k == param {
							v = b
						}
						path = strings.ReplaceAll(path, "{"+k+"}", v)
					}
					r := e.do(rt.method, path, "bobo", strings.NewReader(`{"visibility":"public"}`))
					n++
					if r.status < 400 || r.status >= 500 {
						t.Errorf("%s %s: %d %q, want a 4xx", rt.method, path, r.status, r)
					}
				}
			}
		}
		if n < 300 {
			t.Errorf("only %d requests made", n)
		}
		var page idPage
		e.json(e.want(e.do("GET", "/v1/depot/pkgs/neurosis", "bobo", nil), 200, "list"), &page)
		if page.TotalCount != 0 {
			t.Errorf("%d packages stored", page.TotalCount)
		}
		assertNoBlobs(t, e)
		if _, err := os.Stat("/etc/passwd"); err == nil {
			// Nothing written outside the data directory: the depot never
			// builds a file path from a request.
			entries, _ := os.ReadDir(e.data)
			for _, en := range entries {
				if en.Name() != "blobs" && en.Name() != "staging" && !strings.HasPrefix(en.Name(), "depot.db") {
					t.Errorf("unexpected entry in the data directory: %s", en.Name())
				}
			}
		}
	})
}

// TestBadJSON: malformed, wrong-typed and oversized JSON bodies are 400.
func TestBadJSON(t *testing.T) {
	e := newEnv(t, "", 0)
	e.neurosis()
	huge := `{"name":"` + strings.Repeat("a", 2<<20) + `"}`
	for _, rt := range []struct{ method, path, wrongType string }{
		{"POST", "/v1/depot/origins", `{"name":5}`},
		{"PUT", "/v1/depot/origins/neurosis", `{"default_package_visibility":5}`},
		{"PATCH", "/v1/profile", `{"email":["a"]}`},
		{"POST", "/v1/depot/origins/neurosis/secret", `{"name":"x","value":{}}`},
		{"PUT", "/v1/depot/origins/neurosis/integrations/docker/hub", `"text"`},
		{"POST", "/v1/settings/neurosis/testapp", `{"visibility":true}`},
	} {
		for _, body := range []string{"", "{", "[1,2]", rt.wrongType, huge} {
			if body == "" && rt.path == "/v1/settings/neurosis/testapp" {
				continue // as Builder, a row is created without a body (TestPackageSettings)
			}
			r := e.do(rt.method, rt.path, "bobo", strings.NewReader(body))
			if r.status != 400 {
				t.Errorf("%s %s with %.20q: %d %q, want 400", rt.method, rt.path, body, r.status, r)
			}
		}
	}
}

// TestConcurrentUploadsAndPromotions: 48 clients upload the 24 odd-version
// releases at once (each twice), then 24 promote them into stable and beta
// at once: every release stored once (one 201, one 409), no promotion lost,
// no duplicate row, one blob per release.
func TestConcurrentUploadsAndPromotions(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.neurosis()
		e.want(e.do("POST", "/v1/depot/channels/neurosis/beta", "bobo", nil), 201, "channel")
		odd, _ := filepath.Glob(filepath.Join(builderPath(t, "oddversions"), "*.hart"))
		type result struct {
			file   string
			status int
		}
		results := make(chan result, 2*len(odd))
		var wg sync.WaitGroup
		for _, f := range odd {
			b, _ := os.ReadFile(f)
			id, _ := hartIdent(t, f)
			for range 2 {
				wg.Go(func() {
					r := e.do("POST", "/v1/depot/pkgs/"+id+"?checksum="+blakeHex(b), "bobo", bytes.NewReader(b))
					results <- result{f, r.status}
				})
			}
		}
		wg.Wait()
		close(results)
		got := map[string][]int{}
		for r := range results {
			got[r.file] = append(got[r.file], r.status)
		}
		for f, st := range got {
			if fmt.Sprint(sortInts(st)) != "[201 409]" {
				t.Errorf("%s uploaded twice at once: %v, want one 201 and one 409", filepath.Base(f), st)
			}
		}
		for _, f := range odd {
			id, _ := hartIdent(t, f)
			rel := strings.TrimPrefix(id, "neurosis/")
			for _, ch := range []string{"stable", "beta"} {
				wg.Go(func() {
					r := e.do("PUT", "/v1/depot/channels/neurosis/"+ch+"/pkgs/"+rel+"/promote", "bobo", nil)
					if r.status != 200 {
						t.Errorf("promote %s to %s: %d %q", rel, ch, r.status, r)
					}
				})
			}
		}
		wg.Wait()
		for _, ch := range []string{"unstable", "stable", "beta"} {
			var page idPage
			e.json(e.want(e.do("GET", "/v1/depot/channels/neurosis/"+ch+"/pkgs", "", nil), 200, ch), &page)
			if page.TotalCount != len(odd) || len(page.Data) != len(odd) {
				t.Errorf("%s holds %d (%d listed), want %d", ch, page.TotalCount, len(page.Data), len(odd))
			}
		}
		var page idPage
		e.json(e.want(e.do("GET", "/v1/depot/pkgs/neurosis?range=-1", "", nil), 200, "all"), &page)
		if page.TotalCount != len(odd) {
			t.Errorf("%d package rows, want %d", page.TotalCount, len(odd))
		}
		if n, err := e.dp.Blobs.Count(context.Background()); err != nil || n != len(odd) {
			t.Errorf("%d blobs stored (%v), want %d", n, err, len(odd))
		}
		for _, dir := range []string{"blobs/tmp", "staging/tmp"} {
			if entries, _ := os.ReadDir(filepath.Join(e.data, dir)); len(entries) != 0 {
				t.Errorf("temporary files left in %s: %d", dir, len(entries))
			}
		}
	})
}

func sortInts(s []int) []int {
	out := append([]int(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
