package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/habgo/hab/depot"
	"github.com/habgo/hab/depot/pgtest"
	"github.com/habgo/hab/depot/server"
)

// logBuffer collects a depot's log lines (written from its handlers).
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// giveToken stores a token for account name and returns it.
func giveToken(t *testing.T, e *env, name string) string {
	t.Helper()
	ctx := context.Background()
	a, err := e.dp.Store.EnsureAccount(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	tok := "_failure-test-token-of-" + name
	if _, err := e.dp.Store.SetToken(ctx, a.ID, server.TokenHash(tok)); err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestStoreFailuresAre500: when the database fails a query (a real
// database whose table is made to vanish, on both stores), the answer is
// 500 and the failure is logged: never a 401 for a token that could not be
// looked up, a "not a member" view for a membership that could not be
// read, an origin shown without its key, an empty list of channels, or an
// upload whose package-type check was skipped and whose blob was kept.
func TestStoreFailuresAre500(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			dsn := ""
			if kind == "postgres" {
				if cluster == nil {
					t.Skip(pgReason)
				}
				dsn = cluster.NewDatabase(t)
			}
			logs := &logBuffer{}
			e := newEnvWith(t, depot.Options{DatabaseURL: dsn, Log: slog.New(slog.NewTextHandler(logs, nil))})
			e.neurosis()
			e.want(e.upload("bobo", builderPath(t, "neurosis-testapp-0.1.13-20190511004436-x86_64-linux.hart"), ""), 201, "upload")
			tok := giveToken(t, e, "bobo")
			driver, raw := "pgx", dsn
			if kind == "sqlite" {
				driver, raw = "sqlite", "file:"+filepath.Join(e.data, "depot.db")+"?_pragma=busy_timeout(30000)"
			}
			db, err := sql.Open(driver, raw)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			other := builderPath(t, "neurosis-native-testapp-0.1.0-20220824122359-x86_64-linux.hart")
			otherBody, err := os.ReadFile(other)
			if err != nil {
				t.Fatal(err)
			}
			otherID, otherTarget := hartIdent(t, other)
			const rel = "/v1/depot/pkgs/neurosis/testapp/0.1.13/20190511004436"
			cases := []struct {
				name, table   string
				method, path  string
				token         string
				body          []byte
				blobsAfter    int
				contentBefore int // status of the same request with the table in place (-1: not sent)
			}{
				{"token lookup", "account_tokens", "GET", "/v1/depot/origins/neurosis", tok, nil, 1, 200},
				{"membership for visibility", "origin_members", "GET", rel, tok, nil, 1, 200},
				{"origin's secret key", "origin_secret_keys", "GET", "/v1/depot/origins/neurosis", "", nil, 1, 200},
				{"release's channels", "packages", "GET", rel + "/channels", "", nil, 1, 200},
				{"key exists", "origin_public_keys", "POST", "/v1/depot/origins/neurosis/keys/20171211220037", "bobo", nil, 1, -1},
				{"package type of the latest release", "packages", "POST", "/v1/depot/pkgs/" + otherID + "?checksum=" + blakeHex(otherBody) + "&target=" + otherTarget + "&forced=true",
					"bobo", otherBody, 1, -1},
			}
			for _, c := range cases {
				if c.contentBefore >= 0 {
					e.want(e.do(c.method, c.path, c.token, bytes.NewReader(c.body)), c.contentBefore, c.name+" with the table in place")
				}
				if _, err := db.Exec(`ALTER TABLE ` + c.table + ` RENAME TO ` + c.table + `_gone`); err != nil {
					t.Fatal(err)
				}
				r := e.do(c.method, c.path, c.token, bytes.NewReader(c.body))
				if _, err := db.Exec(`ALTER TABLE ` + c.table + `_gone RENAME TO ` + c.table); err != nil {
					t.Fatal(err)
				}
				if r.status != 500 {
					t.Errorf("%s, with %s gone: %d %q, want 500", c.name, c.table, r.status, r.body)
				}
				if !strings.Contains(logs.String(), c.table) {
					t.Errorf("%s: the failure naming %s is not logged:\n%s", c.name, c.table, logs)
				}
				if n, err := e.dp.Blobs.Count(context.Background()); err != nil || n != c.blobsAfter {
					t.Errorf("%s: %d blobs stored (%v), want %d", c.name, n, err, c.blobsAfter)
				}
			}
			// And with every table back, the upload that failed goes in.
			e.want(e.do("POST", cases[len(cases)-1].path, "bobo", bytes.NewReader(otherBody)), 201, "upload after the failure")
		})
	}
}

// TestStoppedPostgreSQLIs500: with its PostgreSQL stopped, the depot
// answers 500 to a token, a package and an upload, not 401 or 404.
func TestStoppedPostgreSQLIs500(t *testing.T) {
	c, reason, err := pgtest.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c == nil {
		t.Skip(reason)
	}
	stopped := false
	defer func() {
		if !stopped {
			c.Stop()
		}
	}()
	e := newEnv(t, c.NewDatabase(t), 0)
	e.neurosis()
	good := builderPath(t, "neurosis-testapp-0.1.13-20190511004436-x86_64-linux.hart")
	e.want(e.upload("bobo", good, ""), 201, "upload")
	tok := giveToken(t, e, "bobo")
	c.Stop()
	stopped = true
	for _, r := range []struct {
		what string
		resp resp
	}{
		{"token", e.do("GET", "/v1/depot/origins/neurosis", tok, nil)},
		{"package", e.do("GET", "/v1/depot/pkgs/neurosis/testapp/latest", "", nil)},
		{"channels of a release", e.do("GET", "/v1/depot/pkgs/neurosis/testapp/0.1.13/20190511004436/channels", "", nil)},
		{"upload", e.upload("bobo", good, "&forced=true")},
	} {
		if r.resp.status != 500 {
			t.Errorf("%s with PostgreSQL stopped: %d %q, want 500", r.what, r.resp.status, r.resp.body)
		}
	}
	if n, err := e.dp.Blobs.Count(context.Background()); err != nil || n != 1 {
		t.Errorf("%d blobs (%v), want 1", n, err)
	}
}

// TestBlobLookupFailureIs500: when the blob store cannot tell whether the
// upload's blob is stored (its shard directory is a file), the upload is
// 500 and the failure is logged naming the blob: not taken for "not
// stored", no row written; once the directory is back the upload goes in.
func TestBlobLookupFailureIs500(t *testing.T) {
	logs := &logBuffer{}
	e := newEnvWith(t, depot.Options{Log: slog.New(slog.NewTextHandler(logs, nil))})
	e.neurosis()
	good := builderPath(t, "neurosis-testapp-0.1.13-20190511004436-x86_64-linux.hart")
	body, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	sum := blakeHex(body)
	shard := filepath.Join(e.data, "blobs", sum[:2])
	if err := os.WriteFile(shard, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := e.upload("bobo", good, "")
	if r.status != 500 {
		t.Errorf("upload with the blob lookup failing: %d %q, want 500", r.status, r.body)
	}
	if !strings.Contains(logs.String(), "look for blob "+sum) {
		t.Errorf("the failure naming blob %s is not logged:\n%s", sum, logs)
	}
	e.want(e.do("GET", "/v1/depot/pkgs/neurosis/testapp/0.1.13/20190511004436", "", nil), 404, "release after the failed upload")
	if err := os.Remove(shard); err != nil {
		t.Fatal(err)
	}
	e.want(e.upload("bobo", good, ""), 201, "upload with the shard directory back")
}
