// Package pgtest is for tests only: it starts a throw-away PostgreSQL
// cluster (Debian's postgresql binaries) in a temporary directory on a free
// loopback port, hands out one fresh database per test, and stops the
// cluster.
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// Cluster is a running PostgreSQL.
type Cluster struct {
	bin    string
	dir    string
	port   int
	runAs  []string // prefix that runs a command as the cluster's user
	admin  *sql.DB
	nextDB atomic.Int64
}

// BinDir finds the PostgreSQL server binaries, newest major version first.
func BinDir() (string, bool) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		a, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		b, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return a > b
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, true
		}
	}
	return "", false
}

// Start starts a cluster. It returns (nil, reason) when the binaries are
// absent, which callers turn into a skip (or a failure under CI).
func Start(ctx context.Context) (*Cluster, string, error) {
	bin, ok := BinDir()
	if !ok {
		return nil, "PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)", nil
	}
	c := &Cluster{bin: bin}
	dir, err := os.MkdirTemp("", "depot-pg-")
	if err != nil {
		return nil, "", err
	}
	c.dir = dir
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root: run it as the postgres user
		// the Debian package creates.
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, "", fmt.Errorf("postgres runs only as a non-root user, and there is no postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, "", err
		}
		c.runAs = []string{"runuser", "-u", "postgres", "--"}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	c.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	data := filepath.Join(dir, "data")
	if out, err := c.run(ctx, "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"); err != nil {
		c.remove()
		return nil, "", fmt.Errorf("initdb: %w: %s", err, out)
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", c.port, dir)
	if out, err := c.run(ctx, "pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		c.remove()
		return nil, "", fmt.Errorf("pg_ctl start: %w: %s\n%s", err, out, log)
	}
	c.admin, err = sql.Open("pgx", c.dsn("postgres"))
	if err == nil {
		err = c.admin.PingContext(ctx)
	}
	if err != nil {
		c.Stop()
		return nil, "", fmt.Errorf("connect to the test cluster: %w", err)
	}
	return c, "", nil
}

func (c *Cluster) run(ctx context.Context, prog string, args ...string) ([]byte, error) {
	argv := append(append([]string{}, c.runAs...), filepath.Join(c.bin, prog))
	argv = append(argv, args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = c.dir
	return cmd.CombinedOutput()
}

func (c *Cluster) dsn(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// NewDatabase creates an empty database and returns its URL.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d", c.nextDB.Add(1))
	if _, err := c.admin.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatalf("create test database %s: %v", name, err)
	}
	return c.dsn(name)
}

// Stop stops the cluster and removes its directory.
func (c *Cluster) Stop() {
	if c.admin != nil {
		c.admin.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c.run(ctx, "pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop")
	c.remove()
}

func (c *Cluster) remove() { os.RemoveAll(c.dir) }

// Main is the body of a TestMain that needs a cluster: it starts one,
// passes it to run (nil, with the reason, when PostgreSQL is absent and CI
// is not set), and stops it. Under CI=true a missing PostgreSQL fails.
func Main(m interface{ Run() int }, set func(*Cluster, string)) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c, reason, err := Start(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		return 1
	}
	if c == nil && strings.EqualFold(os.Getenv("CI"), "true") {
		fmt.Fprintln(os.Stderr, "pgtest: CI is set and "+reason)
		return 1
	}
	set(c, reason)
	code := m.Run()
	if c != nil {
		c.Stop()
	}
	return code
}
