package main

import (
	"bufio"
	"context"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/core/pkgmeta"
	"github.com/habgo/hab/core/pkgs"
	"github.com/habgo/hab/studio"
	"github.com/habgo/hab/studio/chroot"
	"github.com/habgo/hab/studio/pkgbuild"
	"github.com/habgo/hab/studio/rootfs"
)

// pkgBuildEnv is studioTestEnv with a habtest signing key in the key cache
// and HAB_ORIGIN=habtest.
func pkgBuildEnv(t *testing.T, bin, src string) map[string]string {
	t.Helper()
	env := studioTestEnv(t, bin, src)
	env["HAB_ORIGIN"] = "habtest"
	if _, _, err := (crypto.Cache{Dir: env["HAB_CACHE_KEY_PATH"]}).NewSigningPair("habtest", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	return env
}

// copyFixtures copies the named fixture plans into a new source tree.
func copyFixtures(t *testing.T, names ...string) string {
	t.Helper()
	src := t.TempDir()
	for _, n := range names {
		out, err := exec.Command("cp", "-a", filepath.Join("..", "..", "fixtures", n), filepath.Join(src, n)).CombinedOutput()
		if err != nil {
			t.Fatalf("copy fixture %s: %v %s", n, err, out)
		}
	}
	return src
}

// mountsUnder lists the mount points of this process's namespace under
// dir.
func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	m, err := rootfs.MountsUnder(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPkgBuildCommandLine(t *testing.T) {
	src := copyFixtures(t, "greetdata")
	env := studioTestEnv(t, "", src)
	env["HAB_FEAT_NATIVE_PACKAGE_SUPPORT"] = ""

	code, stdout, _ := studioCLI(t, "", env, "pkg", "build", "--help")
	for _, flag := range []string{"-k, --keys", "-r, --root", "-s, --src", "--cache-key-path", "-N, --native-package", "-R, --reuse", "-D, --docker", "-f, --refresh-channel", "PLAN_CONTEXT"} {
		if code != 0 || !strings.Contains(stdout, flag) {
			t.Errorf("hab pkg build --help (%d) lacks %q:\n%s", code, flag, stdout)
		}
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		code int
		want string
	}{
		{"no plan context", []string{"pkg", "build"}, nil, exitUsage, "accepts 1 arg"},
		{"native with reuse", []string{"pkg", "build", "-N", "-R", "greetdata"}, nil, exitUsage, "--native-package conflicts with --reuse and --docker"},
		{"native with docker", []string{"pkg", "build", "-N", "-D", "greetdata"}, nil, exitUsage, "--native-package conflicts"},
		{"native without the feature", []string{"pkg", "build", "-N", "greetdata"}, nil, exitUsage, "HAB_FEAT_NATIVE_PACKAGE_SUPPORT"},
		{"missing origin key", []string{"pkg", "build", "-k", "nokeyorigin", "greetdata"}, nil, exitError, "secret origin key of nokeyorigin in " + env["HAB_CACHE_KEY_PATH"]},
		{"missing second origin key", []string{"pkg", "build", "-k", "habtest2,other", "greetdata"}, nil, exitError, "secret origin key of habtest2"},
		{"missing key in --cache-key-path", []string{"pkg", "build", "--cache-key-path", "/nonexistent/keys", "-k", "habtest", "greetdata"}, nil, exitError, "secret origin key of habtest in /nonexistent/keys"},
		{"missing plan context", []string{"pkg", "build", "nosuchplan"}, nil, exitUsage, "plan context nosuchplan"},
		{"plan context without a plan", []string{"pkg", "build", "."}, nil, exitUsage, "no plan.sh or habitat/plan.sh in it"},
		{"plan context outside the source", []string{"pkg", "build", "/etc"}, nil, exitUsage, "plan context /etc is outside the source path"},
		{"missing source path", []string{"pkg", "build", "-s", "/nonexistent/src", "greetdata"}, nil, exitUsage, "plan context greetdata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := map[string]string{}
			for k, v := range env {
				e[k] = v
			}
			for k, v := range tt.env {
				e[k] = v
			}
			code, _, stderr := studioCLI(t, "", e, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Errorf("hab %s: exit %d (want %d), stderr lacks %q:\n%s", strings.Join(tt.args, " "), code, tt.code, tt.want, stderr)
			}
			// Nothing was made: no studio, no results.
			for _, p := range []string{filepath.Join(e["FS_ROOT"], "hab", "studios"), filepath.Join(src, "results")} {
				if _, err := os.Stat(p); !os.IsNotExist(err) {
					t.Errorf("%s exists after a refused build", p)
				}
			}
		})
	}
	if os.Geteuid() != 0 {
		// Container studios need root; nothing is made before that is said.
		code, _, stderr := studioCLI(t, "", env, "pkg", "build", "-D", "greetdata")
		if code != exitStudioNotRoot || !strings.Contains(stderr, "requires root") {
			t.Errorf("hab pkg build -D as a user: exit %d, %s", code, stderr)
		}
		for _, p := range []string{filepath.Join(env["HOME"], ".hab"), filepath.Join(src, "results")} {
			if _, err := os.Stat(p); !os.IsNotExist(err) {
				t.Errorf("%s made by a refused hab pkg build -D", p)
			}
		}
	}
}

// TestPkgBuildFixtures builds every fixture plan with hab pkg build in both
// studio kinds, the dependencies coming from the shared artifact cache;
// the harts verify and install into a fresh root where hello runs; a
// broken build fails with its status and leaves no studio and no mount.
func TestPkgBuildFixtures(t *testing.T) {
	bin := needStudioRoot(t)
	kinds := []struct {
		name string
		args []string
	}{{"chroot", nil}, {"container", []string{"-D"}}}
	for _, kind := range kinds {
		t.Run(kind.name, func(t *testing.T) {
			if kind.name == "container" {
				if _, err := exec.LookPath("runc"); err != nil {
					t.Skip("runc is not installed: container studios cannot run")
				}
			}
			src := copyFixtures(t, "greetdata", "libgreet", "hello", "service", "sh", "wrapper", "broken-build")
			env := pkgBuildEnv(t, bin, src)
			// Files made in the source tree go to the user behind sudo.
			const uid, gid = 4321, 4322
			env["SUDO_UID"], env["SUDO_GID"] = strconv.Itoa(uid), strconv.Itoa(gid)
			if err := os.Chown(src, uid, gid); err != nil {
				t.Fatal(err)
			}
			studioRoot := filepath.Join(env["FS_ROOT"], "hab", "studios", rootfs.DirName(src))
			keys := crypto.Cache{Dir: env["HAB_CACHE_KEY_PATH"]}

			built := map[string]map[string]string{}
			for _, plan := range []string{"greetdata", "libgreet", "hello", "service", "sh", "wrapper"} {
				args := append([]string{"pkg", "build"}, kind.args...)
				code, stdout, stderr := studioCLI(t, "", env, append(args, plan)...)
				if code != 0 {
					t.Fatalf("hab pkg build %s: exit %d\n%s\n%s", plan, code, stdout, stderr)
				}
				lb, err := pkgbuild.ReadLastBuild(filepath.Join(src, "results", "last_build.env"))
				if err != nil {
					t.Fatal(err)
				}
				if lb["pkg_name"] != plan {
					t.Fatalf("last_build.env after building %s names %q", plan, lb["pkg_name"])
				}
				artifact := filepath.Join(src, "results", lb["pkg_artifact"])
				if !strings.Contains(stdout, "★ Built "+lb["pkg_ident"]+": "+artifact) {
					t.Errorf("hab pkg build %s said:\n%s", plan, stdout)
				}
				if _, err := hart.Verify(context.Background(), artifact, keys); err != nil {
					t.Errorf("verify %s: %v", artifact, err)
				}
				// The artifact cache the studio mounted holds it too.
				if _, err := os.Stat(filepath.Join(env["FS_ROOT"], "hab", "cache", "artifacts", lb["pkg_artifact"])); err != nil {
					t.Errorf("artifact cache: %v", err)
				}
				if _, err := os.Stat(studioRoot); !os.IsNotExist(err) {
					t.Errorf("studio %s left after building %s", studioRoot, plan)
				}
				lb["artifact"] = artifact
				built[plan] = lb
			}
			for _, p := range []string{filepath.Join(src, "results"), filepath.Join(src, "results", "last_build.env"), built["hello"]["artifact"], filepath.Join(src, "results", "logs")} {
				fi, err := os.Lstat(p)
				if err != nil {
					t.Fatal(err)
				}
				st := fi.Sys().(*syscall.Stat_t)
				if st.Uid != uid || st.Gid != gid {
					t.Errorf("%s belongs to %d:%d, want the sudo user %d:%d", p, st.Uid, st.Gid, uid, gid)
				}
			}

			// Install into a fresh root and run hello there: its binaries
			// name /hab/pkgs, so it runs in a studio over that root.
			fresh := filepath.Join(t.TempDir(), "fresh")
			runner, err := chroot.New(fresh)
			if err != nil {
				t.Fatal(err)
			}
			if err := runner.Create(context.Background()); err != nil {
				t.Fatal(err)
			}
			hello, err := ident.Parse(built["hello"]["pkg_ident"])
			if err != nil {
				t.Fatal(err)
			}
			in := &pkgs.Installer{Store: pkgs.New(paths.At(fresh), ident.Target(built["hello"]["pkg_target"])), Keys: keys, ArtifactCache: filepath.Join(fresh, "hab", "cache", "artifacts")}
			var harts []string
			for _, p := range []string{"hello", "libgreet", "greetdata", "service", "sh", "wrapper"} {
				harts = append(harts, built[p]["artifact"])
			}
			if _, err := in.InstallAll(context.Background(), harts); err != nil {
				t.Fatalf("install into %s: %v", fresh, err)
			}
			var out strings.Builder
			code, err := runner.Run(context.Background(), []string{pkgmeta.InstallPrefix(hello) + "/bin/hello"}, studio.Stdio{Stdout: &out, Stderr: &out})
			if err != nil || code != 0 || out.String() != "Hello from greetdata, through libgreet!\n" {
				t.Errorf("installed hello: %d %v %q", code, err, out.String())
			}
			if err := runner.Remove(context.Background()); err != nil {
				t.Error(err)
			}

			// A failing build: its status, no studio, no mount.
			args := append([]string{"pkg", "build"}, kind.args...)
			code, _, stderr := studioCLI(t, "", env, append(args, "broken-build")...)
			if code != 1 || !strings.Contains(stderr, "failed with status 1") {
				t.Errorf("broken-build: exit %d\n%s", code, stderr)
			}
			if _, err := os.Stat(studioRoot); !os.IsNotExist(err) {
				t.Errorf("studio %s left after a failed build", studioRoot)
			}
			if m := mountsUnder(t, env["FS_ROOT"]); len(m) > 0 {
				t.Errorf("mounts left: %v", m)
			}

			// -R keeps the studio, and builds in it again.
			for i := 0; i < 2; i++ {
				// Each build in the kept studio installs its release there.
				code, _, stderr = studioCLI(t, "", env, append(args, "-R", "--release", "2026010100000"+strconv.Itoa(i), "greetdata")...)
				if code != 0 {
					t.Fatalf("hab pkg build -R: %d %s", code, stderr)
				}
				if _, err := os.Stat(filepath.Join(studioRoot, rootfs.MarkerFile)); err != nil {
					t.Errorf("-R removed the studio: %v", err)
				}
			}
			if code, _, stderr := studioCLI(t, "", env, "studio", "rm"); code != 0 {
				t.Errorf("hab studio rm: %s", stderr)
			}
		})
	}
}

const sleeperPlan = `pkg_name=sleeper
pkg_origin=habtest
pkg_version=1.0.0
do_build() {
  echo "sleeping now"
  sleep 600601
}
do_install() { return 0; }
`

// TestPkgBuildSignal sends SIGINT and SIGTERM to a real hab pkg build
// whose build sleeps: it stops, the studio goes with no mount left, and
// the exit code is 128+N.
func TestPkgBuildSignal(t *testing.T) {
	bin := needStudioRoot(t)
	tests := []struct {
		name string
		sig  syscall.Signal
		args []string
	}{
		{"chroot SIGINT", syscall.SIGINT, nil},
		{"chroot SIGTERM", syscall.SIGTERM, nil},
		{"container SIGTERM", syscall.SIGTERM, []string{"-D"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.args) > 0 {
				if _, err := exec.LookPath("runc"); err != nil {
					t.Skip("runc is not installed: container studios cannot run")
				}
			}
			src := t.TempDir()
			if err := os.MkdirAll(filepath.Join(src, "sleeper"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(src, "sleeper", "plan.sh"), []byte(sleeperPlan), 0o644); err != nil {
				t.Fatal(err)
			}
			env := pkgBuildEnv(t, bin, src)
			// What the stopped build made in the source tree goes to the
			// user behind sudo all the same.
			const uid, gid = 4321, 4322
			env["SUDO_UID"], env["SUDO_GID"] = strconv.Itoa(uid), strconv.Itoa(gid)
			if err := os.Chown(src, uid, gid); err != nil {
				t.Fatal(err)
			}
			before, err := os.ReadFile("/proc/self/mountinfo")
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin, append(append([]string{"pkg", "build"}, tt.args...), "sleeper")...)
			cmd.Env = os.Environ()
			for k, v := range env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Wait until the build is in do_build.
			sc := bufio.NewScanner(stdout)
			started := false
			for sc.Scan() {
				if strings.Contains(sc.Text(), "sleeping now") {
					started = true
					break
				}
			}
			if !started {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("the build never reached do_build:\n%s", stderr.String())
			}
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != 128+int(tt.sig) {
				t.Errorf("exit %d (%v), want %d\n%s", code, err, 128+int(tt.sig), stderr.String())
			}
			if !strings.Contains(stderr.String(), "stopped") {
				t.Errorf("stderr does not say the build stopped:\n%s", stderr.String())
			}
			if _, err := os.Stat(filepath.Join(env["FS_ROOT"], "hab", "studios", rootfs.DirName(src))); !os.IsNotExist(err) {
				t.Errorf("studio left after the signal: %v", err)
			}
			if m := mountsUnder(t, env["FS_ROOT"]); len(m) > 0 {
				t.Errorf("mounts left under %s: %v", env["FS_ROOT"], m)
			}
			made := 0
			_ = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				fi, err := d.Info()
				if err != nil {
					return err
				}
				made++
				if st := fi.Sys().(*syscall.Stat_t); st.Uid != uid || st.Gid != gid {
					t.Errorf("%s belongs to %d:%d after the signal, want the sudo user's %d:%d", p, st.Uid, st.Gid, uid, gid)
				}
				return nil
			})
			if made < 4 { // src, sleeper, plan.sh, and the build's results
				t.Errorf("the build made nothing in %s before it was stopped", src)
			}
			// No mount of the studio, the source or the caches is left in
			// this namespace, and no process of the build runs on.
			after, err := os.ReadFile("/proc/self/mountinfo")
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(string(after), "\n") {
				if (strings.Contains(line, env["FS_ROOT"]) || strings.Contains(line, src)) && !strings.Contains(string(before), line) {
					t.Errorf("mount left: %s", line)
				}
			}
			studioRoot := filepath.Join(env["FS_ROOT"], "hab", "studios", rootfs.DirName(src))
			procs, _ := filepath.Glob("/proc/[0-9]*/root")
			for _, p := range procs {
				if root, err := os.Readlink(p); err == nil && strings.HasPrefix(root, studioRoot) {
					t.Errorf("process %s still runs in the studio (root %s)", filepath.Dir(p), root)
				}
			}
		})
	}
}

const keyedPlan = `pkg_name=keyed
pkg_origin=habtest
pkg_version=1.0.0
do_build() { return 0; }
do_install() { return 0; }
`

// TestPkgBuildKeys: the build signs with the origin keys imported into
// the studio from -k (from --cache-key-path when given), HAB_ORIGIN_KEYS
// or HAB_ORIGIN; with none, it cannot sign and fails. The host's
// HAB_OUTPUT_PATH does not move the results out of SRC/results.
func TestPkgBuildKeys(t *testing.T) {
	bin := needStudioRoot(t)
	src := t.TempDir()
	writeKeyed := filepath.Join(src, "keyed", "plan.sh")
	if err := os.MkdirAll(filepath.Dir(writeKeyed), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(writeKeyed, []byte(keyedPlan), 0o644); err != nil {
		t.Fatal(err)
	}
	env := pkgBuildEnv(t, bin, src)
	env["HAB_ORIGIN"] = ""
	env["HAB_OUTPUT_PATH"] = filepath.Join(t.TempDir(), "elsewhere")
	other := t.TempDir()
	if _, _, err := (crypto.Cache{Dir: other}).NewSigningPair("habtest", time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		key  string // the signing key's revision; "" for a failed build
	}{
		{"no keys", nil, nil, ""},
		{"-k", nil, []string{"-k", "habtest"}, "habtest-20260101000000"},
		{"--cache-key-path", nil, []string{"--cache-key-path", other, "-k", "habtest"}, "habtest-20260201000000"},
		{"HAB_ORIGIN_KEYS", map[string]string{"HAB_ORIGIN_KEYS": "habtest"}, nil, "habtest-20260101000000"},
		{"HAB_ORIGIN", map[string]string{"HAB_ORIGIN": "habtest"}, nil, "habtest-20260101000000"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := map[string]string{}
			for k, v := range env {
				e[k] = v
			}
			for k, v := range tt.env {
				e[k] = v
			}
			args := append(append([]string{"pkg", "build", "--release", "2026030100000" + strconv.Itoa(i)}, tt.args...), "keyed")
			code, _, stderr := studioCLI(t, "", e, args...)
			if tt.key == "" {
				if code == 0 || !strings.Contains(stderr, "No secret keys imported!") || !strings.Contains(stderr, "Signing origin key 'habtest' not found in /hab/cache/keys") {
					t.Errorf("build without keys: exit %d\n%s", code, stderr)
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			artifact := filepath.Join(src, "results", "habtest-keyed-1.0.0-2026030100000"+strconv.Itoa(i)+"-x86_64-linux.hart")
			h, err := hart.Verify(context.Background(), artifact, crypto.Cache{Dir: other})
			if tt.key == "habtest-20260101000000" {
				h, err = hart.Verify(context.Background(), artifact, crypto.Cache{Dir: e["HAB_CACHE_KEY_PATH"]})
			}
			if err != nil || h.KeyName != tt.key {
				t.Errorf("%s: signed with %q, want %q (%v)", artifact, h.KeyName, tt.key, err)
			}
		})
	}
	if _, err := os.Stat(env["HAB_OUTPUT_PATH"]); !os.IsNotExist(err) {
		t.Errorf("the host's HAB_OUTPUT_PATH %s was written", env["HAB_OUTPUT_PATH"])
	}
}

// TestPkgBuildAsUser runs a real hab pkg build as an unprivileged user
// (uid 65534): its chroot studio runs in a user namespace under
// ~/.hab/studios, the results belong to the user and no studio is left.
func TestPkgBuildAsUser(t *testing.T) {
	bin := needStudioRoot(t)
	const uid, gid = 65534, 65534
	base, err := os.MkdirTemp("", "hab-pkgbuild-user-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	src := filepath.Join(base, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", filepath.Join("..", "..", "fixtures", "greetdata"), src).CombinedOutput(); err != nil {
		t.Fatalf("copy fixture: %v %s", err, out)
	}
	keys := filepath.Join(base, "keys")
	if _, _, err := (crypto.Cache{Dir: keys}).NewSigningPair("habtest", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	userBin := filepath.Join(base, "hab")
	if out, err := exec.Command("cp", bin, userBin).CombinedOutput(); err != nil {
		t.Fatalf("copy hab: %v %s", err, out)
	}
	if out, err := exec.Command("chown", "-R", strconv.Itoa(uid)+":"+strconv.Itoa(gid), base).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	cmd := exec.Command(userBin, "pkg", "build", "greetdata")
	cmd.Dir = src
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + filepath.Join(base, "home"), "HAB_CACHE_KEY_PATH=" + keys, "HAB_ORIGIN=habtest", "FS_ROOT=" + filepath.Join(base, "root")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "needs unprivileged user namespaces") {
			t.Skipf("this kernel refuses unprivileged user namespaces:\n%s", out)
		}
		t.Fatalf("hab pkg build as uid %d: %v\n%s", uid, err, out)
	}
	lb, err := pkgbuild.ReadLastBuild(filepath.Join(src, "results", "last_build.env"))
	if err != nil {
		t.Fatal(err)
	}
	artifact := filepath.Join(src, "results", lb["pkg_artifact"])
	if _, err := hart.Verify(context.Background(), artifact, crypto.Cache{Dir: keys}); err != nil {
		t.Errorf("verify %s: %v", artifact, err)
	}
	for _, p := range []string{filepath.Join(src, "results"), artifact, filepath.Join(base, "home", ".hab", "cache", "artifacts", lb["pkg_artifact"])} {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Errorf("%v\n%s", err, out)
			continue
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != uid {
			t.Errorf("%s belongs to uid %d, want %d", p, st.Uid, uid)
		}
	}
	if left, _ := os.ReadDir(filepath.Join(base, "home", ".hab", "studios")); len(left) > 0 {
		t.Errorf("studios left: %v", left)
	}
	if m := mountsUnder(t, base); len(m) > 0 {
		t.Errorf("mounts left: %v", m)
	}
}
