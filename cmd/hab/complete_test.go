package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/internal/habbin"
)

// bashCompletion is bash-completion's main script, which cobra's bash
// completion builds on (as it does on every Debian machine with bash).
const bashCompletion = "/usr/share/bash-completion/bash_completion"

// press types s as it is (answer adds Enter).
func (p *setupPTY) press(s string) {
	p.t.Helper()
	if _, err := p.ptmx.Write([]byte(s)); err != nil {
		p.t.Fatal(err)
	}
}

// startCompletionBash starts an interactive bash on a pseudo-terminal
// with the completion script of bin (hab cli completers -s bash) loaded,
// bin's directory first on the PATH, and env; it waits for the prompt.
func startCompletionBash(t *testing.T, bin string, env ...string) *setupPTY {
	t.Helper()
	if _, err := os.Stat(bashCompletion); err != nil {
		t.Skipf("bash-completion is not installed (%v); .ci/run installs it", err)
	}
	bashPath, err := exec.LookPath("bash")
	if err != nil {
		t.Skipf("no bash: %v", err)
	}
	dir := t.TempDir()
	script, err := exec.Command(bin, "cli", "completers", "-s", "bash").Output()
	if err != nil {
		t.Fatalf("hab cli completers -s bash: %v", err)
	}
	rc := filepath.Join(dir, "rc")
	rcText := "source " + bashCompletion + "\nsource " + filepath.Join(dir, "hab.bash") + "\nbind 'set show-all-if-ambiguous off'\nPS1='READY> '\n"
	for name, data := range map[string][]byte{"hab.bash": script, "rc": []byte(rcText)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bashPath, "--noprofile", "--rcfile", rc, "-i")
	cmd.Env = append([]string{"PATH=" + filepath.Dir(bin) + ":/usr/bin:/bin", "TERM=dumb", "LANG=C.UTF-8"}, env...)
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 200})
	if err != nil {
		t.Skipf("no pseudo-terminal available: %v", err)
	}
	// The bell readline rings while it completes (several candidates
	// share a prefix) is no text.
	p := &setupPTY{t: t, ptmx: ptmx}
	p.read([]byte{'\a'})
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		ptmx.Close()
	})
	p.expect("READY> ")
	return p
}

// TestBashCompletionDrivesRealShell: the script of hab cli completers -s
// bash, loaded into an interactive bash on a pseudo-terminal, completes
// what a user presses Tab for: an installed package's identifier (and
// the completed command runs), an origin with a key in the key cache, a
// channel.
func TestBashCompletionDrivesRealShell(t *testing.T) {
	if _, err := os.Stat(bashCompletion); err != nil {
		t.Skipf("bash-completion is not installed (%v); .ci/run installs it", err)
	}
	dir := t.TempDir()
	bin, err := habbin.Build(filepath.Join(dir))
	if err != nil {
		t.Fatal(err)
	}
	root, keys, home := filepath.Join(dir, "root"), filepath.Join(dir, "keys"), filepath.Join(dir, "home")
	storeWriteTree(t, root, "acme/widget/1.2.3/20200101000000", nil)
	storeWriteTree(t, root, "core/other/1.0.0/20200101000000", nil)
	if _, _, err := (crypto.Cache{Dir: keys}).NewSigningPair("zorigin", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	p := startCompletionBash(t, bin, "HOME="+home, "FS_ROOT="+root, "HAB_CACHE_KEY_PATH="+keys)

	// An installed ident: "acme/w" completes to acme/widget, and the
	// completed command finds the package.
	p.press("hab pkg path acme/w\t")
	p.expect("acme/widget")
	p.press("\r")
	p.expect(filepath.Join(root, "hab", "pkgs", "acme", "widget", "1.2.3", "20200101000000"))
	p.expect("READY> ")

	// An origin with keys in the cache.
	p.press("hab origin key export zo\t")
	p.expect("zorigin")
	p.press("\x15") // Ctrl-U: clear the line
	p.press("echo cleared\r")
	p.expect("READY> ")

	// A channel.
	p.press("hab pkg build --refresh-channel unst\t")
	p.expect("unstable")
	p.press("\x15")
	p.press("exit\r")
}

// TestCompletions: what hab's completion answers (cobra's __complete, which
// every shell's script calls), and the scripts of hab cli completers.
func TestCompletions(t *testing.T) {
	e := newStoreEnv(t)
	storeWriteTree(t, e.root, "acme/widget/1.2.3/20200101000000", nil)
	storeWriteTree(t, e.root, "acme/widget/1.2.4/20210101000000", nil)
	storeWriteTree(t, e.root, "core/other/1.0.0/20200101000000", nil)
	if _, _, err := (crypto.Cache{Dir: e.keys}).NewSigningPair("zorigin", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"pkg", "path", "acme/"}, "acme/widget\nacme/widget/1.2.3/20200101000000\nacme/widget/1.2.4/20210101000000\n:4\n"},
		{[]string{"pkg", "binds", "core"}, "core/other\ncore/other/1.0.0/20200101000000\n:4\n"},
		{[]string{"pkg", "path", "acme/widget", ""}, ":4\n"},                                        // one argument only
		{[]string{"pkg", "install", "core/o"}, "core/other\ncore/other/1.0.0/20200101000000\n:0\n"}, // files too
		{[]string{"origin", "key", "export", ""}, "acme\nzorigin\n:4\n"},
		{[]string{"pkg", "sign", "--origin", "z"}, "zorigin\n:4\n"},
		{[]string{"pkg", "build", "--refresh-channel", ""}, "stable\nunstable\nbase\n:4\n"},
		{[]string{"cli", "completers", "--shell", ""}, "bash\nzsh\nfish\npowershell\nelvish\n:4\n"},
	}
	for _, tt := range tests {
		out := e.mustRun(append([]string{"__completeNoDesc"}, tt.args...)...)
		if out != tt.want {
			t.Errorf("complete %q:\n%s\nwant\n%s", tt.args, out, tt.want)
		}
	}
	// Export formats are hab pkg export's subcommands.
	if out := e.mustRun("__completeNoDesc", "pkg", "export", ""); !strings.Contains(out, "container\n") || !strings.Contains(out, "tar\n") {
		t.Errorf("export formats: %q", out)
	}
	for shell, says := range map[string]string{"bash": "# bash completion V2 for hab", "zsh": "#compdef hab", "fish": "complete -c hab", "powershell": "Register-ArgumentCompleter"} {
		if out := e.mustRun("cli", "completers", "-s", shell); !strings.Contains(out, says) {
			t.Errorf("completers -s %s: no %q in\n%.300s", shell, says, out)
		}
	}
	e.mustFail(exitError, "no completion script for elvish", "cli", "completers", "-s", "elvish")
	e.mustFail(exitUsage, `invalid value "tcsh" for --shell`, "cli", "completers", "-s", "tcsh")
	e.mustFail(exitUsage, "--shell <SHELL> was not given", "cli", "completers")
}

// TestBashCompletesServiceGroups: with a supervisor running a loaded
// service, Tab in a real bash completes its service group where a
// command takes one (hab config apply) and after the colon of --bind;
// cobra's answer, which zsh's and fish's scripts ask too, lists the
// groups, and nothing when no supervisor answers.
func TestBashCompletesServiceGroups(t *testing.T) {
	e := newSupEnv(t)
	e.buildService("tuned", nil)
	s := e.startSup()
	s.mustHab("", "svc", "load", "habtest/tuned", "--group", "web")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"config", "apply", ""}, "tuned.web\n:4\n"},
		{[]string{"config", "apply", "tu"}, "tuned.web\n:4\n"},
		{[]string{"config", "apply", "x"}, ":4\n"},
		{[]string{"config", "apply", "tuned.web", ""}, ":4\n"}, // VERSION: nothing to offer
		{[]string{"file", "upload", "t"}, "tuned.web\n:4\n"},
		{[]string{"svc", "load", "habtest/other", "--bind", "backend:"}, "backend:tuned.web\n:4\n"},
		{[]string{"config", "apply", "-r", fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(t)), ""}, ":4\n"}, // no supervisor there
	} {
		if _, out, _ := s.hab("", append([]string{"__completeNoDesc"}, tt.args...)...); out != tt.want {
			t.Errorf("complete %q: %q, want %q", tt.args, out, tt.want)
		}
	}

	p := startCompletionBash(t, e.bin, "HOME="+e.env["HOME"], "FS_ROOT="+e.root, "HAB_CACHE_KEY_PATH="+e.keys, "HAB_LISTEN_CTL="+s.ctl)
	p.press("hab config apply tu\t")
	p.expect("tuned.web")
	p.press("\x15")
	p.press("echo cleared\r")
	p.expect("READY> ")
	p.press("hab svc load habtest/tuned --bind backend:tu\t")
	p.expect("backend:tuned.web")
	p.press("\x15")
	p.press("exit\r")
}
