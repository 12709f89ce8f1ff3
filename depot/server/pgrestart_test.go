package server_test

import (
	"context"
	"testing"
)

// TestPostgresRestart: the depot survives a PostgreSQL restart without
// being restarted itself; what it had stored is still served.
func TestPostgresRestart(t *testing.T) {
	if cluster == nil {
		t.Skip(pgReason)
	}
	e := newEnv(t, cluster.NewDatabase(t), 0)
	e.neurosis()
	f := builderPath(t, "neurosis-testapp-0.1.13-20190511004436-x86_64-linux.hart")
	e.want(e.upload("bobo", f, ""), 201, "upload")
	// Open several connections, so that the pool holds stale ones.
	for range 5 {
		e.want(e.do("GET", "/v1/depot/pkgs/neurosis/testapp/latest", "", nil), 200, "latest before")
	}
	if err := cluster.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		r := e.do("GET", "/v1/depot/pkgs/neurosis/testapp/latest", "", nil)
		if r.status != 200 {
			t.Errorf("request %d after the restart: %d %q", i, r.status, r)
		}
	}
	e.want(e.do("PUT", "/v1/depot/channels/neurosis/stable/pkgs/testapp/0.1.13/20190511004436/promote", "bobo", nil), 200, "promote after the restart")
}
