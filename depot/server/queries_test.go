package server_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/habgo/hab/depot/server"
	"github.com/habgo/hab/depot/sqlstore"
)

// countingStore is a depot's real store that counts the server's calls
// to its package reads and writes (every method of server.Packages) and
// to its integration lists, so that a test can tell a page that reads a
// list in one call from one that reads it an item at a time.
type countingStore struct {
	server.Store
	calls atomic.Int64
}

func (c *countingStore) InsertPackage(ctx context.Context, p sqlstore.Package, forced bool) (sqlstore.Package, error) {
	c.calls.Add(1)
	return c.Store.InsertPackage(ctx, p, forced)
}

func (c *countingStore) Exists(ctx context.Context, ident, target string) (bool, error) {
	c.calls.Add(1)
	return c.Store.Exists(ctx, ident, target)
}

func (c *countingStore) FindPackage(ctx context.Context, f sqlstore.Filter) (sqlstore.Package, error) {
	c.calls.Add(1)
	return c.Store.FindPackage(ctx, f)
}

func (c *countingStore) FindReleases(ctx context.Context, idents []string, target string, visibilities []string) ([]sqlstore.Package, error) {
	c.calls.Add(1)
	return c.Store.FindReleases(ctx, idents, target, visibilities)
}

func (c *countingStore) LatestPackage(ctx context.Context, f sqlstore.Filter) (sqlstore.Package, error) {
	c.calls.Add(1)
	return c.Store.LatestPackage(ctx, f)
}

func (c *countingStore) ListIdents(ctx context.Context, f sqlstore.Filter, distinct bool, offset, limit int) ([]string, int, error) {
	c.calls.Add(1)
	return c.Store.ListIdents(ctx, f, distinct, offset, limit)
}

func (c *countingStore) ListReleases(ctx context.Context, f sqlstore.Filter) ([]sqlstore.Package, error) {
	c.calls.Add(1)
	return c.Store.ListReleases(ctx, f)
}

func (c *countingStore) PageIdents(ctx context.Context, f sqlstore.Filter, offset, limit int) ([]string, int, error) {
	c.calls.Add(1)
	return c.Store.PageIdents(ctx, f, offset, limit)
}

func (c *countingStore) LatestPerName(ctx context.Context, f sqlstore.Filter) ([]string, error) {
	c.calls.Add(1)
	return c.Store.LatestPerName(ctx, f)
}

func (c *countingStore) Platforms(ctx context.Context, idents []string, visibilities []string) (map[string][]string, error) {
	c.calls.Add(1)
	return c.Store.Platforms(ctx, idents, visibilities)
}

func (c *countingStore) ChannelsOf(ctx context.Context, ids []int64) (map[int64][]sqlstore.PackageChannel, error) {
	c.calls.Add(1)
	return c.Store.ChannelsOf(ctx, ids)
}

func (c *countingStore) ChannelNamesOfIdents(ctx context.Context, idents []string) (map[string][]string, error) {
	c.calls.Add(1)
	return c.Store.ChannelNamesOfIdents(ctx, idents)
}

func (c *countingStore) Search(ctx context.Context, terms []string, privateOrigins []int64, distinct bool, offset, limit int) ([]sqlstore.SearchResult, int, error) {
	c.calls.Add(1)
	return c.Store.Search(ctx, terms, privateOrigins, distinct, offset, limit)
}

func (c *countingStore) SetVisibility(ctx context.Context, ident, visibility string) error {
	c.calls.Add(1)
	return c.Store.SetVisibility(ctx, ident, visibility)
}

func (c *countingStore) DeletePackage(ctx context.Context, id int64) error {
	c.calls.Add(1)
	return c.Store.DeletePackage(ctx, id)
}

func (c *countingStore) ReverseDeps(ctx context.Context, origin, name, target string) ([]string, error) {
	c.calls.Add(1)
	return c.Store.ReverseDeps(ctx, origin, name, target)
}

func (c *countingStore) IntegrationNames(ctx context.Context, originID int64, integration string) ([]string, error) {
	c.calls.Add(1)
	return c.Store.IntegrationNames(ctx, originID, integration)
}

func (c *countingStore) Integrations(ctx context.Context, originID int64) (map[string][]string, error) {
	c.calls.Add(1)
	return c.Store.Integrations(ctx, originID)
}

// counted is a second server over e's store and blobs (with dev-auth, as
// e's) whose store calls are counted.
func (e *env) counted() *countedServer {
	e.t.Helper()
	cs := &countingStore{Store: e.dp.Store}
	ts := httptest.NewServer(server.New(server.Config{Store: cs, Blobs: e.dp.Blobs, DevAuth: true}))
	e.t.Cleanup(ts.Close)
	return &countedServer{env: &env{t: e.t, url: ts.URL, dp: e.dp, data: e.data}, store: cs}
}

type countedServer struct {
	*env
	store *countingStore
}

// calls is the number of counted calls a GET of path as token ("": none)
// makes (answered 200).
func (c *countedServer) calls(token, path string) int64 {
	c.t.Helper()
	before := c.store.calls.Load()
	c.want(c.do("GET", path, token, nil), 200, "GET "+path)
	return c.store.calls.Load() - before
}

// TestReleaseGraphQueries: a release's dependency graph (graph.dot, and
// the release page that shows it) costs as many store calls for a closure
// of 40 packages as for one of 1: the records of the dependencies are
// read in one call, not one per dependency.
func TestReleaseGraphQueries(t *testing.T) {
	e, key := acmeEnv(t)
	const (
		small = "acme/small/1.0.0/20240101000000"
		big   = "acme/big/1.0.0/20240101000000"
	)
	// Forty dependencies, all direct, every other one uploaded, each
	// depending on the next.
	var deps []string
	for i := range 40 {
		deps = append(deps, fmt.Sprintf("acme/dep%02d/1.0.0/20240101000000", i))
	}
	for i, d := range deps {
		if i%2 == 1 {
			continue
		}
		files := map[string]string{"MANIFEST": d}
		if i+1 < len(deps) {
			files["DEPS"], files["TDEPS"] = deps[i+1]+"\n", strings.Join(deps[i+1:], "\n")+"\n"
		}
		e.want(e.post("bobo", d, buildHart(t, key, d, files), ""), 201, "upload "+d)
	}
	for id, tdeps := range map[string][]string{small: deps[len(deps)-1:], big: deps} {
		l := strings.Join(tdeps, "\n") + "\n"
		files := map[string]string{"MANIFEST": id, "DEPS": l, "TDEPS": l}
		e.want(e.post("bobo", id, buildHart(t, key, id, files), ""), 201, "upload "+id)
	}

	c := e.counted()
	dot := c.want(c.do("GET", "/pkgs/"+big+"/graph.dot", "", nil), 200, "graph of "+big).String()
	for _, edge := range []string{`"` + big + `" -> "` + deps[0] + `"`, `"` + big + `" -> "` + deps[39] + `"`, `"` + deps[0] + `" -> "` + deps[1] + `"`, `"` + deps[38] + `" -> "` + deps[39] + `"`} {
		if !strings.Contains(dot, edge) {
			t.Errorf("graph of %s lacks %s:\n%s", big, edge, dot)
		}
	}
	if edge := `"` + deps[1] + `" -> "` + deps[2] + `"`; strings.Contains(dot, edge) {
		t.Errorf("graph of %s has %s, of a dependency the depot does not hold:\n%s", big, edge, dot)
	}
	for _, suffix := range []string{"/graph.dot", ""} {
		one, forty := c.calls("", "/pkgs/"+small+suffix), c.calls("", "/pkgs/"+big+suffix)
		if forty != one {
			t.Errorf("GET /pkgs/RELEASE%s: %d package calls for a closure of 40, %d for a closure of 1", suffix, forty, one)
		}
	}
}

// TestListingQueries: a package's web page (every release, with its
// channels) and the API's list of a package's releases (a page of idents
// with their platforms and channels) cost as many store calls for 12
// releases as for 1; what they show of each release is its own.
func TestListingQueries(t *testing.T) {
	e, key := acmeEnv(t)
	for _, name := range []string{"one", "many"} {
		n := 1
		if name == "many" {
			n = 12
		}
		for i := range n {
			id := fmt.Sprintf("acme/%s/1.0.%d/20240101000000", name, i)
			e.want(e.post("bobo", id, buildHart(t, key, id, map[string]string{"MANIFEST": id}), ""), 201, "upload "+id)
			if i%2 == 1 {
				e.want(e.do("PUT", "/v1/depot/channels/acme/stable/pkgs/"+id[len("acme/"):]+"/promote", "bobo", nil), 200, "promote "+id)
			}
		}
	}
	c := e.counted()
	for _, path := range []string{"/pkgs/acme/%s", "/v1/depot/pkgs/acme/%s"} {
		one, many := c.calls("", fmt.Sprintf(path, "one")), c.calls("", fmt.Sprintf(path, "many"))
		if many != one {
			t.Errorf("GET %s: %d package calls for 12 releases, %d for 1", fmt.Sprintf(path, "NAME"), many, one)
		}
	}

	var page struct {
		Data []struct {
			Version   string   `json:"version"`
			Channels  []string `json:"channels"`
			Platforms []string `json:"platforms"`
		} `json:"data"`
	}
	c.json(c.want(c.do("GET", "/v1/depot/pkgs/acme/many", "", nil), 200, "list acme/many"), &page)
	if len(page.Data) != 12 {
		t.Fatalf("list acme/many: %d releases, want 12", len(page.Data))
	}
	for _, d := range page.Data {
		var i int
		fmt.Sscanf(d.Version, "1.0.%d", &i)
		want := "[unstable]"
		if i%2 == 1 {
			want = "[stable unstable]"
		}
		if got := fmt.Sprint(d.Channels); got != want || fmt.Sprint(d.Platforms) != "[x86_64-linux]" {
			t.Errorf("release %s: channels %s, platforms %v; want %s, [x86_64-linux]", d.Version, got, d.Platforms, want)
		}
	}
	html := c.want(c.do("GET", "/pkgs/acme/many", "", nil), 200, "page of acme/many").String()
	for i := range 12 {
		tags := `<span class="tag">unstable</span>`
		if i%2 == 1 {
			tags = `<span class="tag">stable</span>` + tags
		}
		row := fmt.Sprintf("<td>1.0.%d</td><td><a href=\"/pkgs/acme/many/1.0.%d/20240101000000\">20240101000000</a></td><td>x86_64-linux</td>\n<td>%s</td></tr>", i, i, tags)
		if !strings.Contains(html, row) {
			t.Errorf("page of acme/many lacks the row %s:\n%s", row, html)
		}
	}
}

// TestIntegrationsQueries: an origin's list of integrations costs as many
// store calls for five kinds as for one, and answers each kind with its
// names.
func TestIntegrationsQueries(t *testing.T) {
	e := newEnv(t, "", 0)
	kinds := map[string][]string{"one": {"docker"}, "five": {"docker", "github", "quay", "slack", "s3"}}
	for o, l := range kinds {
		e.createOrigin("bobo", o)
		for _, k := range l {
			for _, name := range []string{"b", "a"} {
				e.want(e.do("PUT", "/v1/depot/origins/"+o+"/integrations/"+k+"/"+name, "bobo", strings.NewReader(`{"a":1}`)), 201, "put integration "+k+"/"+name)
			}
		}
	}
	c := e.counted()
	one, five := c.calls("bobo", "/v1/depot/origins/one/integrations"), c.calls("bobo", "/v1/depot/origins/five/integrations")
	if five != one {
		t.Errorf("GET /v1/depot/origins/ORIGIN/integrations: %d counted calls for five kinds, %d for one", five, one)
	}
	var got map[string][]string
	c.json(c.want(c.do("GET", "/v1/depot/origins/five/integrations", "bobo", nil), 200, "integrations of five"), &got)
	if s := fmt.Sprint(got); s != "map[docker:[a b] github:[a b] quay:[a b] s3:[a b] slack:[a b]]" {
		t.Errorf("integrations of five: %s", s)
	}
}
