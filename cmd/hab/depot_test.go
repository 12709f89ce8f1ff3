package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/blake2b"

	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/depot/pgtest"
	"github.com/habgo/hab/internal/conformance"
	"github.com/habgo/hab/internal/habbin"
)

func depotEnv(root string) func(string) string {
	return func(k string) string {
		if k == "FS_ROOT" {
			return root
		}
		return ""
	}
}

// TestDepotTokenCreate: the bootstrap token is printed, stored hashed under
// FS_ROOT's default data directory, and bad account names are refused.
func TestDepotTokenCreate(t *testing.T) {
	root := t.TempDir()
	code, out, errOut := runHab(t, depotEnv(root), "depot", "token", "create", "--account", "bobo")
	if code != 0 || !strings.HasPrefix(out, "_") {
		t.Fatalf("token create: %d %q %q", code, out, errOut)
	}
	db, err := os.ReadFile(filepath.Join(root, "hab", "svc", "depot", "data", "depot.db"))
	if err != nil {
		t.Fatalf("no database under FS_ROOT's default data directory: %v", err)
	}
	if bytes.Contains(db, []byte(strings.TrimSpace(out))) {
		t.Error("the token is stored in clear")
	}
	if code, _, errOut := runHab(t, depotEnv(root), "depot", "token", "create"); code != exitUsage {
		t.Errorf("without --account: %d %q", code, errOut)
	}
	if code, _, errOut := runHab(t, depotEnv(root), "depot", "token", "create", "--account", "_bad"); code != exitError || !strings.Contains(errOut, "_bad") {
		t.Errorf("bad account: %d %q", code, errOut)
	}
}

// TestDepotDevAuthLoopbackOnly: --dev-auth is refused on a listener that
// is not loopback, before anything is created in the data directory.
func TestDepotDevAuthLoopbackOnly(t *testing.T) {
	root := t.TempDir()
	code, _, errOut := runHab(t, depotEnv(root), "depot", "serve", "--listen", "0.0.0.0:0", "--dev-auth")
	if code != exitError || !strings.Contains(errOut, "not a loopback address") || !strings.Contains(errOut, "refused on") {
		t.Errorf("dev-auth on 0.0.0.0: %d %q", code, errOut)
	}
	if names, _ := os.ReadDir(root); len(names) != 0 {
		t.Errorf("a refused depot left %v in FS_ROOT", names)
	}
}

// TestDepotServeBadSettings: each bad setting of hab depot serve is an
// error naming it; the secret in a database URL is not shown, and a
// command line refused as such creates nothing.
func TestDepotServeBadSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"negative upload size", []string{"--max-upload-size", "-1"}, exitUsage, "--max-upload-size -1: a number of bytes"},
		{"upload size not a number", []string{"--max-upload-size", "2G"}, exitUsage, `invalid argument "2G"`},
		{"listen address", []string{"--listen", "nonsense"}, exitError, "listen on nonsense"},
		{"blob URL", []string{"--blob-url", "ftp://example.com/x"}, exitError, "blob URL ftp://example.com/x"},
		{"database URL", []string{"--database-url", "postgres://depot:hunter2@127.0.0.1:1/depot"}, exitError, "postgres://depot:xxxxx@127.0.0.1:1/depot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			args := append([]string{"depot", "serve"}, tc.args...)
			if !slices.Contains(tc.args, "--listen") {
				args = append(args, "--listen", "127.0.0.1:0")
			}
			code, _, errOut := runHab(t, depotEnv(root), args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, want %d; stderr %q, want %q in it", code, tc.code, errOut, tc.want)
			}
			if strings.Contains(errOut, "hunter2") {
				t.Errorf("the database password is shown: %q", errOut)
			}
			if names, _ := os.ReadDir(root); tc.code == exitUsage && len(names) != 0 {
				t.Errorf("a refused command line left %v in FS_ROOT", names)
			}
		})
	}
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type depotProc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	url    string
}

func startDepot(t *testing.T, bin, root, addr string, extra ...string) *depotProc {
	t.Helper()
	stderr := &syncBuffer{}
	cmd := exec.Command(bin, append([]string{"depot", "serve", "--listen", addr}, extra...)...)
	cmd.Env = append(os.Environ(), "FS_ROOT="+root)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &depotProc{cmd: cmd, stderr: stderr, url: "http://" + addr}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; ; i++ {
		res, err := http.Get(p.url + "/v1/status")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return p
			}
		}
		if i == 300 {
			t.Fatalf("depot did not answer: %v\n%s", err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond) // polling a process we cannot be told about
	}
}

func request(t *testing.T, method, url, token string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// TestDepotKillAndRestart runs the real binary: concurrent uploads, SIGKILL
// in the middle, restart on the same data: every acknowledged upload is
// there byte for byte, everything listed downloads whole, nothing
// temporary is left; then SIGTERM stops it cleanly with request logs.
func TestDepotKillAndRestart(t *testing.T) {
	bin, err := habbin.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Run("embedded", func(t *testing.T) { killAndRestart(t, bin) })
	t.Run("postgres", func(t *testing.T) {
		c, reason, err := pgtest.Start(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if c == nil {
			if os.Getenv("CI") == "true" {
				t.Fatal(reason)
			}
			t.Skip(reason)
		}
		t.Cleanup(c.Stop)
		killAndRestart(t, bin, "--database-url", c.NewDatabase(t))
	})
}

func killAndRestart(t *testing.T, bin string, extra ...string) {
	root := t.TempDir()
	cmd := exec.Command(bin, append([]string{"depot", "token", "create", "--account", "bobo"}, extra...)...)
	cmd.Env = append(os.Environ(), "FS_ROOT="+root)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(string(out))
	addr := freePort(t)
	p := startDepot(t, bin, root, addr, extra...)
	if code, b := request(t, "POST", p.url+"/v1/depot/origins", tok, []byte(`{"name":"neurosis"}`)); code != 201 {
		t.Fatalf("create origin: %d %s", code, b)
	}
	key, _ := os.ReadFile(conformance.Path(t, "builder", "neurosis-20171211220037.pub"))
	if code, b := request(t, "POST", p.url+"/v1/depot/origins/neurosis/keys/20171211220037", tok, key); code != 201 {
		t.Fatalf("upload key: %d %s", code, b)
	}
	files, _ := filepath.Glob(filepath.Join(conformance.Path(t, "builder", "oddversions"), "*.hart"))
	type up struct {
		ident string
		data  []byte
	}
	var ups []up
	for _, f := range files {
		b, _ := os.ReadFile(f)
		md, err := hart.ReadMetadata(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		ups = append(ups, up{md.Ident.String(), b})
	}
	// One upload is held back for the graceful stop: a depot that has its
	// blob (stored by an upload killed before its row) takes a re-upload
	// without writing a temporary, which the stop below waits for.
	late := ups[len(ups)-1]
	ups = ups[:len(ups)-1]
	var mu sync.Mutex
	acked := map[string][]byte{}
	ackCh := make(chan struct{}, len(ups))
	var wg sync.WaitGroup
	send := func(u up) {
		wg.Go(func() {
			sum := blake2b.Sum256(u.data)
			code, _ := request(t, "POST", p.url+"/v1/depot/pkgs/"+u.ident+"?checksum="+hex.EncodeToString(sum[:]), tok, u.data)
			if code == 201 {
				mu.Lock()
				acked[u.ident] = u.data
				mu.Unlock()
				ackCh <- struct{}{}
			}
		})
	}
	// A first wave, acknowledged; then the rest, killed while in flight.
	for _, u := range ups[:8] {
		send(u)
	}
	for range 4 {
		<-ackCh
	}
	for _, u := range ups[8:] {
		send(u)
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	wg.Wait()
	p.cmd.Wait()
	t.Logf("%d of %d uploads acknowledged before SIGKILL", len(acked), len(ups))

	p = startDepot(t, bin, root, addr, extra...)
	for id, data := range acked {
		code, b := request(t, "GET", p.url+"/v1/depot/pkgs/"+id+"/download", tok, nil)
		if code != 200 || !bytes.Equal(b, data) {
			t.Errorf("acknowledged %s after restart: %d, %d bytes (want %d)", id, code, len(b), len(data))
		}
	}
	code, b := request(t, "GET", p.url+"/v1/depot/pkgs/neurosis?range=-1", tok, nil)
	if code != 200 {
		t.Fatalf("list: %d %s", code, b)
	}
	listed := strings.Count(string(b), `"release"`)
	if listed < len(acked) {
		t.Errorf("%d listed after restart, %d acknowledged", listed, len(acked))
	}
	for _, u := range ups {
		if !strings.Contains(string(b), `"release":"`+u.ident[strings.LastIndex(u.ident, "/")+1:]+`"`) {
			continue
		}
		code, got := request(t, "GET", p.url+"/v1/depot/pkgs/"+u.ident+"/download", tok, nil)
		if code != 200 || !bytes.Equal(got, u.data) {
			t.Errorf("listed %s does not download whole: %d, %d bytes", u.ident, code, len(got))
		}
	}
	tmp, _ := os.ReadDir(filepath.Join(root, "hab", "svc", "depot", "data", "blobs", "tmp"))
	if len(tmp) != 0 {
		t.Errorf("temporary files after restart: %v", tmp)
	}

	// Graceful stop: an upload in flight when SIGTERM arrives completes.
	pr, pw := io.Pipe()
	sum := blake2b.Sum256(late.data)
	req, _ := http.NewRequest("POST", p.url+"/v1/depot/pkgs/"+late.ident+"?checksum="+hex.EncodeToString(sum[:]), pr)
	req.ContentLength = int64(len(late.data))
	req.Header.Set("Authorization", "Bearer "+tok)
	done := make(chan int, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("upload across SIGTERM: %v", err)
			done <- 0
			return
		}
		res.Body.Close()
		done <- res.StatusCode
	}()
	half := len(late.data) / 2
	pw.Write(late.data[:half])
	// The connection may still wait in the listener's backlog, which a
	// shutdown resets: signal only once the depot's handler has the
	// upload (its blob's temporary exists before the body is read).
	blobTmp := filepath.Join(root, "hab", "svc", "depot", "data", "blobs", "tmp")
	waitFor(t, "the depot to take the upload", func() bool {
		tmp, _ := os.ReadDir(blobTmp)
		return len(tmp) > 0
	}, p.stderr)
	p.cmd.Process.Signal(syscall.SIGTERM)
	waitFor(t, "the depot to begin shutting down", func() bool {
		return strings.Contains(p.stderr.String(), `"msg":"depot shutting down"`)
	}, p.stderr)
	pw.Write(late.data[half:])
	pw.Close()
	if code := <-done; code != 201 {
		t.Errorf("upload in flight at SIGTERM: %d, want 201", code)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", err, p.stderr)
	}
	for _, want := range []string{`"msg":"request"`, `"path":"/v1/depot/pkgs/neurosis"`, `"msg":"depot shutting down"`} {
		if !strings.Contains(p.stderr.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, p.stderr)
		}
	}
	p = startDepot(t, bin, root, addr, extra...)
	if code, got := request(t, "GET", p.url+"/v1/depot/pkgs/"+late.ident+"/download", tok, nil); code != 200 || !bytes.Equal(got, late.data) {
		t.Errorf("the upload finished during shutdown is not stored whole: %d, %d bytes", code, len(got))
	}
}
