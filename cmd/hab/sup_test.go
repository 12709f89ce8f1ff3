package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/internal/habbin"
	"github.com/habgo/hab/planner/builder"
)

// supEnv is a temporary FS_ROOT with fixture packages built into it, and
// the hab binary to run supervisors with.
type supEnv struct {
	t       *testing.T
	dir     string
	root    string
	keys    string
	bin     string
	release int
	env     map[string]string
}

var (
	supBinOnce sync.Once
	supBin     string
	supBinErr  error
)

func newSupEnv(t *testing.T) *supEnv {
	t.Helper()
	if _, err := exec.LookPath("perl"); err != nil {
		t.Skip("the service fixture needs perl to answer on its port")
	}
	supBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hab-sup-test-bin-")
		if err != nil {
			supBinErr = err
			return
		}
		supBin, supBinErr = habbin.Build(dir)
	})
	if supBinErr != nil {
		t.Fatal(supBinErr)
	}
	dir := t.TempDir()
	e := &supEnv{t: t, dir: dir, root: filepath.Join(dir, "root"), keys: filepath.Join(dir, "keys"), bin: supBin, release: 20260101000000}
	for _, d := range []string{e.root, e.keys} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := (crypto.Cache{Dir: e.keys}).NewSigningPair("habtest", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	e.env = map[string]string{"FS_ROOT": e.root, "HAB_CACHE_KEY_PATH": e.keys, "HOME": filepath.Join(dir, "home")}
	return e
}

// build builds a plan context into the root (installing it there) and
// returns the hart's path.
func (e *supEnv) build(planDir string) string {
	e.t.Helper()
	e.release++
	var out bytes.Buffer
	res, err := builder.Build(context.Background(), planDir, builder.Options{
		Root: paths.At(e.root), Env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.dir, "TERM=dumb"},
		Release: strconv.Itoa(e.release), WorkDir: e.dir, Keys: crypto.Cache{Dir: e.keys}, Output: &out,
	})
	if err != nil {
		e.t.Fatalf("build %s: %v\n%s", planDir, err, out.String())
	}
	return res.Artifact
}

// plan writes a plan context from files and returns its directory.
func (e *supEnv) plan(name string, files map[string]string) string {
	e.t.Helper()
	dir := filepath.Join(e.dir, "plans", name)
	for rel, content := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			e.t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(rel, "hooks/") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			e.t.Fatal(err)
		}
	}
	return dir
}

func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// sup is a running `hab sup run` process.
type sup struct {
	e         *supEnv
	cmd       *exec.Cmd
	ctl, http string
	mu        sync.Mutex
	out       bytes.Buffer
	done      chan struct{}
}

func (e *supEnv) startSup(extra ...string) *sup {
	e.t.Helper()
	return e.startSupWith(append([]string{"sup", "run"}, extra...)...)
}

// startSupWith runs hab with args (sup run, or start) and the listeners
// on free loopback ports.
func (e *supEnv) startSupWith(cmdArgs ...string) *sup {
	e.t.Helper()
	s := &sup{e: e, ctl: fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(e.t)), http: fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(e.t)), done: make(chan struct{})}
	// The gossip port is picked free (the default 9638 may be another test's).
	args := append(cmdArgs, "--listen-ctl", s.ctl, "--listen-http", s.http, "--listen-gossip", "127.0.0.1:0", "--sys-ip-address", "127.0.0.1")
	e.env["HAB_LISTEN_CTL"] = s.ctl
	s.cmd = exec.Command(e.bin, args...)
	env := os.Environ()
	for k, v := range e.env {
		env = append(env, k+"="+v)
	}
	s.cmd.Env = env
	r, w := io.Pipe()
	s.cmd.Stdout, s.cmd.Stderr = w, w
	if err := s.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			s.mu.Lock()
			s.out.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
		}
	}()
	go func() { s.cmd.Wait(); w.Close(); close(s.done) }()
	e.t.Cleanup(func() {
		if !s.exited() {
			s.cmd.Process.Signal(syscall.SIGTERM)
			<-s.done
		}
		if e.t.Failed() {
			e.t.Logf("supervisor output:\n%s", s.output())
		}
	})
	s.waitOutput("Starting ctl-gateway")
	return s
}

func (s *sup) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *sup) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// waitFor polls cond until it holds; the bound is only so that a broken
// supervisor fails the test instead of hanging it.
func supWaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *sup) waitOutput(want string) {
	s.e.t.Helper()
	supWaitFor(s.e.t, fmt.Sprintf("%q in the supervisor's output", want), func() bool {
		if strings.Contains(s.output(), want) {
			return true
		}
		if s.exited() {
			s.e.t.Fatalf("supervisor exited waiting for %q:\n%s", want, s.output())
		}
		return false
	})
}

// hab runs a hab command in-process against this supervisor's root.
func (s *sup) hab(stdin string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb, func(k string) string { return s.e.env[k] })
	return code, out.String(), errb.String()
}

func (s *sup) mustHab(stdin string, args ...string) string {
	s.e.t.Helper()
	start := time.Now()
	code, out, errs := s.hab(stdin, args...)
	s.e.t.Logf("hab %s: %s", strings.Join(args, " "), time.Since(start))
	if code != 0 {
		s.e.t.Fatalf("hab %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func (s *sup) getJSON(path string, v any) int {
	s.e.t.Helper()
	resp, err := http.Get("http://" + s.http + path)
	if err != nil {
		s.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, v); err != nil {
			s.e.t.Fatalf("GET %s: %v\n%s", path, err, b)
		}
	}
	return resp.StatusCode
}

// service is the /services/NAME/GROUP document; the group is default
// unless name is NAME/GROUP.
func (s *sup) service(name string) map[string]any {
	if !strings.Contains(name, "/") {
		name += "/default"
	}
	var v map[string]any
	if s.getJSON("/services/"+name, &v) != 200 {
		return nil
	}
	return v
}

// pid is the pid of a running service (see service), 0 when it is down.
func (s *sup) pid(name string) int {
	v := s.service(name)
	if v == nil {
		return 0
	}
	p, _ := v["process"].(map[string]any)
	if p["state"] != "up" {
		return 0
	}
	f, _ := p["pid"].(float64)
	return int(f)
}

func httpBody(t *testing.T, url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func (e *supEnv) userTOML(name, content string) {
	e.t.Helper()
	p := filepath.Join(e.root, "hab", "user", name, "config", "user.toml")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	// Written beside and renamed, as editors save, so that the
	// supervisor never reads half a file.
	if err := os.WriteFile(p+".new", []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Rename(p+".new", p); err != nil {
		e.t.Fatal(err)
	}
}

// processesIn lists live processes whose command line contains s.
func processesIn(s string) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, en := range entries {
		pid, err := strconv.Atoi(en.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", en.Name(), "cmdline"))
		if err != nil {
			continue
		}
		st, _ := os.ReadFile(filepath.Join("/proc", en.Name(), "stat"))
		if i := bytes.LastIndexByte(st, ')'); i > 0 && len(st) > i+2 && st[i+2] == 'Z' {
			continue
		}
		if strings.Contains(string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})), s) {
			out = append(out, pid)
		}
	}
	return out
}

// rootPlan is the plan.sh of a package habtest/NAME/0.1.0 that builds
// nothing and runs as root (its hooks do the work).
func rootPlan(name string) string {
	return "pkg_name=" + name + "\npkg_origin=habtest\npkg_version=0.1.0\npkg_svc_user=root\npkg_svc_group=root\ndo_build() { return 0; }\ndo_install() { return 0; }\n"
}

// buildService builds habtest/name from rootPlan(name), a run hook that
// sleeps, and files (which may replace either), and returns the hart.
func (e *supEnv) buildService(name string, files map[string]string) string {
	e.t.Helper()
	all := map[string]string{"plan.sh": rootPlan(name), "hooks/run": "#!/bin/sh\nexec sleep 100000\n"}
	for rel, content := range files {
		all[rel] = content
	}
	return e.build(e.plan(name, all))
}

func fixtureDir(name string) string { return filepath.Join("..", "..", "fixtures", name) }

// TestSupServiceReconfigureAndBind is the done-when flow: the
// fixture service runs under hab sup run and answers on its port, hab
// config apply reconfigures it without a restart, and a bound client sees
// its port; with the gateways, the status exit codes, the control secret
// and unload leaving no process behind.
func TestSupServiceReconfigureAndBind(t *testing.T) {
	e := newSupEnv(t)
	e.build(fixtureDir("service"))
	e.build(fixtureDir("service-client"))
	port := freeLoopbackPort(t)
	e.userTOML("service", fmt.Sprintf("port = %d\n", port))
	s := e.startSup("habtest/service")
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	supWaitFor(t, "the service to answer on its port", func() bool { return httpBody(t, url) == "hello from the service\n" })
	pid := s.pid("service")
	if pid == 0 {
		t.Fatal("no pid for the running service")
	}

	// Applied configuration: rendered, reconfigure runs, no restart.
	s.mustHab("message = \"applied once\"\n", "config", "apply", "service.default", "1")
	supWaitFor(t, "the applied message", func() bool { return httpBody(t, url) == "applied once\n" })
	s.waitOutput("service.default hook[reconfigure]:(HK): reconfigured service: applied once")
	if now := s.pid("service"); now != pid {
		t.Errorf("config apply restarted the service: pid %d, then %d", pid, now)
	}
	// The same or a lower version is refused and says so.
	if code, _, errs := s.hab("message = \"again\"\n", "config", "apply", "service.default", "1"); code == 0 || !strings.Contains(errs, "not newer than the applied version 1") {
		t.Errorf("equal version: exit %d, %s", code, errs)
	}
	// Invalid TOML is refused before it is sent; the service keeps its configuration.
	cfgFile := filepath.Join(e.dir, "bad.toml")
	os.WriteFile(cfgFile, []byte("message = \n"), 0o644)
	if code, _, errs := s.hab("", "config", "apply", "service.default", "2", cfgFile); code == 0 || !strings.Contains(errs, "invalid configuration for service.default") {
		t.Errorf("invalid TOML: exit %d, %s", code, errs)
	}
	if got := httpBody(t, url); got != "applied once\n" {
		t.Errorf("after refused configs the service answers %q", got)
	}

	// A client bound to the service sees its port.
	if out := s.mustHab("", "svc", "load", "habtest/service-client", "--bind", "backend:service.default"); !strings.Contains(out, "The habtest/service-client service was successfully loaded") {
		t.Errorf("load output: %s", out)
	}
	s.waitOutput(fmt.Sprintf("service-client.default(O): client of 127.0.0.1:%d", port))
	s.waitOutput("service-client.default(O): backend says: applied once")
	if code, _, errs := s.hab("", "svc", "load", "habtest/service-client", "--bind", "backend:service.default"); code == 0 || !strings.Contains(errs, "Service already loaded") {
		t.Errorf("second load: exit %d, %s", code, errs)
	}

	// A forced load restarts the service.
	clientBefore := s.pid("service-client")
	s.mustHab("", "svc", "load", "--force", "habtest/service-client", "--bind", "backend:service.default")
	supWaitFor(t, "the client restarted by a forced load", func() bool { p := s.pid("service-client"); return p != 0 && p != clientBefore })

	// Status and its exit codes.
	status := s.mustHab("", "svc", "status")
	byGroup := map[string]serviceStatus{}
	for _, r := range readStatusTable(t, status) {
		byGroup[r.ServiceGroup] = r
	}
	if r := byGroup["service-client.default"]; r.Type != "standalone" || r.Desired != "up" || r.State != "up" || r.PID == nil || *r.PID != s.pid("service-client") {
		t.Errorf("svc status:\n%s", status)
	}
	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"sup", "status", "habtest/service"}, 0},
		{[]string{"sup", "status", "habtest/not-loaded"}, exitNotLoaded},
		{[]string{"sup", "status", "habtest/service", "-r", fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(t))}, exitNoSupervisor},
	} {
		if code, out, errs := s.hab("", tt.args...); code != tt.code {
			t.Errorf("hab %v: exit %d, want %d\n%s%s", tt.args, code, tt.code, out, errs)
		}
	}

	// The HTTP gateway.
	var services []map[string]any
	if s.getJSON("/services", &services) != 200 || len(services) != 2 {
		t.Errorf("/services: %d services", len(services))
	}
	var cfg map[string]any
	if s.getJSON("/services/service/default/config", &cfg) != 200 || cfg["port"] != float64(port) || cfg["message"] != "applied once" {
		t.Errorf("/config = %v", cfg)
	}
	var health map[string]any
	supWaitFor(t, "a health check", func() bool {
		return s.getJSON("/services/service/default/health", &health) == 200 && health["status"] == "OK"
	})
	if code := s.getJSON("/services/nothing/default", nil); code != 404 {
		t.Errorf("unknown service: HTTP %d", code)
	}
	svc := s.service("service")
	for _, k := range []string{"binding_mode", "binds", "bldr_url", "cfg", "channel", "desired_state", "health_check", "hooks", "manager_fs_cfg", "pkg", "process", "service_group", "spec_file", "spec_ident", "sys", "topology", "update_strategy"} {
		if _, ok := svc[k]; !ok {
			t.Errorf("/services/service/default lacks %q", k)
		}
	}
	var census map[string]any
	s.getJSON("/census", &census)
	groups, _ := census["census_groups"].(map[string]any)
	g, _ := groups["service.default"].(map[string]any)
	if sc, _ := g["service_config"].(map[string]any); sc == nil || sc["incarnation"] != float64(1) {
		t.Errorf("census service_config = %v", g["service_config"])
	}
	if pop, _ := g["population"].(map[string]any); len(pop) != 1 {
		t.Errorf("census population = %v", g["population"])
	}
	var bf map[string]any
	s.getJSON("/butterfly", &bf)
	for _, k := range []string{"member", "service", "service_config", "service_file", "election", "departure"} {
		if _, ok := bf[k]; !ok {
			t.Errorf("/butterfly lacks %q", k)
		}
	}
	if m := httpBody(t, "http://"+s.http+"/metrics"); !strings.Contains(m, "hab_sup_http_gateway_requests_total") {
		t.Errorf("/metrics:\n%s", m)
	}

	// A wrong control secret is refused.
	saved := e.env["HAB_CTL_SECRET"]
	e.env["HAB_CTL_SECRET"] = "not-the-secret"
	if code, _, errs := s.hab("", "svc", "status", "-r", s.ctl); code == 0 || !strings.Contains(errs, "wrong secret") {
		t.Errorf("wrong secret: exit %d, %s", code, errs)
	}
	e.env["HAB_CTL_SECRET"] = saved
	delete(e.env, "HAB_CTL_SECRET")

	// File upload reaches the service's files directory.
	upload := filepath.Join(e.dir, "message.txt")
	os.WriteFile(upload, []byte("uploaded\n"), 0o644)
	s.mustHab("", "file", "upload", "service.default", "1", upload)
	supWaitFor(t, "the uploaded file", func() bool {
		b, _ := os.ReadFile(filepath.Join(e.root, "hab", "svc", "service", "files", "message.txt"))
		return string(b) == "uploaded\n"
	})

	// stop keeps the spec; start brings the service back.
	clientPID := s.pid("service-client")
	s.mustHab("", "svc", "stop", "habtest/service-client")
	supWaitFor(t, "the client to stop", func() bool { return s.pid("service-client") == 0 })
	if syscall.Kill(clientPID, 0) == nil {
		t.Errorf("stopped client %d still runs", clientPID)
	}
	if _, err := os.Stat(filepath.Join(e.root, "hab", "sup", "default", "specs", "service-client.spec")); err != nil {
		t.Errorf("stop removed the spec: %v", err)
	}
	s.mustHab("", "svc", "start", "habtest/service-client")
	supWaitFor(t, "the client to start again", func() bool { return s.pid("service-client") != 0 })

	// unload and term leave no process of this root behind.
	s.mustHab("", "svc", "unload", "habtest/service-client")
	if _, err := os.Stat(filepath.Join(e.root, "hab", "sup", "default", "specs", "service-client.spec")); err == nil {
		t.Error("unload left the spec")
	}
	s.mustHab("", "sup", "term")
	<-s.done
	s.waitOutput("Supervisor stopped")
	if left := processesIn(e.root); len(left) > 0 {
		t.Errorf("processes left after term: %v", left)
	}
	if code, _, _ := s.hab("", "sup", "status"); code != exitNoSupervisor {
		t.Errorf("sup status with no supervisor: exit %d", code)
	}
}

// TestSupKill9BringsServicesBack: a supervisor killed with SIGKILL leaves
// its service running; the next one ends that process and starts the
// service again from its spec, with its options, and only once.
func TestSupKill9BringsServicesBack(t *testing.T) {
	e := newSupEnv(t)
	e.build(fixtureDir("service"))
	port := freeLoopbackPort(t)
	e.userTOML("service", fmt.Sprintf("port = %d\n", port))
	s := e.startSup("habtest/service", "--group", "blue", "--shutdown-timeout", "2")
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	supWaitFor(t, "the service", func() bool { return httpBody(t, url) == "hello from the service\n" })
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.done
	t.Logf("killed at %s", time.Now())
	// The service's process names its configuration file (hooks that
	// happened to run when the supervisor died do not).
	serviceConf := filepath.Join(e.root, "hab", "svc", "service", "config", "service.conf")
	before := processesIn(serviceConf)
	if len(before) != 1 {
		t.Fatalf("after kill -9, service processes %v, want the one left running", before)
	}
	s2 := e.startSup()
	t.Logf("restarted at %s", time.Now())
	s2.waitOutput(fmt.Sprintf("Ending process %d left running by a previous supervisor", before[0]))
	s2.waitOutput("service.blue(O): habtest-service listening")
	supWaitFor(t, "the service again", func() bool { return httpBody(t, url) == "hello from the service\n" })
	// A zombie the old supervisor's death left to PID 1 has exited.
	if slices.Contains(processesIn(serviceConf), before[0]) {
		t.Errorf("the old service process %d still runs", before[0])
	}
	if now := processesIn(serviceConf); len(now) != 1 || now[0] == before[0] {
		t.Errorf("service processes after restart: %v (before: %v)", now, before)
	}
	// hab sup restart: the supervisor restarts in the same process and
	// takes its service over (TestSupRestartKeepsServices).
	pid := s2.pid("service/blue")
	if pid == 0 {
		t.Fatal("no pid for service.blue")
	}
	s2.mustHab("", "sup", "restart")
	s2.waitOutput("hab-sup(MR): Restarting the Supervisor (SIGHUP)")
	s2.waitOutput(fmt.Sprintf("Took over the running service (PID %d)", pid))
	supWaitFor(t, "the service after sup restart", func() bool { return s2.pid("service/blue") == pid })
	if s2.exited() {
		t.Fatal("sup restart ended the supervisor")
	}
	sp, err := os.ReadFile(filepath.Join(e.root, "hab", "sup", "default", "specs", "service.spec"))
	if err != nil || !strings.Contains(string(sp), "group = 'blue'") || !strings.Contains(string(sp), "shutdown_timeout = 2") {
		t.Errorf("spec after restart: %v\n%s", err, sp)
	}
	// hab sup restart --remote-sup asks through the control gateway.
	pid = s2.pid("service/blue")
	if out := s2.mustHab("", "sup", "restart", "--remote-sup", s2.ctl); !strings.Contains(out, "Restarting the Supervisor") {
		t.Errorf("sup restart --remote-sup: %q", out)
	}
	s2.waitOutput("hab-sup(MR): Restarting the Supervisor (asked through the control gateway)")
	supWaitFor(t, "the service after sup restart --remote-sup", func() bool {
		return strings.Count(s2.output(), fmt.Sprintf("Took over the running service (PID %d)", pid)) == 2 && s2.pid("service/blue") == pid
	})
	if s2.exited() {
		t.Fatal("sup restart --remote-sup ended the supervisor")
	}
}

// TestSupBadInputKeepsServicesRunning: unknown idents, malformed binds,
// invalid user.toml, a template error and a spec file edited into
// nonsense each give a clear error, and the running service keeps running
// with its configuration.
func TestSupBadInputKeepsServicesRunning(t *testing.T) {
	e := newSupEnv(t)
	e.build(fixtureDir("service"))
	e.build(fixtureDir("service-client"))
	port := freeLoopbackPort(t)
	e.userTOML("service", fmt.Sprintf("port = %d\n", port))
	// The service's templates come from a copy, to break one later.
	from := filepath.Join(e.dir, "config-from")
	copyTree(t, fixtureDir("service"), from)
	s := e.startSup("habtest/service", "--config-from", from)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	supWaitFor(t, "the service", func() bool { return httpBody(t, url) == "hello from the service\n" })
	pid := s.pid("service")
	missing := filepath.Join(e.dir, "no-such-file")
	big := filepath.Join(e.dir, "too-big")
	if err := os.WriteFile(big, bytes.Repeat([]byte("#\n"), 33<<10), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"svc", "load", "habtest/no-such-package"}, "install habtest/no-such-package: artifact not found"},
		{[]string{"svc", "load", "not an ident!"}, "not an ident!"},
		{[]string{"svc", "load", "habtest/service-client", "--bind", "backend"}, `invalid bind "backend"`},
		{[]string{"svc", "load", "habtest/service-client", "--bind", "other:service.default"}, `does not declare a bind named "other"`},
		{[]string{"svc", "load", "habtest/service-client"}, "missing required bind(s) for habtest/service-client"},
		{[]string{"svc", "unload", "habtest/service-client"}, "Service not loaded, habtest/service-client"},
		{[]string{"config", "apply", "service", "1"}, `invalid service group "service"`},
		{[]string{"config", "apply", "service.default", "one"}, `invalid version "one"`},
		{[]string{"config", "apply", "service.default", "1", missing}, "read " + missing},
		{[]string{"config", "apply", "service.default", "1", big}, "Configuration too large"},
		{[]string{"file", "upload", "service", "1", missing}, `invalid service group "service"`},
		{[]string{"file", "upload", "service.default", "1.0", missing}, `invalid version "1.0"`},
		{[]string{"file", "upload", "service.default", "1", missing}, "read " + missing},
		{[]string{"file", "upload", "service.default", "1", big}, "File too large"},
	} {
		code, out, errs := s.hab("x = 1\n", tt.args...)
		if code == 0 || !strings.Contains(out+errs, tt.want) {
			t.Errorf("hab %v: exit %d, want an error with %q\n%s%s", tt.args, code, tt.want, out, errs)
		}
	}
	if _, err := os.Stat(filepath.Join(e.root, "hab", "sup", "default", "specs", "service-client.spec")); err == nil {
		t.Error("a refused load wrote a spec")
	}

	// Invalid user.toml: named, and the configuration stays.
	e.userTOML("service", fmt.Sprintf("port = %d\nmessage = \n", port))
	s.waitOutput("service/config/user.toml is not valid TOML, keeping the previous configuration")

	// A template error names the file and line; the configuration stays.
	os.WriteFile(filepath.Join(from, "config", "service.conf"), []byte("listen = \"{{cfg.listen.host}}:{{cfg.port}}\"\nmessage = \"{{#if cfg.message}}\"\n"), 0o644)
	e.userTOML("service", fmt.Sprintf("port = %d\nmessage = \"new\"\n", port))
	s.waitOutput("config/service.conf")
	s.waitOutput("the previous configuration stays in place")
	out := s.output()
	i := strings.LastIndex(out, "config/service.conf")
	if line := out[i:]; !strings.Contains(line[:strings.IndexByte(line, '\n')], ":2") {
		t.Errorf("the template error does not name line 2: %s", line[:strings.IndexByte(line, '\n')])
	}
	conf, _ := os.ReadFile(filepath.Join(e.root, "hab", "svc", "service", "config", "service.conf"))
	if !strings.Contains(string(conf), `message = "hello from the service"`) {
		t.Errorf("rendered config changed after the template error:\n%s", conf)
	}

	// A spec file edited into nonsense: named, and nothing stops.
	os.WriteFile(filepath.Join(e.root, "hab", "sup", "default", "specs", "service.spec"), []byte("ident = ]] nonsense"), 0o644)
	s.waitOutput("specs/service.spec:1:")
	os.WriteFile(filepath.Join(e.root, "hab", "sup", "default", "specs", "junk.spec"), []byte("ident = 'habtest/junk'\ntopology = 'ring'\n"), 0o644)
	s.waitOutput(`topology: "ring" is not one of standalone, leader`)

	if got := httpBody(t, url); got != "hello from the service\n" {
		t.Errorf("the service answers %q after the bad input", got)
	}
	if now := s.pid("service"); now != pid {
		t.Errorf("the service restarted: pid %d, then %d", pid, now)
	}
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSupRestartsAndTimeouts: a service that crashes in a loop is
// restarted with backoff and never takes the supervisor down; a hook that
// hangs is killed at its timeout; the whole process tree of a service,
// grandchildren that left its process group included, ends with it.
func TestSupRestartsAndTimeouts(t *testing.T) {
	e := newSupEnv(t)
	e.build(e.plan("crasher", map[string]string{
		"plan.sh":   rootPlan("crasher"),
		"hooks/run": "#!/bin/sh\necho \"crash at $(date +%s.%N)\"\nexit 3\n",
	}))
	e.buildService("hanger", map[string]string{
		"hooks/init": "#!/bin/sh\necho hanging\nexec sleep 100000\n",
	})
	e.build(e.plan("spawner", map[string]string{
		"plan.sh": rootPlan("spawner"),
		// Children and grandchildren, one in a session of its own, all
		// named by a path under FS_ROOT so the test can find them.
		"hooks/run": "#!/bin/sh\nln -sf \"$(command -v sleep)\" {{pkg.svc_var_path}}/sleeper\n" +
			"{{pkg.svc_var_path}}/sleeper 100001 &\n" +
			"sh -c '{{pkg.svc_var_path}}/sleeper 100002 & wait' &\n" +
			"setsid {{pkg.svc_var_path}}/sleeper 100003 &\n" +
			"echo spawned\nexec {{pkg.svc_var_path}}/sleeper 100000\n",
	}))
	s := e.startSup("--service-min-backoff-period", "1", "--service-max-backoff-period", "8", "--hook-timeout", "1")

	s.mustHab("", "svc", "load", "habtest/crasher")
	s.mustHab("", "svc", "load", "habtest/hanger")
	s.mustHab("", "svc", "load", "habtest/spawner")

	s.waitOutput("hanger.default hook[init]:(HK): hanging")
	s.waitOutput("init hook killed after its timeout of 1s")
	s.waitOutput("hanger.default(SV): Initialization failed!")

	supWaitFor(t, "four crashes", func() bool { return strings.Count(s.output(), "crasher.default(O): crash at") >= 4 })
	var times []float64
	for _, line := range strings.Split(s.output(), "\n") {
		if _, v, ok := strings.Cut(line, "crasher.default(O): crash at "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			times = append(times, f)
		}
	}
	for i := 1; i < len(times); i++ {
		if gap := times[i] - times[i-1]; gap < 0.9 {
			t.Errorf("restart %d came %.2fs after the crash before it, under the 1s minimum backoff", i, gap)
		}
	}
	var st map[string]any
	s.getJSON("/services/crasher/default", &st)
	if n, _ := st["restart_count"].(float64); n < 3 {
		t.Errorf("restart_count = %v", st["restart_count"])
	}
	if s.exited() {
		t.Fatal("the crash loop took the supervisor down")
	}

	s.waitOutput("spawner.default(O): spawned")
	supWaitFor(t, "the spawner's processes", func() bool { return len(processesIn(filepath.Join(e.root, "hab", "svc", "spawner"))) >= 4 })
	s.mustHab("", "svc", "unload", "habtest/spawner")
	if left := processesIn(filepath.Join(e.root, "hab", "svc", "spawner")); len(left) > 0 {
		t.Errorf("unload left processes of the service: %v", left)
	}
	s.mustHab("", "sup", "term")
	<-s.done
	if left := processesIn(e.root); len(left) > 0 {
		t.Errorf("term left processes: %v", left)
	}
}

// TestSupBindsAndLayers: configuration applied before any member runs is
// used when one starts; user.toml and applied configuration reach the
// running service; a strict bind waits for its group, a relaxed one does not;
// a producer's configuration change reaches its consumer; the service
// directories have the original's modes.
func TestSupBindsAndLayers(t *testing.T) {
	e := newSupEnv(t)
	e.build(fixtureDir("service"))
	e.build(fixtureDir("service-client"))
	port := freeLoopbackPort(t)
	e.userTOML("service", fmt.Sprintf("port = %d\nmessage = \"first\"\n", port))
	s := e.startSup()
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)

	// Applied to a group that has no member yet.
	s.mustHab("[unused]\nkey = 1\n", "config", "apply", "service.default", "5")
	// A strict consumer waits for its group; a relaxed one starts.
	s.mustHab("", "svc", "load", "habtest/service-client", "--bind", "backend:service.default")
	s.waitOutput("service-client.default(SV): Waiting for the service groups of its binds to be present (strict binding mode): backend=service.default")
	if s.pid("service-client") != 0 {
		t.Error("the strict consumer started before its bind was satisfied")
	}
	s.mustHab("", "svc", "load", "habtest/service")
	supWaitFor(t, "the service", func() bool { return httpBody(t, url) == "first\n" })
	s.waitOutput(fmt.Sprintf("service-client.default(O): client of 127.0.0.1:%d", port))
	var cfg map[string]any
	s.getJSON("/services/service/default/config", &cfg)
	if u, _ := cfg["unused"].(map[string]any); u["key"] != float64(1) {
		t.Errorf("configuration applied before the service ran is missing: %v", cfg)
	}

	// user.toml is watched.
	e.userTOML("service", fmt.Sprintf("port = %d\nmessage = \"from user.toml\"\n", port))
	supWaitFor(t, "the user.toml message", func() bool { return httpBody(t, url) == "from user.toml\n" })
	// Applied configuration goes over user.toml; a new port reaches the
	// bound client, which restarts with it (its run hook changed).
	port2 := freeLoopbackPort(t)
	s.mustHab(fmt.Sprintf("message = \"applied\"\nport = %d\n", port2), "config", "apply", "service.default", "6")
	s.waitOutput(fmt.Sprintf("service-client.default(O): client of 127.0.0.1:%d", port2))

	// The relaxed binding mode starts without the bound group.
	e.build(e.plan("lonely", map[string]string{
		"plan.sh":   "pkg_name=lonely\npkg_origin=habtest\npkg_version=0.1.0\npkg_svc_user=root\npkg_svc_group=root\npkg_binds=([peer]=\"port\")\ndo_build() { return 0; }\ndo_install() { return 0; }\n",
		"hooks/run": "#!/bin/sh\necho \"peer is [{{bind.peer.first.sys.ip}}]\"\nexec sleep 100000\n",
	}))
	s.mustHab("", "svc", "load", "habtest/lonely", "--bind", "peer:nobody.default", "--binding-mode", "relaxed")
	s.waitOutput("lonely.default(O): peer is []")

	// Directories, modes and the PID file.
	svcDir := filepath.Join(e.root, "hab", "svc", "service")
	for _, tt := range []struct {
		rel  string
		mode os.FileMode
	}{
		{".", 0o755}, {"hooks", 0o755}, {"logs", 0o755},
		{"config", 0o770}, {"config_install", 0o770}, {"data", 0o770}, {"files", 0o770}, {"static", 0o770}, {"var", 0o770},
		{"config/service.conf", 0o740}, {"hooks/init", 0o755}, {"hooks/reconfigure", 0o755}, {"run", 0o755}, {"PID", 0o644},
	} {
		fi, err := os.Stat(filepath.Join(svcDir, tt.rel))
		if err != nil {
			t.Errorf("%s: %v", tt.rel, err)
			continue
		}
		if fi.Mode().Perm() != tt.mode {
			t.Errorf("%s: mode %v, want %v", tt.rel, fi.Mode().Perm(), tt.mode)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(svcDir, "PID")); strings.TrimSpace(string(b)) != strconv.Itoa(s.pid("service")) {
		t.Errorf("PID file %q, running %d", b, s.pid("service"))
	}
}

// TestSupConfigLayers: the layers are default.toml < user.toml < applied
// configuration < the HAB_PKGNAME environment variable (the documentation's
// "most over-riding way"); each key is set in two adjacent layers (and
// those below) and the upper one's value is what the service gets, in the
// gateway's cfg and in its rendered file.
func TestSupConfigLayers(t *testing.T) {
	e := newSupEnv(t)
	e.buildService("layered", map[string]string{
		"default.toml":       "only = \"default\"\na = \"default\"\nb = \"default\"\nc = \"default\"\n",
		"config/layers.conf": "only={{cfg.only}} a={{cfg.a}} b={{cfg.b}} c={{cfg.c}}\n",
	})
	// a: default < user.toml; b: user.toml < applied; c: applied < environment.
	e.userTOML("layered", "a = \"user\"\nb = \"user\"\nc = \"user\"\n")
	e.env["HAB_LAYERED"] = `c = "environment"`
	s := e.startSup()
	s.mustHab("b = \"applied\"\nc = \"applied\"\n", "config", "apply", "layered.default", "1")
	s.mustHab("", "svc", "load", "habtest/layered")
	want := "only=default a=user b=applied c=environment\n"
	conf := filepath.Join(e.root, "hab", "svc", "layered", "config", "layers.conf")
	supWaitFor(t, "the rendered layers", func() bool { b, _ := os.ReadFile(conf); return string(b) == want })
	// The gateway shows the merged configuration once the service has
	// taken it, which may be a moment after the file is written.
	wantCfg := map[string]string{"only": "default", "a": "user", "b": "applied", "c": "environment"}
	var cfg map[string]any
	cfgIs := func() bool {
		cfg = nil
		s.getJSON("/services/layered/default/config", &cfg)
		for k, v := range wantCfg {
			if cfg[k] != v {
				return false
			}
		}
		return true
	}
	supWaitFor(t, fmt.Sprintf("the gateway's cfg to hold %v", wantCfg), cfgIs)
	// A later change of a lower layer does not go over an upper one.
	e.userTOML("layered", "a = \"user 2\"\nb = \"user 2\"\nc = \"user 2\"\n")
	want = "only=default a=user 2 b=applied c=environment\n"
	supWaitFor(t, "the rendered layers after user.toml changed", func() bool { b, _ := os.ReadFile(conf); return string(b) == want })
	// Applied configuration replaces the one before: b falls back to
	// user.toml, c stays the environment's.
	s.mustHab("c = \"applied 2\"\n", "config", "apply", "layered.default", "2")
	want = "only=default a=user 2 b=user 2 c=environment\n"
	supWaitFor(t, "the rendered layers after a second apply", func() bool { b, _ := os.ReadFile(conf); return string(b) == want })
}

// TestSupCompositeAndStart: hab start runs a supervisor when none runs;
// a composite loads its services with its bind map, and unload acts on
// all of them.
func TestSupCompositeAndStart(t *testing.T) {
	e := newSupEnv(t)
	e.build(fixtureDir("service"))
	e.build(fixtureDir("service-client"))
	e.build(fixtureDir("composite"))
	port := freeLoopbackPort(t)
	e.userTOML("service", fmt.Sprintf("port = %d\n", port))
	s := e.startSupWith("start", "habtest/composite")
	s.waitOutput("service-client.default(O): backend says: hello from the service")
	status := s.mustHab("", "svc", "status", "habtest/composite")
	if rows := readStatusTable(t, status); len(rows) != 2 || rows[0].State != "up" || rows[1].State != "up" {
		t.Errorf("composite status:\n%s", status)
	}
	spec, _ := os.ReadFile(filepath.Join(e.root, "hab", "sup", "default", "specs", "service-client.spec"))
	if !strings.Contains(string(spec), "binds = ['backend:service.default']") || !strings.Contains(string(spec), "composite = 'habtest/composite'") {
		t.Errorf("client spec:\n%s", spec)
	}
	// hab start with a supervisor running starts a loaded service, and
	// loads another.
	if out := s.mustHab("", "start", "habtest/service-client"); !strings.Contains(out, "is already started") {
		t.Errorf("hab start of a running service: %s", out)
	}
	e.build(e.plan("extra", map[string]string{
		"plan.sh":   rootPlan("extra"),
		"hooks/run": "#!/bin/sh\necho extra runs\nexec sleep 100000\n",
	}))
	if out := s.mustHab("", "start", "habtest/extra"); !strings.Contains(out, "The habtest/extra service was successfully loaded") {
		t.Errorf("hab start of a new service: %s", out)
	}
	s.waitOutput("extra.default(O): extra runs")
	s.mustHab("", "svc", "unload", "habtest/extra")
	s.mustHab("", "svc", "unload", "habtest/composite")
	if left := processesIn(filepath.Join(e.root, "hab", "svc")); len(left) > 0 {
		t.Errorf("processes left after unloading the composite: %v", left)
	}
	if out := s.mustHab("", "svc", "status"); !strings.Contains(out, "No services loaded.") {
		t.Errorf("status after unload: %s", out)
	}
}

// TestSupSupStart: hab sup start (the older CLI's spelling, used in a
// studio) behaves as hab start: with no supervisor it runs one with the
// package; with one running it loads another package into it, and starts
// a stopped one.
func TestSupSupStart(t *testing.T) {
	e := newSupEnv(t)
	for _, name := range []string{"first", "second"} {
		e.build(e.plan(name, map[string]string{
			"plan.sh":   rootPlan(name),
			"hooks/run": "#!/bin/sh\necho " + name + " runs\nexec sleep 100000\n",
		}))
	}
	s := e.startSupWith("sup", "start", "habtest/first")
	s.waitOutput("first.default(O): first runs")
	if out := s.mustHab("", "sup", "start", "habtest/second"); !strings.Contains(out, "The habtest/second service was successfully loaded") {
		t.Errorf("hab sup start of a new service: %s", out)
	}
	s.waitOutput("second.default(O): second runs")
	s.mustHab("", "svc", "stop", "habtest/second")
	supWaitFor(t, "second stopped", func() bool { return s.pid("second") == 0 })
	s.mustHab("", "sup", "start", "habtest/second")
	supWaitFor(t, "second started again", func() bool { return s.pid("second") != 0 })
	if code, out, errs := s.hab("", "sup", "start"); code == 0 || !strings.Contains(out+errs, "accepts 1 arg") {
		t.Errorf("hab sup start without an ident: exit %d\n%s%s", code, out, errs)
	}
}

// TestSupSuitability: the suitability hook runs once the service is
// initialized and again when a render changes it; the last line of its
// output is the suitability; a hook that fails or answers something other
// than an unsigned integer gives 0, the original's default, and says why.
func TestSupSuitability(t *testing.T) {
	e := newSupEnv(t)
	e.buildService("suited", map[string]string{
		"default.toml":      "suit = \"7\"\ncode = 0\n",
		"hooks/suitability": "#!/bin/sh\necho checking\necho '{{cfg.suit}}'\nexit {{cfg.code}}\n",
	})
	s := e.startSup()
	s.mustHab("", "svc", "load", "habtest/suited")
	s.waitOutput("suited.default hook[suitability]:(HK): checking")
	s.waitOutput("suited.default(SV): Suitability is 7\n")
	for i, tt := range []struct{ cfg, want string }{
		{"suit = \"nonsense\"\n", `suited.default(SV): Suitability is 0: the last line of the suitability hook's output, "nonsense", is not an unsigned 64-bit integer`},
		{"suit = \"9\"\ncode = 3\n", "suited.default(SV): Suitability is 0: the suitability hook exited 3"},
		{"suit = \"-1\"\n", `suited.default(SV): Suitability is 0: the last line of the suitability hook's output, "-1", is not an unsigned 64-bit integer`},
		{"suit = \"18446744073709551615\"\n", "suited.default(SV): Suitability is 18446744073709551615\n"},
	} {
		s.mustHab(tt.cfg, "config", "apply", "suited.default", strconv.Itoa(i+1))
		s.waitOutput(tt.want)
	}
}

// TestSupUpdateShowSecretShell: hab svc update changes a loaded service's
// options in its spec (only the flags given) and the running service
// restarts with them; bad updates change nothing; hab config show prints
// the package's default.toml; hab sup secret generate prints a fresh
// secret; hab sup sh runs a shell with its arguments and exit code.
func TestSupUpdateShowSecretShell(t *testing.T) {
	e := newSupEnv(t)
	e.buildService("tuned", map[string]string{
		"default.toml": "# the defaults\nport = 8080\n",
	})
	s := e.startSup()
	s.mustHab("", "svc", "load", "habtest/tuned", "--channel", "unstable")
	supWaitFor(t, "tuned up", func() bool { return s.pid("tuned") != 0 })
	first := s.pid("tuned")
	specFile := filepath.Join(e.root, "hab", "sup", "default", "specs", "tuned.spec")

	if out := s.mustHab("", "config", "show", "habtest/tuned"); out != "# the defaults\nport = 8080\n" {
		t.Errorf("config show: %q", out)
	}
	if code, out, errs := s.hab("", "config", "show", "habtest/nothere"); code == 0 || !strings.Contains(out+errs, "Service not loaded, habtest/nothere") {
		t.Errorf("config show of an unloaded service: exit %d %s%s", code, out, errs)
	}

	s.mustHab("", "svc", "update", "habtest/tuned", "-i", "7", "--shutdown-timeout", "3")
	b, _ := os.ReadFile(specFile)
	for _, want := range []string{"[health_check_interval]\nsecs = 7\n", "shutdown_timeout = 3", "channel = 'unstable'", "group = 'default'"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("spec after update lacks %q:\n%s", want, b)
		}
	}
	supWaitFor(t, "tuned restarted with its new options", func() bool { p := s.pid("tuned"); return p != 0 && p != first })
	if sv := s.service("tuned"); sv == nil || fmt.Sprint(sv["health_check_interval"]) != "map[nanos:0 secs:7]" {
		t.Errorf("service after update: %v", sv["health_check_interval"])
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"svc", "update", "habtest/tuned"}, "no options to update"},
		{[]string{"svc", "update", "habtest/tuned", "--topology", "sideways"}, "sideways"},
		{[]string{"svc", "update", "habtest/nothere", "--channel", "x"}, "Service not loaded, habtest/nothere"},
	} {
		code, out, errs := s.hab("", tt.args...)
		if code == 0 || !strings.Contains(out+errs, tt.want) {
			t.Errorf("hab %s: exit %d, want an error with %q:\n%s%s", strings.Join(tt.args, " "), code, tt.want, out, errs)
		}
	}
	if b2, _ := os.ReadFile(specFile); string(b2) != string(b) {
		t.Errorf("a refused update changed the spec:\n%s", b2)
	}

	secrets := map[string]bool{}
	for range 2 {
		out := strings.TrimSpace(s.mustHab("", "sup", "secret", "generate"))
		if raw, err := base64.StdEncoding.DecodeString(out); err != nil || len(raw) != 64 {
			t.Errorf("secret %q: %v, %d bytes", out, err, len(raw))
		}
		secrets[out] = true
	}
	if len(secrets) != 2 {
		t.Error("two secrets are the same")
	}

	if code, out, _ := s.hab("", "sup", "sh", "-c", "echo shell says $0; exit 3", "hi"); code != 3 || out != "shell says hi\n" {
		t.Errorf("hab sup sh: exit %d, %q", code, out)
	}

	// svc update's --bind takes the words after it, and bare means no
	// binds, as the original's (num_args 0..).
	s.mustHab("", "svc", "update", "habtest/tuned", "--binding-mode", "relaxed", "--bind", "a:x.default", "b:y.default")
	if b, _ := os.ReadFile(specFile); !strings.Contains(string(b), "binds = ['a:x.default', 'b:y.default']") {
		t.Errorf("spec after --bind with two words:\n%s", b)
	}
	s.mustHab("", "svc", "update", "habtest/tuned", "--bind")
	if b, _ := os.ReadFile(specFile); !strings.Contains(string(b), "binds = []") {
		t.Errorf("spec after a bare --bind:\n%s", b)
	}
}

// TestSupRunHart: hab sup run with a hart installs it first; a second
// supervisor on the same root is refused.
func TestSupRunHart(t *testing.T) {
	e := newSupEnv(t)
	hart := e.build(fixtureDir("service"))
	// Only the hart and the key cache are left (the package's run script
	// names the root it was built for, so the root stays).
	if err := os.RemoveAll(filepath.Join(e.root, "hab")); err != nil {
		t.Fatal(err)
	}
	port := freeLoopbackPort(t)
	e.userTOML("service", fmt.Sprintf("port = %d\n", port))
	// The hart's signing key is found through --cache-key-path only.
	delete(e.env, "HAB_CACHE_KEY_PATH")
	s := e.startSup(hart, "--cache-key-path", e.keys, "--no-color")
	supWaitFor(t, "the service from the hart", func() bool {
		return httpBody(t, fmt.Sprintf("http://127.0.0.1:%d/", port)) == "hello from the service\n"
	})
	second := exec.Command(e.bin, "sup", "run", "--listen-ctl", fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(t)), "--listen-http", fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(t)))
	second.Env = append(os.Environ(), "FS_ROOT="+e.root, "HAB_CACHE_KEY_PATH="+e.keys)
	out, err := second.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "another supervisor is running (PID "+strconv.Itoa(s.cmd.Process.Pid)) {
		t.Errorf("second supervisor: %v\n%s", err, out)
	}
}

// TestSupHooks: health-check exit codes 0/1/2/3 and a hung health check
// give the /health status and HTTP code of the original; post-run,
// file-updated and post-stop run when they should.
func TestSupHooks(t *testing.T) {
	e := newSupEnv(t)
	e.buildService("hooked", map[string]string{
		"hooks/health-check": "#!/bin/sh\nc=$(cat {{pkg.svc_var_path}}/code 2>/dev/null || echo 0)\n[ \"$c\" = hang ] && exec sleep 100000\necho \"health $c\"\nexit $c\n",
		"hooks/post-run":     "#!/bin/sh\necho post-run ran\n",
		"hooks/file-updated": "#!/bin/sh\necho \"file updated: $(cat {{pkg.svc_files_path}}/note.txt)\"\n",
		"hooks/post-stop":    "#!/bin/sh\necho post-stop ran\n",
	})
	s := e.startSup()
	s.mustHab("", "svc", "load", "habtest/hooked", "--health-check-interval", "1")
	s.waitOutput("hooked.default hook[post-run]:(HK): post-run ran")
	codeFile := filepath.Join(e.root, "hab", "svc", "hooked", "var", "code")
	for _, tt := range []struct {
		code   string
		status string
		http   int
	}{
		{"0", "OK", 200}, {"1", "WARNING", 200}, {"2", "CRITICAL", 503}, {"3", "UNKNOWN", 500}, {"7", "UNKNOWN", 500}, {"hang", "UNKNOWN", 500}, {"0", "OK", 200},
	} {
		if err := os.WriteFile(codeFile, []byte(tt.code), 0o644); err != nil {
			t.Fatal(err)
		}
		var h map[string]any
		supWaitFor(t, "health "+tt.status+" for exit "+tt.code, func() bool {
			h = nil
			code := s.getJSON("/services/hooked/default/health", &h)
			return code == tt.http && h["status"] == tt.status && (tt.code == "hang" || strings.Contains(fmt.Sprint(h["stdout"]), "health "+tt.code))
		})
	}
	note := filepath.Join(e.dir, "note.txt")
	os.WriteFile(note, []byte("hello"), 0o644)
	s.mustHab("", "file", "upload", "hooked.default", "1", note)
	s.waitOutput("hooked.default hook[file-updated]:(HK): file updated: hello")
	s.mustHab("", "svc", "unload", "habtest/hooked")
	s.waitOutput("hooked.default hook[post-stop]:(HK): post-stop ran")
}

// TestSupServiceUser: as root, the run hook runs as the package's
// SVC_USER and SVC_GROUP, which own the service's own directories; a user
// the package names that does not exist stops the service with an error
// saying so.
func TestSupServiceUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching to the service's user needs root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	if _, err := user.LookupGroup("nogroup"); err != nil {
		t.Skip("no group nogroup")
	}
	e := newSupEnv(t)
	// The service's user must be able to reach its files.
	for d := e.dir; d != filepath.Dir(d) && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	e.build(e.plan("asnobody", map[string]string{
		"plan.sh":   "pkg_name=asnobody\npkg_origin=habtest\npkg_version=0.1.0\npkg_svc_user=nobody\npkg_svc_group=nogroup\ndo_build() { return 0; }\ndo_install() { return 0; }\n",
		"hooks/run": "#!/bin/sh\necho \"running as $(id -u):$(id -g)\"\nexec sleep 100000\n",
	}))
	e.build(e.plan("ghost", map[string]string{
		"plan.sh":   "pkg_name=ghost\npkg_origin=habtest\npkg_version=0.1.0\npkg_svc_user=no-such-user-here\npkg_svc_group=nogroup\ndo_build() { return 0; }\ndo_install() { return 0; }\n",
		"hooks/run": "#!/bin/sh\nexec sleep 100000\n",
	}))
	s := e.startSup()
	s.mustHab("", "svc", "load", "habtest/asnobody")
	grp, _ := user.LookupGroup("nogroup")
	s.waitOutput(fmt.Sprintf("asnobody.default(O): running as %s:%s", nobody.Uid, grp.Gid))
	fi, err := os.Stat(filepath.Join(e.root, "hab", "svc", "asnobody", "data"))
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); strconv.Itoa(int(st.Uid)) != nobody.Uid || strconv.Itoa(int(st.Gid)) != grp.Gid {
		t.Errorf("data owned by %d:%d", st.Uid, st.Gid)
	}
	s.mustHab("", "svc", "load", "habtest/ghost")
	s.waitOutput(`the package's SVC_USER "no-such-user-here" does not exist on this machine`)
}
