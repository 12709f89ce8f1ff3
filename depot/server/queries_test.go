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
// to its package reads and writes (every method of server.Packages), so
// that a test can tell a page that reads a list in one call from one that
// reads it an item at a time.
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

func (c *countingStore) Platforms(ctx context.Context, ident string, visibilities []string) ([]string, error) {
	c.calls.Add(1)
	return c.Store.Platforms(ctx, ident, visibilities)
}

func (c *countingStore) ChannelsOf(ctx context.Context, id int64) ([]sqlstore.PackageChannel, error) {
	c.calls.Add(1)
	return c.Store.ChannelsOf(ctx, id)
}

func (c *countingStore) ChannelNamesOfIdent(ctx context.Context, ident string) ([]string, error) {
	c.calls.Add(1)
	return c.Store.ChannelNamesOfIdent(ctx, ident)
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

// counted is a second server over e's store and blobs whose package
// calls are counted.
func (e *env) counted() *countedServer {
	e.t.Helper()
	cs := &countingStore{Store: e.dp.Store}
	ts := httptest.NewServer(server.New(server.Config{Store: cs, Blobs: e.dp.Blobs}))
	e.t.Cleanup(ts.Close)
	return &countedServer{env: &env{t: e.t, url: ts.URL, dp: e.dp, data: e.data}, store: cs}
}

type countedServer struct {
	*env
	store *countingStore
}

// calls is the number of package calls a GET of path makes (answered
// 200).
func (c *countedServer) calls(path string) int64 {
	c.t.Helper()
	before := c.store.calls.Load()
	c.want(c.do("GET", path, "", nil), 200, "GET "+path)
	return c.store.calls.Load() - before
}

// TestReleaseGraphQueries: a release's dependency graph (graph.dot, and
// the release page that shows it) costs as many store calls for a closure
// of 40 packages as for one of 1: the records of the dependencies are
// read in one call, not one per dependency.
func TestReleaseGraphQueries(t *testing.T) {
	e := newEnv(t, "", 0)
	e.createOrigin("bobo", "acme")
	key := e.generatedKey("bobo", "acme")
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
		one, forty := c.calls("/pkgs/"+small+suffix), c.calls("/pkgs/"+big+suffix)
		if forty != one {
			t.Errorf("GET /pkgs/RELEASE%s: %d package calls for a closure of 40, %d for a closure of 1", suffix, forty, one)
		}
	}
}
