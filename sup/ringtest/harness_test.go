package ringtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
	"github.com/habgo/hab/sup/census"
)

// fixtures is what every test's supervisors share: the hab binary, a key
// cache with the fixtures' signing key, and the fixtures' harts.
type fixtures struct {
	bin   string
	keys  string
	harts map[string]string // by package name
}

var (
	fixOnce sync.Once
	fix     fixtures
	fixErr  error
	fixDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fixDir != "" {
		os.RemoveAll(fixDir)
	}
	os.Exit(code)
}

// The service the tests run: it renders what the ring tells it (its
// applied configuration, its leader, its group's members and a bound
// group's port) into config/settings.txt, exports its port, and sleeps.
var plans = map[string]map[string]string{
	"ringsvc": {
		"plan.sh": `pkg_name=ringsvc
pkg_origin=habtest
pkg_version=0.1.0
pkg_license=('Apache-2.0')
pkg_exports=(
  [port]=port
)
pkg_binds_optional=(
  [backend]="port"
)
do_build() { return 0; }
do_install() { return 0; }
`,
		"default.toml": "port = 1000\nmessage = \"default\"\n",
		"config/settings.txt": `port={{cfg.port}}
message={{cfg.message}}
leader={{svc.me.leader}}
follower={{svc.me.follower}}
svc_leader={{#if svc.leader}}{{svc.leader.member_id}}{{/if}}
backend_port={{#if bind.backend}}{{bind.backend.first.cfg.port}}{{/if}}
alive={{#eachAlive svc.members}}{{member_id}},{{/eachAlive}}
`,
		"hooks/run": "#!/bin/sh\nexec sleep 1000000\n",
	},
}

func loadFixtures(t *testing.T) fixtures {
	t.Helper()
	fixOnce.Do(func() {
		fixDir, fixErr = os.MkdirTemp("", "hab-ringtest-")
		if fixErr != nil {
			return
		}
		fix.keys = filepath.Join(fixDir, "keys")
		if fixErr = os.MkdirAll(fix.keys, 0o755); fixErr != nil {
			return
		}
		if fix.bin, fixErr = habbin.Build(fixDir); fixErr != nil {
			return
		}
		keys := crypto.Cache{Dir: fix.keys}
		if _, _, fixErr = keys.NewSigningPair("habtest", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); fixErr != nil {
			return
		}
		fix.harts = map[string]string{}
		for name, files := range plans {
			dir := filepath.Join(fixDir, "plans", name)
			for rel, content := range files {
				p := filepath.Join(dir, rel)
				if fixErr = os.MkdirAll(filepath.Dir(p), 0o755); fixErr != nil {
					return
				}
				mode := os.FileMode(0o644)
				if strings.HasPrefix(rel, "hooks/") {
					mode = 0o755
				}
				if fixErr = os.WriteFile(p, []byte(content), mode); fixErr != nil {
					return
				}
			}
			var out bytes.Buffer
			res, err := builder.Build(context.Background(), dir, builder.Options{
				Root: paths.At(filepath.Join(fixDir, "build")), Env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + fixDir, "TERM=dumb"},
				Release: "20260101000000", WorkDir: fixDir, Keys: keys, Output: &out,
			})
			if err != nil {
				fixErr = fmt.Errorf("build %s: %v\n%s", name, err, out.String())
				return
			}
			fix.harts[name] = res.Artifact
		}
	})
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return fix
}

// ring is one test's supervisors.
type ring struct {
	t      *testing.T
	fix    fixtures
	dir    string
	secret string // the control gateway secret they share

	mu      sync.Mutex
	members []*member
}

func newRing(t *testing.T) *ring {
	t.Helper()
	r := &ring{t: t, fix: loadFixtures(t), dir: t.TempDir(), secret: "ring-test-secret-" + strings.ReplaceAll(t.Name(), "/", "-")}
	// Every supervisor is asked to stop at once, then awaited: each
	// stops its services and leaves the ring.
	t.Cleanup(func() {
		r.mu.Lock()
		ms := r.members
		r.mu.Unlock()
		began := time.Now()
		defer func() { t.Logf("%d supervisors stopped in %s", len(ms), time.Since(began).Round(time.Millisecond)) }()
		for _, m := range ms {
			if !m.exited() {
				m.cmd.Process.Signal(syscall.SIGTERM)
			}
		}
		for _, m := range ms {
			<-m.done
			if t.Failed() {
				t.Logf("%s (%s) output:\n%s", m.name, m.id, m.output())
			}
		}
	})
	return r
}

// userAndServiceKeys makes two key caches under the ring's directory for
// the original's user and service-group encryption cases: full holds
// user's box pair and group's (members that open what user sealed for
// group), lacking only group's secret key (a member without the user's
// public key).
func (r *ring) userAndServiceKeys(user, group string) (full, lacking crypto.Cache) {
	r.t.Helper()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	full = crypto.Cache{Dir: filepath.Join(r.dir, "keys-full")}
	if _, _, err := full.NewBoxPair(user, now); err != nil {
		r.t.Fatal(err)
	}
	_, svcSec, err := full.NewBoxPair(group, now)
	if err != nil {
		r.t.Fatal(err)
	}
	lacking = crypto.Cache{Dir: filepath.Join(r.dir, "keys-lacking")}
	if _, err := lacking.Import(svcSec.KeyFile()); err != nil {
		r.t.Fatal(err)
	}
	return full, lacking
}

// member is one `hab sup run` process.
type member struct {
	r                     *ring
	name                  string
	root                  string
	ip                    string
	ctl, http, gossip, id string
	cmd                   *exec.Cmd
	done                  chan struct{}
	log                   string // the process's output
}

// opts are a member's settings: its loopback address (127.0.0.1 when
// empty), more sup run arguments, more environment.
type opts struct {
	ip     string
	args   []string
	env    []string
	noRing bool // no gossip listener (--listen-gossip ""): a supervisor without a ring
}

func freePort(t *testing.T, ip string) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

var (
	gossipRE = regexp.MustCompile(`Starting gossip-listener on (\S+)`)
	idRE     = regexp.MustCompile(`Supervisor Member-ID ([0-9a-f]+)`)
)

// start runs a supervisor named name in a root of its own, with the
// fixtures installed, and waits for its gossip listener (its HTTP
// gateway without a ring).
func (r *ring) start(name string, o opts) *member {
	r.t.Helper()
	if o.ip == "" {
		o.ip = "127.0.0.1"
	}
	m := &member{r: r, name: name, root: filepath.Join(r.dir, name), ip: o.ip, done: make(chan struct{})}
	began := time.Now()
	defer func() { r.t.Logf("%s started in %s", name, time.Since(began).Round(time.Millisecond)) }()
	if _, err := os.Stat(m.root); os.IsNotExist(err) {
		if err := os.MkdirAll(m.root, 0o755); err != nil {
			r.t.Fatal(err)
		}
		for pkg, hart := range r.fix.harts {
			if code, out := m.hab("", "pkg", "install", hart); code != 0 {
				r.t.Fatalf("%s: install %s: exit %d\n%s", name, pkg, code, out)
			}
		}
	}
	m.ctl = fmt.Sprintf("127.0.0.1:%d", freePort(r.t, "127.0.0.1"))
	m.http = fmt.Sprintf("127.0.0.1:%d", freePort(r.t, "127.0.0.1"))
	args := append([]string{"sup", "run", "--listen-ctl", m.ctl, "--listen-http", m.http, "--sys-ip-address", o.ip}, o.args...)
	if o.noRing {
		args = append(args, "--listen-gossip", "")
	} else if !contains(o.args, "--listen-gossip") {
		args = append(args, "--listen-gossip", net.JoinHostPort(o.ip, "0"))
	}
	m.cmd = exec.Command(r.fix.bin, args...)
	m.cmd.Env = append(m.env(), o.env...)
	out, err := os.CreateTemp(r.dir, name+"-*.log")
	if err != nil {
		r.t.Fatal(err)
	}
	m.log = out.Name()
	m.cmd.Stdout, m.cmd.Stderr = out, out
	err = m.cmd.Start()
	out.Close()
	if err != nil {
		r.t.Fatal(err)
	}
	go func() { m.cmd.Wait(); close(m.done) }()
	r.mu.Lock()
	r.members = append(r.members, m)
	r.mu.Unlock()
	if o.noRing {
		m.waitOutput("Starting http-gateway on")
	} else {
		m.waitOutput("Starting gossip-listener on")
		m.gossip = gossipRE.FindStringSubmatch(m.output())[1]
	}
	m.id = idRE.FindStringSubmatch(m.output())[1]
	return m
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func (m *member) env() []string {
	return append(os.Environ(), "FS_ROOT="+m.root, "HAB_CACHE_KEY_PATH="+m.r.fix.keys, "HOME="+filepath.Join(m.r.dir, "home"),
		"HAB_CTL_SECRET="+m.r.secret, "HAB_LICENSE=accept-no-persist")
}

// hab runs a hab command as this member's host would, and returns its
// exit code and output.
func (m *member) hab(stdin string, args ...string) (int, string) {
	return m.habEnv(nil, stdin, args...)
}

func (m *member) habEnv(env []string, stdin string, args ...string) (int, string) {
	cmd := exec.Command(m.r.fix.bin, args...)
	cmd.Env = append(m.env(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			m.r.t.Fatalf("hab %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return code, string(out)
}

// ctlHab runs a hab command against this member's control gateway and
// fails the test when it fails.
func (m *member) ctlHab(stdin string, args ...string) string {
	m.r.t.Helper()
	code, out := m.hab(stdin, append(args, "--remote-sup", m.ctl)...)
	if code != 0 {
		m.r.t.Fatalf("%s: hab %v: exit %d\n%s", m.name, args, code, out)
	}
	return out
}

func (m *member) load(args ...string) {
	m.r.t.Helper()
	m.ctlHab("", append([]string{"svc", "load"}, args...)...)
}

func (m *member) exited() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

// stop ends the supervisor as hab sup term does (SIGTERM), and waits.
func (m *member) stop() {
	m.r.t.Helper()
	if err := m.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		m.r.t.Fatal(err)
	}
	<-m.done
}

// kill ends the supervisor with SIGKILL, as a crash: it tells no one.
// Its services' processes are ended by the test's cleanup of their
// process groups.
func (m *member) kill() {
	m.r.t.Helper()
	if err := m.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		m.r.t.Fatal(err)
	}
	<-m.done
	m.r.t.Cleanup(func() { endServices(m.root) })
}

// endServices kills what a SIGKILLed supervisor's services left running
// (their PID files are in the service directories).
func endServices(root string) {
	pids, _ := filepath.Glob(filepath.Join(root, "hab", "svc", "*", "PID"))
	for _, p := range pids {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var pid int
		if _, err := fmt.Sscan(string(b), &pid); err == nil && pid > 1 {
			syscall.Kill(-pid, syscall.SIGKILL)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func (m *member) output() string {
	b, _ := os.ReadFile(m.log)
	return string(b)
}

func (m *member) waitOutput(want string) {
	m.r.t.Helper()
	waitFor(m.r.t, fmt.Sprintf("%q in %s's output", want, m.name), func() bool {
		if strings.Contains(m.output(), want) {
			return true
		}
		if m.exited() {
			m.r.t.Fatalf("%s exited waiting for %q:\n%s", m.name, want, m.output())
		}
		return false
	})
}

// getJSON decodes a document of the member's HTTP gateway; false when it
// cannot be had (the member is down).
func (m *member) getJSON(path string, v any) bool {
	resp, err := http.Get("http://" + m.http + path)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	return json.NewDecoder(resp.Body).Decode(v) == nil
}

func (m *member) census() census.Census {
	var c census.Census
	m.getJSON("/census", &c)
	return c
}

// health is every member's health as this member sees it.
func (m *member) health() map[string]string {
	var b struct {
		Member struct {
			Health map[string]string `json:"health"`
		} `json:"member"`
	}
	m.getJSON("/butterfly", &b)
	return b.Member.Health
}

// settings is what the member's ringsvc rendered into settings.txt, by
// key ("" when it has rendered nothing).
func (m *member) settings() map[string]string {
	b, err := os.ReadFile(filepath.Join(m.root, "hab", "svc", "ringsvc", "config", "settings.txt"))
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = v
		}
	}
	return out
}

// file is an uploaded file as ringsvc's files directory holds it ("" when
// it is not there).
func (m *member) file(name string) string {
	b, _ := os.ReadFile(filepath.Join(m.root, "hab", "svc", "ringsvc", "files", name))
	return string(b)
}

// leaderSeen is the leader of sg in this member's census ("" for none).
func (m *member) leaderSeen(sg string) string {
	g := m.census().CensusGroups[sg]
	if g == nil || g.LeaderID == nil {
		return ""
	}
	return *g.LeaderID
}

// waitFor polls cond until it holds; the bound is only so that a broken
// ring fails the test instead of hanging it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%s after %s", what, time.Since(start).Round(time.Millisecond))
}

func allAlive(ms ...*member) bool {
	for _, m := range ms {
		h := m.health()
		for _, o := range ms {
			if h[o.id] != "Alive" {
				return false
			}
		}
	}
	return true
}

// benchMembers skips t unless the environment variable gate is set (a
// benchmark, run by its bench/ script), and returns the member count that
// gate+"_MEMBERS" gives (5 when unset); a count that is no number above 0
// fails t naming the variable.
func benchMembers(t *testing.T, gate, script string) int {
	t.Helper()
	if os.Getenv(gate) == "" {
		t.Skipf("a benchmark: run %s (%s=1)", script, gate)
	}
	v := os.Getenv(gate + "_MEMBERS")
	if v == "" {
		return 5
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s_MEMBERS=%q: want a member count above 0", gate, v)
	}
	return n
}
