package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/habgo/hab/internal/conformance"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/core/ident"
)

// storeEnv is a throw-away FS_ROOT, HOME and key cache for in-process runs
// of the store commands.
type storeEnv struct {
	t    *testing.T
	env  map[string]string
	root string
	keys string
	sec  *crypto.SigningSecretKey
}

func newStoreEnv(t *testing.T) *storeEnv {
	t.Helper()
	dir := t.TempDir()
	e := &storeEnv{t: t, root: filepath.Join(dir, "root"), keys: filepath.Join(dir, "keys"), env: map[string]string{}}
	e.env["FS_ROOT"] = e.root
	e.env["HOME"] = filepath.Join(dir, "home")
	e.env["HAB_CACHE_KEY_PATH"] = e.keys
	pub, sec, err := crypto.GenerateSigningPair("acme", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (crypto.Cache{Dir: e.keys}).Write(pub.KeyFile()); err != nil {
		t.Fatal(err)
	}
	e.sec = sec
	return e
}

func (e *storeEnv) run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb, func(k string) string { return e.env[k] })
	return code, out.String(), errb.String()
}

func (e *storeEnv) mustRun(args ...string) string {
	e.t.Helper()
	code, out, errOut := e.run(args...)
	if code != 0 {
		e.t.Fatalf("hab %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func (e *storeEnv) mustFail(code int, want string, args ...string) string {
	e.t.Helper()
	got, out, errOut := e.run(args...)
	if got != code || !strings.Contains(errOut, want) {
		e.t.Fatalf("hab %s: exit %d (want %d)\nstdout:\n%s\nstderr:\n%s\nwant stderr containing %q", strings.Join(args, " "), got, code, out, errOut, want)
	}
	return errOut
}

// pkgDir is where a package lives under the env's FS_ROOT.
func (e *storeEnv) pkgDir(id string) string {
	return filepath.Join(append([]string{e.root, "hab", "pkgs"}, strings.Split(id, "/")...)...)
}

// writeTree writes files (relative to the package directory) of package id
// under root/hab/pkgs, with IDENT and TARGET.
func storeWriteTree(t *testing.T, root, id string, files map[string]string) {
	t.Helper()
	dir := filepath.Join(append([]string{root, "hab", "pkgs"}, strings.Split(id, "/")...)...)
	all := map[string]string{"IDENT": id + "\n", "TARGET": "x86_64-linux\n"}
	for k, v := range files {
		all[k] = v
	}
	for name, content := range all {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(name, "bin/") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// hart builds a hart of package id with files into dir and returns its path.
func (e *storeEnv) hart(dir, id string, files map[string]string) string {
	e.t.Helper()
	tree := e.t.TempDir()
	storeWriteTree(e.t, tree, id, files)
	fq := ident.MustParse(id)
	name, _ := fq.ArchiveName(ident.X86_64Linux)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	if err := hart.Write(context.Background(), f, tree, fq, e.sec, hart.WriteOptions{Level: 1, TempDir: e.t.TempDir()}); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func storeConformance(t *testing.T, elem ...string) string {
	t.Helper()
	return conformance.Path(t, elem...)
}

func TestStoreConformanceLifecycle(t *testing.T) {
	happy := filepath.Join(storeConformance(t, "habitat", "artifacts"), "happyhumans-possums-8.1.4-20160427165340-x86_64-linux.hart")
	builder := storeConformance(t, "builder")
	native := filepath.Join(builder, "neurosis-native-testapp-0.1.0-20220824122359-x86_64-linux.hart")
	e := newStoreEnv(t)

	out := e.mustRun("pkg", "install", happy, native)
	for _, want := range []string{
		"» Installing " + happy + "\n",
		"☑ Cached happyhumans-20160424223347 public origin key\n",
		"✓ Installed happyhumans/possums/8.1.4/20160427165340\n",
		"★ Install of happyhumans/possums/8.1.4/20160427165340 complete with 1 new packages installed.\n",
		"✓ Installed neurosis/native-testapp/0.1.0/20220824122359\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("install output lacks %q:\n%s", want, out)
		}
	}
	if got := e.mustRun("pkg", "install", happy); !strings.Contains(got, "already installed") || strings.Contains(got, "✓ Installed") {
		t.Errorf("second install:\n%s", got)
	}

	if got := e.mustRun("pkg", "list", "--all"); got != "happyhumans/possums/8.1.4/20160427165340\nneurosis/native-testapp/0.1.0/20220824122359\n" {
		t.Errorf("list --all:\n%s", got)
	}
	if got := e.mustRun("pkg", "list", "-o", "neurosis"); got != "neurosis/native-testapp/0.1.0/20220824122359\n" {
		t.Errorf("list --origin:\n%s", got)
	}
	if got := e.mustRun("pkg", "list", "happyhumans/possums/8.1.4"); got != "happyhumans/possums/8.1.4/20160427165340\n" {
		t.Errorf("list IDENT:\n%s", got)
	}
	if got := e.mustRun("pkg", "path", "happyhumans/possums"); got != e.pkgDir("happyhumans/possums/8.1.4/20160427165340")+"\n" {
		t.Errorf("path: %q", got)
	}
	if got := e.mustRun("pkg", "provides", "signme.dat"); got != "happyhumans/possums\n" {
		t.Errorf("provides: %q", got)
	}

	// info, text and JSON.
	if got := e.mustRun("pkg", "info", happy); got != "» Reading PackageIdent from "+happy+"\n\nPackage Path   : "+happy+"\nOrigin         : happyhumans\nName           : possums\nVersion        : 8.1.4\nRelease        : 20160427165340\n" {
		t.Errorf("info:\n%s", got)
	}
	var info map[string]any
	if err := json.Unmarshal([]byte(e.mustRun("pkg", "info", "--json", happy)), &info); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"format_version": "HART-1", "key_name": "happyhumans-20160424223347", "hash_type": "BLAKE2b",
		"ident": "happyhumans/possums/8.1.4/20160427165340", "origin": "happyhumans", "name": "possums",
		"version": "8.1.4", "release": "20160427165340", "target": "x86_64-linux", "is_a_service": false,
		// checksum is the BLAKE2b-256 of the whole file (b2sum -l 256), as the original computes it.
		"checksum": "74d368d3642721b5045929845f6a1146fad50c7ecab7ab547603965e45a29a82", "size": float64(1156),
		"config": nil, "svc_user": nil,
	} {
		if got, ok := info[k]; !ok || got != want {
			t.Errorf("info --json %s = %#v, want %#v", k, got, want)
		}
	}
	for _, k := range []string{"signature_raw", "deps", "tdeps", "build_deps", "build_tdeps", "exposes", "manifest", "svc_group", "ld_run_path", "ldflags", "cflags", "exports", "binds", "binds_optional"} {
		if _, ok := info[k]; !ok {
			t.Errorf("info --json lacks %s", k)
		}
	}

	// Uninstall both; the store is empty again.
	out = e.mustRun("pkg", "uninstall", "happyhumans/possums")
	if !strings.Contains(out, "☒ Deleting happyhumans/possums/8.1.4/20160427165340\n") || !strings.Contains(out, "★ Uninstall of happyhumans/possums/8.1.4/20160427165340 and 0 dependencies complete\n") {
		t.Errorf("uninstall:\n%s", out)
	}
	e.mustRun("pkg", "uninstall", "neurosis/native-testapp")
	if got := e.mustRun("pkg", "list", "--all"); got != "" {
		t.Errorf("list after uninstall: %q", got)
	}
	e.mustFail(1, "cannot find a release of package happyhumans/possums", "pkg", "path", "happyhumans/possums")

	// Harts signed by absent keys are refused, naming the key.
	e.mustFail(1, "neurosis-20171205003147", "pkg", "install", filepath.Join(builder, "neurosis-testapp-0.1.3-20171205003213-x86_64-linux.hart"))
	e.mustFail(1, "xmen-20171206005153", "pkg", "install", filepath.Join(builder, "xmen-testapp-0.1.4-20171206005217-x86_64-linux.hart"))
	if got := e.mustRun("pkg", "list", "--all"); got != "" {
		t.Errorf("list after refused installs: %q", got)
	}
}

func TestStoreInstallFromCacheAndErrors(t *testing.T) {
	e := newStoreEnv(t)
	cache := filepath.Join(e.root, "hab", "cache", "artifacts")
	e.hart(cache, "acme/lib/1.0/20200101000000", nil)
	e.hart(cache, "acme/tool/1.0/20200101000000", map[string]string{"bin/tool": "#!/bin/sh\necho tool 1\n", "PATH": "/hab/pkgs/acme/tool/1.0/20200101000000/bin\n", "TDEPS": "acme/lib/1.0/20200101000000\n", "DEPS": "acme/lib/1.0/20200101000000\n"})
	e.hart(cache, "acme/tool/1.1/20200101000000", map[string]string{"bin/tool": "#!/bin/sh\necho tool 1.1\n", "PATH": "/hab/pkgs/acme/tool/1.1/20200101000000/bin\n", "TDEPS": "acme/lib/1.0/20200101000000\n", "DEPS": "acme/lib/1.0/20200101000000\n"})

	out := e.mustRun("pkg", "install", "-b", "acme/tool")
	if !strings.Contains(out, "✓ Installed acme/tool/1.1/20200101000000") || !strings.Contains(out, "★ Binlinked tool from acme/tool/1.1/20200101000000 to "+filepath.Join(e.root, "bin", "tool")) {
		t.Errorf("install -b:\n%s", out)
	}
	if target, err := os.Readlink(filepath.Join(e.root, "bin", "tool")); err != nil || target != "/hab/pkgs/acme/tool/1.1/20200101000000/bin/tool" {
		t.Errorf("binlink = %q %v", target, err)
	}
	if got := e.mustRun("pkg", "list", "--all"); got != "acme/lib/1.0/20200101000000\nacme/tool/1.1/20200101000000\n" {
		t.Errorf("list:\n%s", got)
	}
	// --binlink-dir alone binlinks, as in the original.
	e.mustRun("pkg", "install", "--binlink-dir", "/opt/bin", "acme/tool/1.0")
	if _, err := os.Lstat(filepath.Join(e.root, "opt", "bin", "tool")); err != nil {
		t.Errorf("--binlink-dir: %v", err)
	}

	// Dependencies, direct and reverse.
	if got := e.mustRun("pkg", "dependencies", "acme/tool"); got != "acme/lib/1.0/20200101000000\n" {
		t.Errorf("dependencies: %q", got)
	}
	if got := e.mustRun("pkg", "dependencies", "-r", "acme/lib"); got != "acme/tool/1.0/20200101000000\nacme/tool/1.1/20200101000000\n" {
		t.Errorf("dependencies -r: %q", got)
	}
	// A needed package is not uninstalled.
	e.mustFail(1, "can't remove package acme/lib/1.0/20200101000000: it is a dependency of 2 packages", "pkg", "uninstall", "acme/lib")
	out = e.mustRun("pkg", "uninstall", "--keep-latest", "0", "--exclude", "acme/lib", "acme/tool")
	if !strings.Contains(out, "… Skipping acme/lib/1.0/20200101000000. It is on the exclusion list") {
		t.Errorf("uninstall --exclude:\n%s", out)
	}
	if got := e.mustRun("pkg", "list", "--all"); got != "acme/lib/1.0/20200101000000\n" {
		t.Errorf("list after uninstall:\n%s", got)
	}

	// Errors: each names the thing.
	e.mustFail(1, "no installed package and no hart in the artifact cache "+cache, "pkg", "install", "acme/absent")
	e.mustFail(1, "file not found at: /nonexistent/x.hart", "pkg", "install", "/nonexistent/x.hart")
	missing := e.hart(t.TempDir(), "acme/needy/1.0/20200101000000", map[string]string{"TDEPS": "acme/ghost/9.9/20200101000000\n"})
	e.mustFail(1, "acme/ghost/9.9/20200101000000", "pkg", "install", missing)
	e.mustFail(2, "invalid package identifier", "pkg", "path", "NOT VALID")
	e.mustFail(2, "requires at least 1 arg", "pkg", "install")
}

func TestStoreEnvExecBinlink(t *testing.T) {
	e := newStoreEnv(t)
	storeWriteTree(t, e.root, "core/dep/1.0/20200101000000", map[string]string{"PATH": "/hab/pkgs/core/dep/1.0/20200101000000/bin\n", "bin/dep": "x"})
	storeWriteTree(t, e.root, "acme/app/2.0/20200101000000", map[string]string{
		"PATH":                      "/hab/pkgs/acme/app/2.0/20200101000000/bin\n",
		"RUNTIME_PATH":              "/hab/pkgs/acme/app/2.0/20200101000000/bin:/hab/pkgs/core/dep/1.0/20200101000000/bin\n",
		"RUNTIME_ENVIRONMENT":       "PATH=/old\nAPP_HOME=/hab/pkgs/acme/app/2.0/20200101000000\nGREETING=hello world\n",
		"RUNTIME_ENVIRONMENT_PATHS": "APP_LIB=/hab/pkgs/acme/app/2.0/20200101000000/lib\n",
		"DEPS":                      "core/dep/1.0/20200101000000\n",
		"bin/app":                   "#!/bin/sh\necho app\n",
		"bin/helper":                "#!/bin/sh\n",
	})
	want := `export APP_HOME="/hab/pkgs/acme/app/2.0/20200101000000"
export APP_LIB="/hab/pkgs/acme/app/2.0/20200101000000/lib"
export GREETING="hello world"
export PATH="/hab/pkgs/acme/app/2.0/20200101000000/bin:/hab/pkgs/core/dep/1.0/20200101000000/bin"
`
	if got := e.mustRun("pkg", "env", "acme/app"); got != want {
		t.Errorf("env:\n%s\nwant:\n%s", got, want)
	}

	// exec: the package environment is set, PATH prepended (its /hab
	// entries re-rooted under FS_ROOT, where the package really is),
	// arguments (flags included) go to the command, and the exit status
	// passes through.
	code, out, errOut := e.run("pkg", "exec", "acme/app", "sh", "-c", `echo "$GREETING|$APP_LIB"; echo "$PATH"; exit 7`)
	if code != 7 {
		t.Fatalf("exec exit %d, want 7\n%s\n%s", code, out, errOut)
	}
	lines := strings.Split(out, "\n")
	if lines[0] != "hello world|/hab/pkgs/acme/app/2.0/20200101000000/lib" || !strings.HasPrefix(lines[1], e.root+"/hab/pkgs/acme/app/2.0/20200101000000/bin:"+e.root+"/hab/pkgs/core/dep/1.0/20200101000000/bin:") {
		t.Errorf("exec output:\n%s", out)
	}
	if got := e.mustRun("pkg", "exec", "acme/app", "true"); got != "" {
		t.Errorf("exec true: %q", got)
	}
	e.mustFail(1, "`no-such-command-here' was not found on the filesystem or in PATH", "pkg", "exec", "acme/app", "no-such-command-here")
	e.mustFail(1, "cannot find a release of package acme/nothing", "pkg", "env", "acme/nothing")

	// binlink one binary, then all, into a chosen directory.
	out = e.mustRun("pkg", "binlink", "acme/app", "app")
	if target, err := os.Readlink(filepath.Join(e.root, "bin", "app")); err != nil || target != "/hab/pkgs/acme/app/2.0/20200101000000/bin/app" {
		t.Errorf("binlink app: %q %v\n%s", target, err, out)
	}
	e.env["HAB_BINLINK_DIR"] = "/usr/local/bin"
	e.mustRun("pkg", "binlink", "acme/app")
	for _, b := range []string{"app", "helper"} {
		if _, err := os.Lstat(filepath.Join(e.root, "usr", "local", "bin", b)); err != nil {
			t.Errorf("binlink all into HAB_BINLINK_DIR: %v", err)
		}
	}
	storeWriteTree(t, e.root, "acme/rival/1.0/20200101000000", map[string]string{"PATH": "/hab/pkgs/acme/rival/1.0/20200101000000/bin\n", "bin/app": "x"})
	code, _, errOut = e.run("pkg", "binlink", "-d", "/bin", "acme/rival", "app")
	if code != 0 || !strings.Contains(errOut, "Skipping binlink because app already exists") {
		t.Errorf("binlink over another package's link: exit %d\n%s", code, errOut)
	}
	e.mustRun("pkg", "binlink", "-d", "/bin", "-f", "acme/rival", "app")
	if target, _ := os.Readlink(filepath.Join(e.root, "bin", "app")); target != "/hab/pkgs/acme/rival/1.0/20200101000000/bin/app" {
		t.Errorf("binlink --force: %q", target)
	}
	e.mustFail(1, "`nope' was not found under any 'PATH' directories in the acme/app/2.0/20200101000000 package", "pkg", "binlink", "acme/app", "nope")

	// dependencies -t, provides -r -p.
	if got := e.mustRun("pkg", "dependencies", "-t", "acme/app"); got != "core/dep/1.0/20200101000000\n" {
		t.Errorf("dependencies -t: %q", got)
	}
	if got := e.mustRun("pkg", "provides", "-r", "-p", "helper"); got != "acme/app/2.0/20200101000000: "+filepath.Join(e.pkgDir("acme/app/2.0/20200101000000"), "bin", "helper")+"\n" {
		t.Errorf("provides -r -p: %q", got)
	}
	e.mustFail(1, "can't find nothing-provides-this", "pkg", "provides", "nothing-provides-this")
}

func TestStoreUsage(t *testing.T) {
	e := newStoreEnv(t)
	e.mustFail(2, "exactly one of --all, --origin ORIGIN or PKG_IDENT", "pkg", "list")
	e.mustFail(2, "exactly one of --all, --origin ORIGIN or PKG_IDENT", "pkg", "list", "--all", "core/redis")
	e.mustFail(2, "accepts 1 arg", "pkg", "path")
	e.mustFail(2, "requires at least 2 arg", "pkg", "exec", "core/redis")
	e.mustFail(2, "unknown flag", "pkg", "uninstall", "--bogus", "core/redis")
	e.mustFail(2, "file not found at: /no/such.hart", "pkg", "info", "/no/such.hart")
	for _, cmd := range []string{"install", "path", "list", "env", "exec", "binlink", "uninstall", "dependencies", "provides", "info"} {
		if out := e.mustRun("pkg", cmd, "--help"); !strings.Contains(out, "Usage:") {
			t.Errorf("pkg %s --help:\n%s", cmd, out)
		}
	}
}

// TestStoreExecReplacesProcess runs hab (this test binary, as hab) with its
// own standard streams, where `hab pkg exec` becomes the command (execve):
// the command's exit status and output are the process's.
func TestStoreExecReplacesProcess(t *testing.T) {
	if args := os.Getenv("HAB_STORE_TEST_ARGS"); args != "" {
		os.Exit(run(context.Background(), strings.Split(args, "\x1f"), os.Stdin, os.Stdout, os.Stderr, os.Getenv))
	}
	if testing.Short() {
		t.Skip("runs a child process")
	}
	e := newStoreEnv(t)
	storeWriteTree(t, e.root, "acme/app/1.0/20200101000000", map[string]string{"RUNTIME_ENVIRONMENT": "GREETING=from the package\n"})
	cmd := exec.Command(os.Args[0], "-test.run=^TestStoreExecReplacesProcess$")
	cmd.Env = append(os.Environ(), "FS_ROOT="+e.root, "HAB_CACHE_KEY_PATH="+e.keys,
		"HAB_STORE_TEST_ARGS="+strings.Join([]string{"pkg", "exec", "acme/app", "sh", "-c", `echo "$GREETING pid $$"; exit 42`}, "\x1f"))
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 42 {
		t.Fatalf("exit %v, want 42\n%s", err, out.String())
	}
	// The shell ran with hab's pid: hab became the command.
	want := fmt.Sprintf("from the package pid %d\n", cmd.Process.Pid)
	if out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}

// TestStoreEnvEvalIsSafe: `eval "$(hab pkg env PKG)"` in a real shell sets
// the package's values exactly and runs nothing they hold; a variable name
// that is not one fails the command, naming the package and the file.
func TestStoreEnvEvalIsSafe(t *testing.T) {
	e := newStoreEnv(t)
	pwned := filepath.Join(t.TempDir(), "pwned")
	values := map[string]string{
		"SUBST":    "$(touch " + pwned + ")",
		"BACKTICK": "`touch " + pwned + "`",
		"QUOTES":   `"'; touch ` + pwned + `; echo "'`,
		"BACKSL":   `a\b\"c\$(d)`,
	}
	var lines []string
	for k, v := range values {
		lines = append(lines, k+"="+v)
	}
	storeWriteTree(t, e.root, "acme/evil/1.0/20200101000000", map[string]string{"RUNTIME_ENVIRONMENT": strings.Join(lines, "\n") + "\n", "RUNTIME_PATH": "\n"})
	out := e.mustRun("pkg", "env", "acme/evil")
	script := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(script, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, sh := range []string{"sh", "bash"} {
		for k, v := range values {
			got, err := exec.Command(sh, "-c", `eval "$(cat "$1")"; printf %s "$`+k+`"`, sh, script).Output()
			if err != nil || string(got) != v {
				t.Errorf("%s: %s = %q (%v), want %q", sh, k, got, err, v)
			}
		}
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Fatal("evaluating hab pkg env ran a command")
	}
	storeWriteTree(t, e.root, "acme/badname/1.0/20200101000000", map[string]string{"RUNTIME_ENVIRONMENT": "X;touch " + pwned + "=1\n"})
	e.mustFail(1, "acme/badname/1.0/20200101000000: RUNTIME_ENVIRONMENT", "pkg", "env", "acme/badname")
	e.mustFail(1, "not a valid environment variable name", "pkg", "exec", "acme/badname", "true")
}

// TestStoreBinlinkStaysInside: binlink refuses binaries named by a path,
// and --dest with ".." lands inside FS_ROOT.
func TestStoreBinlinkStaysInside(t *testing.T) {
	e := newStoreEnv(t)
	storeWriteTree(t, e.root, "acme/app/1.0/20200101000000", map[string]string{
		"PATH":    "/hab/pkgs/acme/app/1.0/20200101000000/bin:/hab/pkgs/acme/app/1.0/20200101000000/../../../../../../etc\n",
		"bin/app": "#!/bin/sh\n",
	})
	for _, bad := range []string{"../../etc/passwd", "/etc/passwd", "../../../../../../../etc/passwd", ".."} {
		e.mustFail(1, "command not found in package", "pkg", "binlink", "acme/app", bad)
	}
	outside := t.TempDir()
	e.mustRun("pkg", "binlink", "--dest", "/../../../.."+outside, "acme/app")
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("binlink wrote outside FS_ROOT: %v", entries)
	}
	if _, err := os.Lstat(filepath.Join(e.root, outside, "app")); err != nil {
		t.Errorf("the link is not inside FS_ROOT: %v", err)
	}
	// The ".." PATH entry (which names /etc) is not listed.
	if _, err := os.Lstat(filepath.Join(e.root, outside, "passwd")); err == nil {
		t.Error("a file of /etc was binlinked")
	}
}

// TestStoreInstallForgedHartOfInstalledIdent: `hab pkg install` of a hart
// whose payload was swapped behind a genuine header fails even though the
// package it claims is installed, and says no "Using".
func TestStoreInstallForgedHartOfInstalledIdent(t *testing.T) {
	e := newStoreEnv(t)
	const id = "acme/app/1.0/20200101000000"
	genuine := e.hart(t.TempDir(), id, map[string]string{"bin/app": "#!/bin/sh\n"})
	other := e.hart(t.TempDir(), id, map[string]string{"bin/app": "#!/bin/sh\nrm -rf /\n"})
	e.mustRun("pkg", "install", genuine)
	g, _ := os.ReadFile(genuine)
	o, _ := os.ReadFile(other)
	header := func(b []byte) int { // the length of the five header lines
		n := 0
		for range 5 {
			n += bytes.IndexByte(b[n:], '\n') + 1
		}
		return n
	}
	forged := filepath.Join(t.TempDir(), filepath.Base(genuine))
	if err := os.WriteFile(forged, append(g[:header(g):header(g)], o[header(o):]...), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := e.run("pkg", "install", forged)
	if code != 1 || strings.Contains(out, "Using") || !strings.Contains(errOut, "signature") {
		t.Fatalf("forged hart: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if data, _ := os.ReadFile(filepath.Join(e.pkgDir(id), "bin", "app")); strings.Contains(string(data), "rm -rf") {
		t.Error("the forged payload reached the store")
	}
}
