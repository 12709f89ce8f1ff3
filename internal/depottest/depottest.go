// Package depottest is for tests only: a real depot (embedded store,
// dev-auth token "bobo") on a loopback port, holding an origin and the
// harts a test uploads, none promoted, closed when the test ends.
package depottest

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/depot"
	"github.com/habgo/hab/depot/client"
)

// Start serves a depot with origin created and harts uploaded (their
// public origin keys from keys), and returns a client holding the token
// and the depot's URL.
func Start(t testing.TB, keys crypto.Cache, origin string, harts ...string) (*client.Client, string) {
	t.Helper()
	return StartIn(t, t.TempDir(), keys, origin, harts...)
}

// StartIn is Start with the depot's data (database and blobs) in
// dataDir, for tests that reach into what the depot stores.
func StartIn(t testing.TB, dataDir string, keys crypto.Cache, origin string, harts ...string) (*client.Client, string) {
	t.Helper()
	ctx := context.Background()
	dp, err := depot.Open(ctx, depot.Options{DataDir: dataDir, DevAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(dp.Server)
	t.Cleanup(func() { ts.Close(); dp.Close() })
	c, err := client.New(ts.URL, client.WithToken("bobo"), client.WithRetry(2, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateOrigin(ctx, origin, ""); err != nil {
		t.Fatal(err)
	}
	for _, h := range harts {
		if err := c.UploadHart(ctx, h, client.UploadOptions{Keys: keys}); err != nil {
			t.Fatal(err)
		}
	}
	return c, ts.URL
}
