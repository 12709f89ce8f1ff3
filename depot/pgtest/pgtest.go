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
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// Cluster is a running PostgreSQL.
type Cluster struct {
	bin    string
	dir    string
	port   int
	cred   *syscall.Credential // the postgres user's, when running as root
	server *exec.Cmd
	exited chan error // closed when server has exited
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
	base := ""
	if os.Geteuid() == 0 {
		// The server runs as the postgres user, who may not reach a
		// private $TMPDIR (such as one under /root).
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "depot-pg-")
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
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	c.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	init := c.command(ctx, "initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
	if out, err := init.CombinedOutput(); err != nil {
		c.remove()
		return nil, "", fmt.Errorf("initdb: %w: %s", err, out)
	}
	if err := c.startServer(ctx); err != nil {
		c.remove()
		return nil, "", err
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

// command runs a PostgreSQL program as the cluster's user, killed if the
// test process dies (so that a crashed test leaves no server behind).
func (c *Cluster) command(ctx context.Context, prog string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, prog), args...)
	cmd.Dir = c.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// startServer runs postgres in the foreground as a child and waits until
// it accepts connections.
func (c *Cluster) startServer(ctx context.Context) error {
	logf, err := os.OpenFile(filepath.Join(c.dir, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	srv := c.command(context.Background(), "postgres", "-D", filepath.Join(c.dir, "data"), "-p", strconv.Itoa(c.port), "-k", c.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200")
	srv.Stdout, srv.Stderr = logf, logf
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait(); close(exited) }()
	c.server, c.exited = srv, exited
	db, err := sql.Open("pgx", c.dsn("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	for delay := 10 * time.Millisecond; ; delay = min(2*delay, 500*time.Millisecond) {
		if err := db.PingContext(ctx); err == nil {
			return nil
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
			return fmt.Errorf("postgres exited: %v\n%s", err, log)
		case <-ctx.Done():
			srv.Process.Kill()
			return fmt.Errorf("postgres did not accept connections: %w", ctx.Err())
		case <-time.After(delay):
		}
	}
}

// stopServer asks postgres for a fast shutdown and waits for it.
func (c *Cluster) stopServer() {
	if c.server == nil {
		return
	}
	c.server.Process.Signal(syscall.SIGINT)
	<-c.exited
	c.server = nil
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

// Restart stops the server (fast: open connections are cut) and starts it
// again on the same port and data.
func (c *Cluster) Restart(ctx context.Context) error {
	c.stopServer()
	if err := c.startServer(ctx); err != nil {
		return err
	}
	// The restart cut the administration connections too.
	c.admin.Close()
	admin, err := sql.Open("pgx", c.dsn("postgres"))
	if err != nil {
		return err
	}
	c.admin = admin
	return nil
}

// Stop stops the cluster and removes its directory.
func (c *Cluster) Stop() {
	if c.admin != nil {
		c.admin.Close()
	}
	c.stopServer()
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
